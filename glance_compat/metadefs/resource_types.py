"""``/v2/metadefs/resource_types`` and a namespace's associations
(``/v2/metadefs/namespaces/{namespace}/resource_types[/{name}]``)."""

import flask

from glance_compat import common as glance_common
from glance_compat.metadefs import common as c

bp = flask.Blueprint("metadef_resource_types", __name__)

_ALL = c.NAMESPACES + "/<namespace>/resource_types"


@bp.route("/v2/metadefs/resource_types", methods=["GET"])
def index():
    glance_common.reject_body()
    rows = c.catalog().resource_types.list(c.context())
    return c.render({"resource_types": [
        c.association_view(row) for row in rows]})


@bp.route(_ALL, methods=["GET"])
def show(namespace):
    glance_common.reject_body()
    rows = c.catalog().resource_types.list_for(c.context(), namespace)
    return c.render({"resource_type_associations": [
        c.association_view(row) for row in rows]})


@bp.route(_ALL, methods=["POST"])
def create(namespace):
    body = c.body("resource_type")
    made = c.catalog().resource_types.associate(c.context(), namespace, body)
    return c.render(c.association_view(made), status=201)


@bp.route(_ALL + "/<resource_type>", methods=["DELETE"])
def delete(namespace, resource_type):
    glance_common.reject_body()
    c.catalog().resource_types.dissociate(c.context(), namespace,
                                          resource_type)
    return glance_common.no_content()
