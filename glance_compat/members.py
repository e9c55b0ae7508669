"""Image API v2: image members (sharing), over the core's member rules."""

import contextlib

import flask

from artifacts import errors
from glance_compat.common import (context, json_body, json_response,
                                  no_content, reject_body, services)
from glance_compat.serialize import dumps, member_view

bp = flask.Blueprint("glance_members", __name__)

STATUSES = ("pending", "accepted", "rejected")


@bp.route("/v2/images/<image_id>/members", methods=["POST"])
def create(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    body = json_body()
    if not isinstance(body, dict):
        raise errors.Invalid('Expected a member in the form: '
                             '{"member": "image_id"}')
    if "member" not in body:
        raise errors.Invalid("Member to be added not specified")
    member = body["member"]
    if not member:
        raise errors.Invalid("Member can't be empty")
    if not isinstance(member, str) or len(member) > 255:
        raise errors.Invalid("Member must be a string of at most 255 "
                             "characters.")
    try:
        with _image_lookup(image_id):
            row = engine.sharing.add_member(context(), atype, image_id, member)
    except errors.QuotaExceeded as exc:
        raise errors.QuotaExceeded("Image member limit exceeded for image "
                                   "%s: %s:" % (image_id, exc.message))
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members", methods=["GET"])
def index(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    with _image_lookup(image_id):
        rows = engine.sharing.list_members(context(), atype, image_id)
    return json_response(dumps({"members": [member_view(r) for r in rows],
                                "schema": "/v2/schemas/members"}))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["GET"])
def show(image_id, member_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    _shared_image(image_id, errors.NotFound("Only shared images have "
                                            "members."))
    with _member_lookup(image_id, member_id):
        row = engine.sharing.get_member(context(), atype, image_id, member_id)
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["PUT"])
def update(image_id, member_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    body = json_body()
    if not isinstance(body, dict):
        raise errors.Invalid('Expected a status in the form: '
                             '{"status": "status"}')
    if "status" not in body:
        raise errors.Invalid("Status not specified")
    status = body["status"]
    _shared_image(image_id, errors.Forbidden(
        "Not allowed to update members for image %s." % image_id))
    if status not in STATUSES:
        raise errors.Invalid('Incorrect request: Status must be "pending", '
                             '"accepted" or "rejected".')
    with _member_lookup(image_id, member_id):
        row = engine.sharing.update_member(context(), atype, image_id, member_id,
                                   status)
    return json_response(dumps(member_view(row)))


@bp.route("/v2/images/<image_id>/members/<member_id>", methods=["DELETE"])
def delete(image_id, member_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    _shared_image(image_id, errors.Forbidden(
        "Not allowed to delete members for image %s." % image_id))
    with _member_lookup(image_id, member_id):
        engine.sharing.delete_member(context(), atype, image_id, member_id)
    return no_content()


@contextlib.contextmanager
def _image_lookup(image_id):
    """Glance's member views word an invisible image their own way."""
    try:
        yield
    except errors.NotFound:
        raise errors.NotFound("Image %s not found." % image_id)


@contextlib.contextmanager
def _member_lookup(image_id, member_id):
    """Once the image is known, a NotFound is about the membership."""
    try:
        yield
    except errors.NotFound:
        raise errors.NotFound("%s not found in the member list of the image "
                              "%s." % (member_id, image_id))


def _shared_image(image_id, refusal):
    """The (visible) image; ``refusal`` unless it is shared.

    Glance keeps the memberships of an image that stops being shared but
    puts them out of reach: GET of one is 404, PUT and DELETE are 403.
    """
    svc = services()
    engine, atype = svc.engine, svc.images
    with _image_lookup(image_id):
        image = engine.get(context(), atype, image_id)
    if image["visibility"] != "shared":
        raise refusal
    return image
