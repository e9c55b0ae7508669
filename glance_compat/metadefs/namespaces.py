"""``/v2/metadefs/namespaces``: list, create, show, replace, delete, and
the DELETE of all of a namespace's objects, properties or tags.

Glance's rules kept here: a list takes ``limit`` (default
``limit_param_default``, at most ``api_limit_max``), ``marker`` (a
namespace name), ``sort_key``/``sort_dir``, ``visibility`` (public or
private) and ``resource_types`` (comma-separated) and links ``first`` and
``next`` with the request's own query; a show with ``resource_type`` shows
the properties with that association's prefix.  A limit that is not a
number or an unknown sort key is a 400 here (Glance answers 500).
"""

import flask

from glance_compat import common as glance_common
from glance_compat.metadefs import common as c

bp = flask.Blueprint("metadef_namespaces", __name__)

_ONE = c.NAMESPACES + "/<namespace>"


@bp.route(c.NAMESPACES, methods=["GET"])
def index():
    params = c.query_params()
    raw_limit = params.pop("limit", None)
    marker = params.pop("marker", None)
    settings = glance_common.services().settings
    limit = settings.limit_param_default if raw_limit is None \
        else c.parse_limit(raw_limit)
    limit = min(settings.api_limit_max, limit)
    sort_key = params.pop("sort_key", "created_at")
    sort_dir = c.sort_dir(params)
    c.check_visibility(params, ("public", "private"))
    rows, last = c.catalog().list_namespaces(
        c.context(), limit, marker=marker, sort_key=sort_key,
        sort_dir=sort_dir, visibility=params.get("visibility"),
        resource_types=params.get("resource_types"))
    items = []
    for row in rows:
        links = [c.association_view(a)
                 for a in row["resource_type_associations"]]
        items.append(c.namespace_view(
            row, {"resource_type_associations": links or None}))
    out = {"namespaces": items}
    query = c.query_params()
    query.pop("marker", None)
    if last is not None:
        out["next"] = c.link(c.NAMESPACES, dict(query, marker=last))
    out["schema"] = "/v2/schemas/metadefs/namespaces"
    out["first"] = c.link(c.NAMESPACES, query)
    return c.render(out)


@bp.route(c.NAMESPACES, methods=["POST"])
def create():
    body = c.body("namespace")
    namespace, contents = c.catalog().create_namespace(c.context(), body)
    shown = {}
    if "resource_type_associations" in contents:
        shown["resource_type_associations"] = [
            c.association_view(a)
            for a in contents["resource_type_associations"]]
    if "properties" in contents:
        shown["properties"] = c.properties_view(contents["properties"])
    if "objects" in contents:
        shown["objects"] = [c.object_view(namespace["namespace"], o,
                                          links=False)
                            for o in contents["objects"]]
    if "tags" in contents:
        shown["tags"] = [{"name": tag["name"]} for tag in contents["tags"]]
    return c.render(c.namespace_view(namespace, shown), status=201,
                    headers=c.location(c.namespace_href(
                        namespace["namespace"])))


@bp.route(_ONE, methods=["GET"])
def show(namespace):
    glance_common.reject_body()
    params = c.query_params()
    c.check_visibility(params, ("public", "private"))
    ns = c.catalog().show_namespace(c.context(), namespace)
    links = ns["resource_type_associations"]
    prefix = ""
    wanted = params.get("resource_type")
    if wanted:
        for link in links:
            if link["name"] == wanted:
                prefix = link["prefix"] or ""
                break
    shown = {
        "resource_type_associations":
            [c.association_view(a) for a in links] or None,
        "properties": c.properties_view(ns["properties"], prefix) or None,
        "objects": [c.object_view(namespace, o, prefix)
                    for o in ns["objects"]] or None,
        "tags": [{"name": name} for name in ns["tags"]] or None,
    }
    return c.render(c.namespace_view(ns, shown))


@bp.route(_ONE, methods=["PUT"])
def update(namespace):
    body = c.body("namespace")
    ns = c.catalog().update_namespace(c.context(), namespace, body)
    return c.render(c.namespace_view(ns))


@bp.route(_ONE, methods=["DELETE"])
def delete(namespace):
    glance_common.reject_body()
    c.catalog().delete_namespace(c.context(), namespace)
    return glance_common.no_content()


@bp.route(_ONE + "/<any(objects, properties, tags):kind>",
          methods=["DELETE"])
def delete_contents(namespace, kind):
    c.catalog().delete_contents(c.context(), namespace, kind)
    return glance_common.no_content()
