"""Image API v2 interoperable import: PUT /stage and POST /import.

Only ``glance-direct`` is offered: the data is staged (hashed while it
streams, exactly like an upload) and the import makes the staged blob the
image's data.  Glance runs the import as an asynchronous task; Glare's
import is a metadata change, so it completes before the 202 is sent and
clients polling for ``active`` see it at once.
"""

import flask

from artifacts import errors
from glance_compat.common import (context, json_body, no_content, services,
                                  status_line)
from glance_compat.image_data import request_chunks

bp = flask.Blueprint("glance_imports", __name__)

GLANCE_DIRECT = "glance-direct"


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
    if body.get("all_stores_must_succeed") is False:
        raise errors.Invalid("All_stores_must_succeed can only be set with "
                             "enabled_backends %s" % None)
    if body.get("stores") or body.get("all_stores"):
        raise errors.Conflict("Multi backend is not supported at this site.")
    return name


@bp.route("/v2/images/<image_id>/import", methods=["POST"])
def import_image(image_id):
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    name = _parse_import(json_body(), settings)
    ctx = context()
    image = engine.get(ctx, atype, image_id)
    if image["status"] == "active":
        raise errors.Conflict("Image with status active cannot be target "
                              "for import")
    if name == GLANCE_DIRECT:
        # Glance leaves its import progress properties behind, empty, and
        # clients (Tempest, Nova's copy polling) read them.
        engine.data.import_staged(ctx, atype, image_id, properties={
            "os_glance_importing_to_stores": "",
            "os_glance_failed_import": ""})
    resp = flask.Response(b"", status=status_line(202))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    return resp
