"""Image API v2 cache management (/v2/cache, v2.14-v2.18) and the cached
download path.

The cache itself is ``artifacts.cache.ImageCache`` (``engine.cache``, None
without ``[DEFAULT] image_cache_dir``).  These views follow Glance's
``cached_images`` controller: the order of its checks (image lookup, then
the cache policy rule, then "Caching via API is not supported at this
site." without a cache directory), its status codes and bodies.

Downloads (``data_reader``): policy, visibility and status were checked by
``engine.data.open``; an active image's data is then read from the local
copy when there is one (Range requests too), and a whole download of an
uncached image fills the cache while it streams.  Deactivated images are
never served from the cache (as in Glance: only admins may download them,
and from the store).

Where Glance harms users, Glare differs (see docs/compatibility.md):

* ``DELETE /v2/cache/{id}`` of an image the caller cannot see is 404 unless
  the caller may manage the cache; Glance's 403 for a cached one tells a
  tenant that another's private image is cached.
* Deactivated images stay listed (as in Glance) but are never read from
  the cache; deleted ones leave it.

``GET /v2/cache/nodes/{id}`` is Glance's: the rule, the site check, then
409 "Centralized caching is not enabled" unless ``image_cache_driver`` is
``centralized_db``, then 404 for an image the caller cannot see, then the
JSON list of the URLs of the nodes that cache it (``artifacts.cache_nodes``;
a node without ``worker_self_reference_url`` is never listed).  The rest of
the API, like Glance's, is the answering node's cache.
"""

import flask

from artifacts import errors
from glance_compat.common import (context, json_body, json_response,
                                  no_content, reject_body, services,
                                  status_line)
from glance_compat.serialize import dumps

bp = flask.Blueprint("glance_cache", __name__)

CLEAR_TARGETS = ("", "cache", "queue")


def data_reader(download, offset, length, ranged):
    """The reader a download sends: the cached copy, a store reader that
    fills the cache, or the store reader alone."""
    cache = getattr(services().engine, "cache", None)
    image, blob = download.artifact, download.blob
    if cache is None or image["status"] != "active":
        return download.read(offset=offset, length=length)
    hit = cache.open(image["id"], blob, offset, length)
    if hit is not None:
        return hit
    if ranged:
        return download.read(offset=offset, length=length)
    return cache.tee(image["id"], blob, download.read(offset=0,
                                                      length=length))


def _cache(rule, image=None):
    """Glance's ``_enforce``: the rule, then the site check."""
    svc = services()
    target = {}
    if image is not None:
        owner = image["owner"]
        target = {"project_id": owner, "owner": owner,
                  "visibility": image["visibility"], "member_id": None}
    svc.engine.enforcer.enforce(context(), rule, target)
    cache = getattr(svc.engine, "cache", None)
    if cache is None:
        raise errors.NotFound("Caching via API is not supported at this "
                              "site.")
    return cache


def _image(image_id):
    svc = services()
    try:
        return svc.engine.get(context(), svc.images, image_id)
    except errors.NotFound:
        raise errors.NotFound("Image %s not found." % image_id)


def _empty(code):
    resp = flask.Response(b"", status=status_line(code))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    return resp


@bp.route("/v2/cache", methods=["GET"])
def cache_state():
    reject_body()
    cache = _cache("cache_list")
    return json_response(dumps({"cached_images": cache.cached_images(),
                                "queued_images": cache.queued_images()}))


@bp.route("/v2/cache", methods=["DELETE"])
def clear_cache():
    cache = _cache("cache_delete")
    target = flask.request.headers.get("x-image-cache-clear-target",
                                       "").lower()
    if target not in CLEAR_TARGETS:
        raise errors.Invalid("If provided 'x-image-cache-clear-target' must "
                             "be 'cache', 'queue' or empty string.")
    if target in ("", "cache"):
        cache.delete_all()
    if target in ("", "queue"):
        cache.dequeue_all()
    return no_content()


@bp.route("/v2/cache/<image_id>", methods=["PUT"])
def queue_image(image_id):
    _not_an_action(image_id)
    if flask.request.content_length:
        json_body()     # Glance parses a body it then ignores
    image = _image(image_id)
    cache = _cache("cache_image", image)
    if image["status"] != "active":
        raise errors.Invalid("Only images with status active can be "
                             "targeted for queueing")
    cache.queue(image_id)
    prefetcher = getattr(services().engine, "cache_prefetcher", None)
    if prefetcher is not None:
        prefetcher.wake()
    return _empty(202)


@bp.route("/v2/cache/<image_id>", methods=["DELETE"])
def delete_cache_entry(image_id):
    _not_an_action(image_id)
    try:
        image = _image(image_id)
    except errors.NotFound:
        # Only someone who may manage the cache learns that an image it
        # cannot see is cached or queued.
        cache = getattr(services().engine, "cache", None)
        if cache is None or not services().engine.enforcer.check(
                context(), "cache_delete", {}) or not (
                cache.is_cached(image_id) or
                image_id in cache.queued_images()):
            raise
        image = None
    cache = _cache("cache_delete", image)
    cache.delete(image_id)
    cache.dequeue(image_id)
    return no_content()


@bp.route("/v2/cache/nodes/<image_id>", methods=["GET"])
def cached_nodes(image_id):
    reject_body()
    cache = _cache("list_cached_nodes")
    if not cache.centralized:
        raise errors.Conflict("Centralized caching is not enabled")
    _image(image_id)
    registry = cache.registry
    return json_response(dumps(registry.nodes(image_id)
                               if registry is not None else []))


@bp.route("/v2/cache/clean", methods=["POST"])
def clean_cache():
    cache = _cache("cache_clean")
    cache.clean()
    return _empty(200)


@bp.route("/v2/cache/prune", methods=["POST"])
def prune_cache():
    cache = _cache("cache_prune")
    files, freed = cache.prune()
    return json_response(dumps({"total_files_pruned": files,
                                "total_bytes_pruned": freed}))


ACTIONS = ("clean", "prune")


@bp.route("/v2/cache/<any(clean, prune):action>", methods=["GET", "PATCH"])
def reject_on_action(action):
    """Glance routes these paths before ``/cache/{image_id}``: any other
    method than POST is its plain 405 allowing POST."""
    raise errors.MethodNotAllowed("", Allow="POST")


def _not_an_action(image_id):
    """PUT/DELETE /v2/cache/clean is that 405, not a cache entry."""
    if image_id in ACTIONS:
        raise errors.MethodNotAllowed("", Allow="POST")
