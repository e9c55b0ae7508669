"""``/artifacts/{type}/{id}/members[/{member}]``: sharing a ``shared``
artifact with other projects.

The owner adds and removes members; a member accepts or rejects (PUT its
own status); an artifact the caller cannot see is 404.  The engine holds
the rules (``artifact:add_member`` and friends).
"""

import urllib.parse

import flask

from artifacts.api import common, models, render
from artifacts.api.artifacts import ID_PARAMETER, type_parameter
from artifacts.api.common import Blueprint, context, engine

blp = Blueprint("artifact_members", __name__, url_prefix="/artifacts",
                description="Share artifacts with other projects.")

MEMBERS = "/<type_name>/<artifact_id>/members"
# Any characters (a project id may hold a "/"), as the engine decides.
MEMBER = MEMBERS + "/<anypath:member>"
PARAMETERS = [type_parameter(), ID_PARAMETER]
MEMBER_PARAMETER = {"in": "path", "name": "member", "required": True,
                    "description": "A project id",
                    "schema": {"type": "string", "maxLength": 255}}


@blp.url_value_preprocessor
def _resolve_type(endpoint, values):
    if values and "type_name" in values:
        values["atype"] = common.artifact_type(values.pop("type_name"))


@blp.before_request
def _no_body_on_reads():
    if flask.request.method in ("GET", "DELETE"):
        common.reject_body()


@blp.route(MEMBERS, methods=["GET"], endpoint="list_members",
           parameters=PARAMETERS)
@blp.response(200, models.MemberList)
def list_members(atype, artifact_id):
    """Members of a shared artifact (a member sees only itself)."""
    rows = engine().sharing.list_members(context(), atype, artifact_id)
    return render.json_response({"members": [render.member(r)
                                             for r in rows]})


@blp.route(MEMBERS, methods=["POST"], endpoint="add_member",
           parameters=PARAMETERS)
@blp.arguments(models.MemberCreate, as_kwargs=False)
@blp.response(201, models.Member)
def add_member(body, atype, artifact_id):
    """Share a ``shared`` artifact with a project (status pending)."""
    row = engine().sharing.add_member(context(), atype, artifact_id, body["member"])
    return render.json_response(
        render.member(row), 201,
        {"Location": common.url("/artifacts/%s/%s/members/%s" % (
            atype.name, artifact_id,
            urllib.parse.quote(body["member"], safe="")))})


@blp.route(MEMBER, methods=["GET"], endpoint="show_member",
           parameters=PARAMETERS + [MEMBER_PARAMETER])
@blp.response(200, models.Member)
def show_member(atype, artifact_id, member):
    """One membership."""
    row = engine().sharing.get_member(context(), atype, artifact_id, member)
    return render.json_response(render.member(row))


@blp.route(MEMBER, methods=["PUT"], endpoint="update_member",
           parameters=PARAMETERS + [MEMBER_PARAMETER])
@blp.arguments(models.MemberUpdate, as_kwargs=False)
@blp.response(200, models.Member)
def update_member(body, atype, artifact_id, member):
    """Accept or reject an artifact shared with your project."""
    row = engine().sharing.update_member(context(), atype, artifact_id, member,
                                 body["status"])
    return render.json_response(render.member(row))


@blp.route(MEMBER, methods=["DELETE"], endpoint="delete_member",
           parameters=PARAMETERS + [MEMBER_PARAMETER])
@blp.response(204)
def delete_member(atype, artifact_id, member):
    """Stop sharing with a project."""
    engine().sharing.delete_member(context(), atype, artifact_id, member)
    return render.no_content()
