"""Image API v2: image members (sharing), over the core's member rules."""

import flask

from artifacts import errors
from glance_compat.common import (context, json_body, json_response,
                                  no_content, reject_body, services)
from glance_compat.serialize import dumps, member_view

bp = flask.Blueprint("glance_members", __name__)

STATUSES = ("pending", "accepted", "rejected")


@bp.route("/v2/images/<image_id>/members", methods=["POST"])
def create(image_id):
    engine, atype, _, _ = services()
    body = json_body()
    if not isinstance(body, dict) or "member" not in body:
        raise errors.Invalid("Member to be added not specified")
    member = body["member"]
    if not member:
        raise errors.Invalid("Member can't be empty")
    if not isinstance(member, str) or len(member) > 255:
        raise errors.Invalid("Member must be a string of at most 255 "
                             "characters.")
    try:
        row = engine.add_member(context(), atype, image_id, member)
    except errors.QuotaExceeded as exc:
        raise errors.QuotaExceeded("Image member limit exceeded for image "
                                   "%s: %s:" % (image_id, exc.message))
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members", methods=["GET"])
def index(image_id):
    engine, atype, _, _ = services()
    reject_body()
    rows = engine.list_members(context(), atype, image_id)
    return json_response(dumps({"members": [member_view(r) for r in rows],
                                "schema": "/v2/schemas/members"}))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["GET"])
def show(image_id, member_id):
    engine, atype, _, _ = services()
    reject_body()
    row = engine.get_member(context(), atype, image_id, member_id)
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["PUT"])
def update(image_id, member_id):
    engine, atype, _, _ = services()
    body = json_body()
    status = body.get("status") if isinstance(body, dict) else None
    if status not in STATUSES:
        raise errors.Invalid('Incorrect request: Status must be "pending", '
                             '"accepted" or "rejected".')
    row = engine.update_member(context(), atype, image_id, member_id, status)
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["DELETE"])
def delete(image_id, member_id):
    engine, atype, _, _ = services()
    reject_body()
    engine.delete_member(context(), atype, image_id, member_id)
    return no_content()
