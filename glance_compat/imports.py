"""Image API v2 interoperable import: PUT /stage and POST /import.

Every import records a Glance task (``api_image_import``, with the request
id and user id; ``artifacts.tasks``) holding the image's import lock
(``os_glance_import_task``: a second import while one is live is 409):

``glance-direct``: the data is staged (hashed while it streams, exactly
like an upload) and the import task, run in the request's thread, copies
it into every target store and makes it the image's data before the 202,
so clients polling for ``active`` see every store at once; with import
plugins that work on the data (conversion, decompression) the task is left
to the task runners, as web-download's, and a refusal shows on the task
and the image (``queued``), not on the 202.
``web-download``: the URI is checked (Glance's ``[import_filtering_opts]``
and wording, plus Glare's rule that loopback, link-local, private and
multicast addresses are fetched only from hosts named in
``allowed_hosts``: ``artifacts.net.urls``) and the task is left to the
workers' task runners, which fetch and import it (``import_tasks``); a
killed worker's task is taken over.  ``glance-download``: the body is
checked with Glance's 400s and the task is run by a thread of this process,
which alone keeps the caller's token and service catalog (in memory:
``glance_download``).  ``copy-image`` queues durable copy
jobs (``artifacts.jobs``) whose end finishes the task.  All show Glance's
progress properties ``os_glance_importing_to_stores`` and
``os_glance_failed_import``; ``os_glance_import_task`` holds the image
until the task ends (409 "Image has active task" for another import or a
location registration).
"""

import flask

from artifacts import errors
from artifacts.net import urls
from artifacts.types.images import FAILED_IMPORT as FAILED
from artifacts.types.images import IMPORTING
from glance_compat import glance_download
from glance_compat.common import (context, json_body, no_content, services,
                                  status_line)
from glance_compat.image_data import request_chunks
from glance_compat.import_tasks import API_IMAGE_IMPORT, EXTENSION

bp = flask.Blueprint("glance_imports", __name__)

GLANCE_DIRECT = "glance-direct"
COPY_IMAGE = "copy-image"
WEB_DOWNLOAD = "web-download"
GLANCE_DOWNLOAD = glance_download.GLANCE_DOWNLOAD


@bp.route("/v2/images/<image_id>/stage", methods=["PUT"])
def stage(image_id):
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    ctx = context()
    # An image the caller cannot see is 404 before anything is said about
    # the site's methods.
    engine.get(ctx, atype, image_id)
    if GLANCE_DIRECT not in settings.enabled_import_methods:
        raise errors.NotFound("'glance-direct' method is not available at "
                              "this site.")
    engine.data.upload(ctx, atype, image_id, "staging", request_chunks())
    return no_content()


def _parse_import(body, settings):
    """The method name, after Glance's checks of the body (400s)."""
    if not isinstance(body, dict) or "method" not in body:
        raise errors.Invalid("Import request requires a 'method' field.")
    method = body["method"]
    if not isinstance(method, dict) or "name" not in method:
        raise errors.Invalid("Import request requires a 'name' field.")
    name = method["name"]
    if name not in settings.enabled_import_methods:
        raise errors.Invalid("Unknown import method name '%s'." % name)
    for flag in ("all_stores_must_succeed", "all_stores"):
        if flag in body and not isinstance(body[flag], bool):
            raise errors.Invalid("'%s' must be boolean value only" % flag)
    return name


def _check_image(image, name):
    """Glance's status and format preconditions of each method (409s)."""
    status = image["status"]
    if status == "active" and name != COPY_IMAGE:
        raise errors.Conflict("Image with status active cannot be target "
                              "for import")
    if status != "active" and name == COPY_IMAGE:
        raise errors.Conflict("Only images with status active can be "
                              "targeted for copying")
    if status != "queued" and name in (WEB_DOWNLOAD, GLANCE_DOWNLOAD):
        raise errors.Conflict("Image needs to be in 'queued' state to use "
                              "'%s' method" % name)
    if status != "uploading" and name == GLANCE_DIRECT:
        raise errors.Conflict("Image needs to be staged before "
                              "'glance-direct' method can be used")
    for attr in ("container_format", "disk_format"):
        if not image["properties"].get(attr):
            raise errors.Conflict("'%s' needs to be set before import"
                                  % attr)


def _target_stores(body, settings):
    """The stores an import writes to, as Glance picks them: ``all_stores``
    (every writable store), else ``stores``, else ``X-Image-Meta-Store``,
    else the default store.  Without multi-store Glance ignores all three
    (one store)."""
    if not settings.multi_store:
        return []
    headers = flask.request.headers
    header = headers.get("X-Image-Meta-Store")
    if body.get("all_stores"):
        if "stores" in body or "X-Image-Meta-Store" in headers:
            raise errors.Invalid("All_stores parameter can't be used with "
                                 "x-image-meta-store header or stores "
                                 "parameter")
        return [s.id for s in settings.stores if not s.read_only]
    if "stores" in body:
        if "X-Image-Meta-Store" in headers:
            raise errors.Invalid("Stores parameter and x-image-meta-store "
                                 "header can't be both specified")
        wanted = body["stores"]
        if not isinstance(wanted, list) or not all(
                isinstance(s, str) for s in wanted):
            raise errors.Invalid("'stores' must be a list of store ids.")
    else:
        wanted = [header] if header is not None else [
            s.id for s in settings.stores if s.is_default][:1]
    known = settings.store_ids()
    for store in wanted:
        if store not in known:
            raise errors.Conflict("Store for identifier %s not found"
                                  % store)
    return list(dict.fromkeys(wanted))


