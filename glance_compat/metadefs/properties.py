"""``/v2/metadefs/namespaces/{namespace}/properties[/{property}]``.

A property shows with its name first (the row's), then its definition in
Glance's attribute order; a list is ``{"properties": {name: definition}}``.
``GET .../properties/{name}?resource_type=R`` takes the name with R's
prefix, as Glance does.
"""

import flask

from glance_compat import common as glance_common
from glance_compat.metadefs import common as c
from metadefs import documents as docs

bp = flask.Blueprint("metadef_properties", __name__)

_ALL = c.NAMESPACES + "/<namespace>/properties"
_ONE = _ALL + "/<property_name>"


@bp.route(_ALL, methods=["GET"])
def index(namespace):
    glance_common.reject_body()
    stored = c.catalog().properties.list(c.context(), namespace)
    return c.render({"properties": c.properties_view(stored)})


@bp.route(_ALL, methods=["POST"])
def create(namespace):
    body = c.body("property")
    name, definition = c.catalog().properties.create(c.context(), namespace,
                                                     body)
    return c.render(docs.render_property(definition, name), status=201)


@bp.route(_ONE, methods=["GET"])
def show(namespace, property_name):
    resource_type = c.query_params().get("resource_type")
    name, definition = c.catalog().properties.get(
        c.context(), namespace, property_name, resource_type=resource_type)
    return c.render(docs.render_property(definition, name))


@bp.route(_ONE, methods=["PUT"])
def update(namespace, property_name):
    body = c.body("property")
    name, definition = c.catalog().properties.update(
        c.context(), namespace, property_name, body)
    return c.render(docs.render_property(definition, name))


@bp.route(_ONE, methods=["DELETE"])
def delete(namespace, property_name):
    c.catalog().properties.delete(c.context(), namespace, property_name)
    return glance_common.no_content()
