"""``/v2/metadefs/namespaces/{namespace}/objects[/{object}]``.

Glance's forms: the list is ``{"objects": [...], "schema":
"v2/schemas/metadefs/objects"}`` (no leading slash, no paging: the query
is checked, as Glance checks it, and then not used); a created object
shows what was sent plus its times and links; each property of a created
object is checked against the ``property`` schema without its name.
"""

import flask

from glance_compat import common as glance_common
from glance_compat.metadefs import common as c
from metadefs.schemas import schemas

bp = flask.Blueprint("metadef_objects", __name__)

_ALL = c.NAMESPACES + "/<namespace>/objects"
_ONE = _ALL + "/<object_name>"


@bp.route(_ALL, methods=["GET"])
def index(namespace):
    params = c.query_params()
    limit = params.pop("limit", None)
    params.pop("marker", None)
    c.sort_dir(params)
    c.check_visibility(params, ("public", "private", "shared"))
    if limit is not None:
        c.parse_limit(limit, allow_zero=False)
    rows = c.catalog().objects.list(c.context(), namespace)
    return c.render({"objects": [c.object_view(namespace, o) for o in rows],
                     "schema": "v2/schemas/metadefs/objects"})


@bp.route(_ALL, methods=["POST"])
def create(namespace):
    body = c.body("object")
    for definition in (body.get("properties") or {}).values():
        schemas().validate("object_property", definition)
    stored, _ = c.catalog().objects.create(c.context(), namespace, body)
    return c.render(c.object_view(namespace, stored), status=201)


@bp.route(_ONE, methods=["GET"])
def show(namespace, object_name):
    glance_common.reject_body()
    obj = c.catalog().objects.get(c.context(), namespace, object_name)
    return c.render(c.object_view(namespace, obj))


@bp.route(_ONE, methods=["PUT"])
def update(namespace, object_name):
    body = c.body("object")
    obj = c.catalog().objects.update(c.context(), namespace, object_name,
                                     body)
    return c.render(c.object_view(namespace, obj))


@bp.route(_ONE, methods=["DELETE"])
def delete(namespace, object_name):
    glance_common.reject_body()
    c.catalog().objects.delete(c.context(), namespace, object_name)
    return glance_common.no_content()
