"""Image API v2 interoperable import: PUT /stage and POST /import.

``glance-direct``: the data is staged (hashed while it streams, exactly
like an upload) and the import makes the staged blob the image's data in
the first target store, before the 202 (Glance runs a task), so clients
polling for ``active`` see it at once.  ``copy-image`` (and the further
stores of a multi-store glance-direct import) copies the data into each
target store after the 202, in a thread of the worker, showing Glance's
progress properties ``os_glance_importing_to_stores`` and
``os_glance_failed_import``.

Not yet durable: a copy running when its worker is killed is lost (the
image stays ``active`` with its other stores; ``os_glance_importing_to_
stores`` keeps the unfinished ids until the next copy request).
"""

import logging
import threading

import flask

from artifacts import errors
from glance_compat.common import (context, json_body, no_content, services,
                                  status_line)
from glance_compat.image_data import request_chunks

LOG = logging.getLogger(__name__)

bp = flask.Blueprint("glance_imports", __name__)

GLANCE_DIRECT = "glance-direct"
COPY_IMAGE = "copy-image"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


@bp.route("/v2/images/<image_id>/stage", methods=["PUT"])
def stage(image_id):
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    if GLANCE_DIRECT not in settings.enabled_import_methods:
        raise errors.NotFound("'glance-direct' method is not available at "
                              "this site.")
    engine.data.upload(context(), atype, image_id, "staging",
                       request_chunks())
    return no_content()


def _parse_import(body, settings):
    if not isinstance(body, dict) or "method" not in body:
        raise errors.Invalid("Import request requires a 'method' field.")
    method = body["method"]
    if not isinstance(method, dict) or "name" not in method:
        raise errors.Invalid("Import request requires a 'name' field.")
    name = method["name"]
    if name not in settings.enabled_import_methods:
        raise errors.Invalid("Unknown import method name '%s'." % name)
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise errors.Invalid("'%s' must be boolean value only" % flag)
    if not settings.multi_store:
        if body.get("all_stores_must_succeed") is False:
            raise errors.Invalid("All_stores_must_succeed can only be set "
                                 "with enabled_backends %s" % None)
        if body.get("stores") or body.get("all_stores") or \
                flask.request.headers.get("X-Image-Meta-Store"):
            raise errors.Conflict("Multi backend is not supported at this "
                                  "site.")
    return name


def _target_stores(body, settings):
    """The stores an import writes to, as Glance picks them: ``all_stores``
    (every writable store), else ``stores``, else ``X-Image-Meta-Store``,
    else the default store."""
    header = flask.request.headers.get("X-Image-Meta-Store")
    stores = body.get("stores")
    if stores is not None and (not isinstance(stores, list) or not all(
            isinstance(s, str) for s in stores)):
        raise errors.Invalid("'stores' must be a list of store ids.")
    if body.get("all_stores"):
        if stores or header:
            raise errors.Invalid("All_stores parameter can't be used with "
                                 "x-image-meta-store header or stores "
                                 "parameter")
        return [s.id for s in settings.stores if not s.read_only]
    if stores and header:
        raise errors.Invalid("Stores parameter and x-image-meta-store header "
                             "can't be both specified")
    wanted = stores or ([header] if header else [])
    if not wanted:
        wanted = [s.id for s in settings.stores if s.is_default][:1]
    known = settings.store_ids()
    for store in wanted:
        if store not in known:
            raise errors.Conflict("Store for identifier %s not found"
                                  % store)
    return list(dict.fromkeys(wanted))


@bp.route("/v2/images/<image_id>/import", methods=["POST"])
def import_image(image_id):
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    body = json_body()
    name = _parse_import(body, settings)
    ctx = context()
    image = engine.get(ctx, atype, image_id)
    stores = _target_stores(body, settings) if settings.multi_store else []
    if name == COPY_IMAGE:
        _start_copy(engine, atype, ctx, image, stores, body)
    else:
        if image["status"] == "active":
            raise errors.Conflict("Image with status active cannot be "
                                  "target for import")
        first, rest = (stores[0], stores[1:]) if stores else (None, [])
        # Glance leaves its import progress properties behind, empty, and
        # clients (Tempest, Nova's copy polling) read them.
        engine.data.import_staged(ctx, atype, image_id, store=first,
                                  properties={IMPORTING: ",".join(rest),
                                              FAILED: ""})
        if rest:
            _copy_in_background(engine, atype, ctx, image_id, rest,
                                body.get("all_stores_must_succeed", True))
    resp = flask.Response(b"", status=status_line(202))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    return resp


def _start_copy(engine, atype, ctx, image, stores, body):
    """copy-image: Glance's checks, then the copies after the 202."""
    engine.enforcer.enforce(ctx, atype.rule("copy"), {
        "project_id": image["owner"], "owner": image["owner"]})
    if image["status"] != "active":
        raise errors.Conflict("Only images with status active can be "
                              "targeted for copying")
    present = {loc["store"] for b in image["blobs"] if b["field"] == "image"
               and b["status"] == "active" for loc in b["locations"]}
    if body.get("all_stores"):
        stores = [s for s in stores if s not in present]
    else:
        for store in stores:
            if store in present:
                raise errors.Invalid("Image is already present at store "
                                     "'%s'" % store)
    if not stores:
        return
    engine.update(ctx, atype, image["id"], lambda img: img[
        "properties"].update({IMPORTING: ",".join(stores), FAILED: ""}))
    _copy_in_background(engine, atype, ctx, image["id"], stores,
                        body.get("all_stores_must_succeed", True))


def _copy_in_background(engine, atype, ctx, image_id, stores,
                        must_succeed):
    def progress(store, failed):
        def mutate(img):
            props = img["properties"]
            left = [s for s in (props.get(IMPORTING) or "").split(",")
                    if s and s != store]
            props[IMPORTING] = ",".join(left)
            if failed:
                done = [s for s in (props.get(FAILED) or "").split(",") if s]
                props[FAILED] = ",".join(done + [store])
        engine.update(ctx, atype, image_id, mutate)

    def run():
        for store in stores:
            try:
                engine.data.copy_to_store(ctx, atype, image_id, "image",
                                          store, rule="get")
                failed = False
            except Exception:  # noqa: BLE001 - recorded for the client
                LOG.exception("Copying image %s to store %s failed",
                              image_id, store)
                failed = True
            try:
                progress(store, failed)
            except errors.ArtifactError:
                LOG.warning("Image %s is gone; copy stopped", image_id)
                return
            if failed and must_succeed:
                LOG.warning("Copy of image %s stopped: all_stores_must_"
                            "succeed and store %s failed", image_id, store)
                for other in stores[stores.index(store) + 1:]:
                    progress(other, True)
                return
    threading.Thread(target=run, name="copy-image-%s" % image_id,
                     daemon=True).start()
