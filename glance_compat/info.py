"""Image API v2 discovery: /v2/info/import, /v2/info/stores, /v2/info/usage."""

import flask

from artifacts import errors
from glance_compat.common import (context, json_response, reject_body,
                                  services)
from glance_compat import usage as glance_usage
from glance_compat.serialize import dumps

bp = flask.Blueprint("glance_info", __name__)


@bp.route("/v2/info/import", methods=["GET"])
def import_info():
    settings = services().settings
    reject_body()
    return json_response(dumps({"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": list(settings.enabled_import_methods)}}))


def _stores(detail):
    settings = services().settings
    reject_body()
    if not settings.multi_store:
        # Glance's answer without enabled_backends; clients read it as
        # "single store".
        raise errors.NotFound("Multi backend is not supported at this site.")
    out = []
    for store in settings.stores:
        entry = {"id": store.id}
        if store.description:
            entry["description"] = store.description
        # Glance sends these flags as the strings "true", not booleans.
        if store.is_default:
            entry["default"] = "true"
        if store.read_only:
            entry["read-only"] = "true"
        if detail:
            entry["type"] = store.type
            entry["weight"] = store.weight
            entry["properties"] = dict(store.properties)
        out.append(entry)
    return json_response(dumps({"stores": out}))


@bp.route("/v2/info/stores", methods=["GET"])
def stores_info():
    return _stores(detail=False)


@bp.route("/v2/info/stores/detail", methods=["GET"])
def stores_detail():
    svc = services()
    if svc.settings.multi_store:
        # Glance: the single-store 404 comes before the policy check.
        svc.engine.enforcer.enforce(context(), "stores_info_detail", {
            "project_id": context().project_id})
    return _stores(detail=True)


@bp.route("/v2/info/usage", methods=["GET"])
def usage():
    # The caller's project's image limits and usage in Glance's shape;
    # empty, as Glance without Keystone limits, when none is set.
    reject_body()
    return json_response(dumps(glance_usage.usage(
        services().engine, context().project_id)))
