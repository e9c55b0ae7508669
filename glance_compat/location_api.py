"""The v2.17 location API: ``POST`` and ``GET /v2/images/{id}/locations``.

What Nova and Cinder use (with a service token) to register data they
put somewhere themselves, and to read where an image's data is, without
``show_multiple_locations``.

``POST`` runs Glance's checks in Glance's order: the body against its
``location`` schema (400), the image (404; visible to the caller, who
needs no ``get_image``: a service user), ``queued`` (409), the
``add_image_location`` policy (403, or 404 for a caller who cannot see
the image), callers without the ``service`` role only for an http(s) URL
and an http store (403), the ``validation_data`` hash (400), an http(s)
URL through the external-URL policy (400, Glare's
``[glare] external_*`` rules where Glance has its import filtering), and
the lock another operation holds (409).  It then answers 202 with no
body, as Glance does after starting its ``location_import`` task: the
registration runs as a durable job (``artifacts.registration``) that
resolves the URL, makes it the image's location (status ``importing``
while an expected hash is checked, else ``active`` at once), reads the
data to compute checksum and os_hash_value, and undoes the registration
(the image queued again, its data left where it is) if the hash differs.
``os_glance_import_task`` holds the image while it runs, as in Glance.

``GET`` needs ``fetch_image_location`` (the service role) and answers the
locations as a bare list of ``{"url", "metadata"}`` (none for a
deactivated image unless the caller is an administrator).
"""

import hashlib

import flask

from artifacts import errors, external
from artifacts.stores import scheme_of
from glance_compat.common import (context, json_body, json_response,
                                  services, status_line)
from glance_compat.serialize import dumps, image_locations_of

bp = flask.Blueprint("glance_location_api", __name__)

PATH = "/v2/images/<image_id>/locations"


def _http_store_configured(url, settings):
    """Glance's ``is_http_store_configured``."""
    return url.startswith("http") and any(s.type == "http"
                                          for s in settings.stores)


def _check_hash(validation, hashing_algorithm):
    """Glance's ``_validate_hashing_data`` (400s)."""
    if "os_hash_value" not in validation:
        return
    value = validation["os_hash_value"]
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise errors.Invalid("os_hash_value (%s) is not a valid hexadecimal"
                             " value" % value)
    algo = validation.get("os_hash_algo", hashing_algorithm)
    want = hashlib.new(algo).digest_size
    if len(raw) != want:
        raise errors.Invalid("os_hash_value: (%s) is not the correct size "
                             "for (%s) (should be (%d) bytes)"
                             % (value, algo, want))


@bp.route(PATH, methods=["POST"])
def add_location(image_id):
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    body = json_body()
    svc.schemas.validate_location(body)
    url = body["url"]
    validation = body.get("validation_data") or {}
    ctx = context()
    image = engine.visible(ctx, atype, image_id)
    if image["status"] != "queued":
        raise errors.Conflict("It's not allowed to add locations if image "
                              "status is %s." % image["status"])
    engine.enforce_hidden(ctx, atype, image, "add_location")
    if "service" not in set(ctx.roles) | set(ctx.service_roles) and \
            not _http_store_configured(url, settings):
        raise errors.Forbidden("http store must be enabled to use location "
                               "API by normal user.")
    _check_hash(validation, engine.limits.hashing_algorithm)
    if scheme_of(url) in ("http", "https"):
        try:
            external.check_url(url, engine.external_policy)
        except errors.Invalid:
            raise errors.Invalid("URI for add location does not pass "
                                 "filtering: %s" % url)
    try:
        engine.registration.submit(
            ctx, atype, image_id, "image", url,
            expected=validation.get("os_hash_value"),
            algorithm=validation.get("os_hash_algo"),
            # Glance's task, listed by GET /v2/images/{id}/tasks (clients
            # such as Tempest wait for it to succeed before reading the
            # image); it holds os_glance_import_task while it runs.
            task=("location_import", {"image_id": image_id, "loc_url": url,
                                      "validation_data": validation}))
    except errors.Conflict:
        raise errors.Conflict("Image has active task")
    resp = flask.Response(b"", status=status_line(202))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    return resp


@bp.route(PATH, methods=["GET"])
def get_locations(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    ctx = context()
    image = engine.visible(ctx, atype, image_id)
    engine.enforce_hidden(ctx, atype, image, "fetch_location")
    locations = []
    if ctx.is_admin or image["status"] != "deactivated":
        locations = [{"url": loc["url"], "metadata": loc["metadata"]}
                     for loc in image_locations_of(image, svc.settings)]
    return json_response(dumps(locations))


@bp.route(PATH, methods=["PUT", "PATCH", "DELETE"])
def reject(image_id):
    # Glance's reject route names only POST (its GET route comes first).
    raise errors.MethodNotAllowed("", Allow="POST")
