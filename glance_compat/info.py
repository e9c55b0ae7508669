"""Image API v2 discovery: /v2/info/import, /v2/info/stores, /v2/info/usage."""

import flask

from artifacts import errors
from glance_compat.common import json_response, reject_body, services
from glance_compat.serialize import dumps

bp = flask.Blueprint("glance_info", __name__)


@bp.route("/v2/info/import", methods=["GET"])
def import_info():
    _, _, settings, _ = services()
    reject_body()
    return json_response(dumps({"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": list(settings.enabled_import_methods)}}))


@bp.route("/v2/info/stores", methods=["GET"])
def stores_info():
    reject_body()
    # One store per deployment for now: Glance answers this way when
    # multi-store is not enabled, and clients read it as "single store".
    raise errors.NotFound("Multi backend is not supported at this site.")


@bp.route("/v2/info/stores/detail", methods=["GET"])
def stores_detail():
    reject_body()
    raise errors.NotFound("Multi backend is not supported at this site.")


@bp.route("/v2/info/usage", methods=["GET"])
def usage():
    # Glance reports unified-limits usage only with Keystone limits on;
    # otherwise the document is empty, which clients accept.
    return json_response(dumps({"usage": {}}))
