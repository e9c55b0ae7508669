"""``/v2/metadefs/namespaces/{namespace}/tags[/{tag}]``.

``POST .../tags`` replaces every tag of the namespace with the list sent
(``X-Openstack-Append: true`` adds to them instead; an empty list changes
nothing), ``POST .../tags/{tag}`` creates one; a list is newest first and
takes ``marker`` (a tag name), ``limit``, ``sort_key`` and ``sort_dir``.
"""

import flask
from oslo_utils import strutils

from glance_compat import common as glance_common
from glance_compat.metadefs import common as c

bp = flask.Blueprint("metadef_tags", __name__)

_ALL = c.NAMESPACES + "/<namespace>/tags"
_ONE = _ALL + "/<tag_name>"


@bp.route(_ALL, methods=["GET"])
def index(namespace):
    params = c.query_params()
    limit = params.pop("limit", None)
    marker = params.pop("marker", None)
    sort_dir = c.sort_dir(params)
    sort_key = params.pop("sort_key", "created_at")
    c.check_visibility(params, ("public", "private", "shared"))
    names = c.catalog().tags.list(
        c.context(), namespace, marker=marker or None,
        limit=c.parse_limit(limit) if limit else None,
        sort_key=sort_key, sort_dir=sort_dir)
    return c.render({"tags": [{"name": name} for name in names]})


@bp.route(_ALL, methods=["POST"])
def create_many(namespace):
    body = c.body("tags")
    append = strutils.bool_from_string(
        flask.request.headers.get("X-Openstack-Append"))
    names = [tag["name"] for tag in body.get("tags") or ()]
    created = c.catalog().tags.create_many(c.context(), namespace, names,
                                           append=append)
    return c.render({"tags": [{"name": name} for name in created]},
                    status=201)


@bp.route(_ONE, methods=["POST"])
def create(namespace, tag_name):
    glance_common.reject_body()
    tag = c.catalog().tags.create(c.context(), namespace, tag_name)
    return c.render(c.tag_view(tag), status=201)


@bp.route(_ONE, methods=["GET"])
def show(namespace, tag_name):
    glance_common.reject_body()
    return c.render(c.tag_view(c.catalog().tags.get(c.context(), namespace,
                                                   tag_name)))


@bp.route(_ONE, methods=["PUT"])
def update(namespace, tag_name):
    body = c.body("tag")
    tag = c.catalog().tags.update(c.context(), namespace, tag_name,
                                  body["name"])
    return c.render(c.tag_view(tag))


@bp.route(_ONE, methods=["DELETE"])
def delete(namespace, tag_name):
    glance_common.reject_body()
    c.catalog().tags.delete(c.context(), namespace, tag_name)
    return glance_common.no_content()