@bp.route("/v2/images/<image_id>/import", methods=["POST"])
def import_image(image_id):
    """Glance's checks in Glance's order -- the body, the image's status
    and formats, the policy (copy_image for copy-image, else
    modify_image), the target stores, then the method's work -- except
    that an image the caller cannot see is 404 first, before the method
    named in the body is looked at (Glance checks the method first, so
    its 400 or 409 tells a stranger that the id exists)."""
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    body = json_body()
    ctx = context()
    image = engine.get(ctx, atype, image_id)
    name = _parse_import(body, settings)
    _check_image(image, name)
    if name == GLANCE_DOWNLOAD:
        glance_download.check_request(body["method"])
    engine.enforce_on(ctx, atype, image,
                      "copy" if name == COPY_IMAGE else "update")
    stores = _target_stores(body, settings)
    must_succeed = body.get("all_stores_must_succeed", True)
    if name == COPY_IMAGE:
        stores = _stores_to_copy_to(image, stores, body)
    if not must_succeed and not settings.multi_store:
        raise errors.Invalid("All_stores_must_succeed can only be set with "
                             "enabled_backends %s"
                             % body["method"].get("uri"))
    if name == WEB_DOWNLOAD:
        _check_uri(engine, body["method"].get("uri"))
    if name != COPY_IMAGE or stores:
        _start_task(ctx, engine, atype, image, name, body, stores,
                    must_succeed)
    resp = flask.Response(b"", status=status_line(202))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    return resp


def _check_uri(engine, uri):
    """Glance's 400 for a web-download URI that may not be fetched: its
    filtering options, and Glare's address rules after resolving the
    name (the fetch checks every hop again)."""
    try:
        urls.check_fetchable(uri, engine.import_policy)
    except urls.Refused as exc:
        flask.current_app.logger.info("web-download URI %r refused: %s",
                                      uri, exc.message)
        raise errors.Invalid("URI for web-download does not pass "
                             "filtering: %s" % uri)


def _start_task(ctx, engine, atype, image, name, body, stores,
                must_succeed):
    """Record the import's task (holding the import lock, with Glance's
    progress properties) and start its work: glance-direct here and now,
    web-download on a task runner, glance-download on a thread of this
    process, copy-image as data jobs."""
    image_id = image["id"]
    failed = [s for s in (image["properties"].get(FAILED) or "").split(",")
              if s and s not in stores]
    task_input = {"image_id": image_id, "import_req": body,
                  "backend": stores or [None]}
    plugins = engine.import_plugins
    properties = {IMPORTING: ",".join(stores), FAILED: ",".join(failed)}
    if name != COPY_IMAGE:
        # inject_image_metadata depends on the caller's roles, which only
        # the request knows: written with the task.
        properties = dict(plugins.injected(ctx.roles), **properties)
    common = dict(atype=atype, artifact_id=image_id,
                  handler=API_IMAGE_IMPORT,
                  # Glance's answer when the image's import lock is held
                  # by a live task.
                  busy="Image has active task", properties=properties)
    if name == COPY_IMAGE:
        # Durable: the copies are rows any worker runs (and another one
        # finishes if this one dies); the last one finishes the task.
        engine.tasks.create(
            ctx, API_IMAGE_IMPORT, task_input, waiting=True,
            also=lambda conn, task_id: engine.jobs.insert_copies(
                conn, atype, image_id, "image", stores, must_succeed,
                batch=task_id), **common)
    elif name == GLANCE_DIRECT and not plugins.work:
        # Every store is written before the 202, as Glance's task does
        # before the image turns active; Glance leaves its progress
        # properties behind, empty, and clients (Tempest) read them.
        task = engine.tasks.create(ctx, API_IMAGE_IMPORT, task_input,
                                   claim=True, **common)
        engine.tasks.run_now(task)
    elif name == GLANCE_DOWNLOAD:
        # Claimed by this process, whose thread alone holds the token.
        task = engine.tasks.create(ctx, API_IMAGE_IMPORT, task_input,
                                   claim=True, **common)
        flask.current_app.extensions[EXTENSION].handover.start(
            task, ctx.auth_token, ctx.service_catalog)
    else:
        engine.tasks.create(ctx, API_IMAGE_IMPORT, task_input, **common)


def _stores_to_copy_to(image, stores, body):
    """copy-image: with ``all_stores`` the stores that already hold the
    image are dropped (none left: nothing to do); otherwise naming one is
    Glance's 400."""
    present = {loc["store"] for b in image["blobs"] if b["field"] == "image"
               and b["status"] == "active" for loc in b["locations"]}
    if body.get("all_stores"):
        return [s for s in stores if s not in present]
    for store in stores:
        if store in present:
            raise errors.Invalid("Image is already present at store '%s'"
                                 % store)
    return stores
