"""Image API v2: image records, tags and actions (thin views over the engine).

Each view parses the Glance request, calls one engine operation and renders
the Glance response; all rules live in the engine and the ``images`` type.
"""

import flask

from artifacts import errors
from artifacts.ids import is_canonical_uuid
from artifacts.locations import BadLocation
from glance_compat import listing, patch, property_protections
from glance_compat.locations import INVALID_LOCATION, LocationOps
from glance_compat.common import (context, json_body, json_response,
                                  no_content, reject_body, services)
from glance_compat.serialize import dumps, image_view

bp = flask.Blueprint("glance_images", __name__)

CANONICAL_EXAMPLE = "5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60"
CREATE_ATTRS = {"id", "name", "visibility", "protected", "os_hidden",
                "owner", "min_ram", "min_disk", "disk_format",
                "container_format", "tags"}


def _render(image, guard=None):
    """Glance's JSON of ``image`` for the caller: without the extra
    properties its property protections do not let it read."""
    settings = services().settings
    if settings.property_rules is not None:
        guard = guard or property_protections.for_request()
        image = dict(image, properties=guard.readable(image["properties"]))
    return image_view(image, settings, context().is_admin)


@bp.route("/v2/images", methods=["POST"])
def create():
    svc = services()
    engine, atype, settings, schemas = (svc.engine, svc.images,
                                         svc.settings, svc.schemas)
    body = json_body()
    values = create_values(body, schemas)
    guard = property_protections.for_request()
    # After add_image and the visibility rules, as in Glance.
    image = engine.create(
        context(), atype, values, artifact_id=body.get("id"),
        check=lambda v: property_protections.check_create(
            guard, v["properties"]))
    headers = {"Location": flask.request.host_url.rstrip("/")
               + flask.request.script_root + "/v2/images/" + image["id"]}
    if settings.enabled_import_methods:
        headers["OpenStack-image-import-methods"] = ",".join(
            settings.enabled_import_methods)
    if settings.multi_store:
        headers["OpenStack-image-store-ids"] = ",".join(settings.store_ids())
    return json_response(dumps(_render(image, guard)), 201, headers)


def create_values(body, schemas):
    """The engine's create values of a Glance image body, after Glance's
    checks (also used by legacy import tasks' ``image_properties``)."""
    if not isinstance(body, dict):
        raise errors.Invalid("Unexpected body type. Expected list/dict.")
    for key in body:
        if key == "locations":
            # Glance's create passes this one as the explanation.
            raise errors.Forbidden("Attribute 'locations' is reserved.")
        if key != "id":  # read-only in PATCH, but settable at create
            patch.check_attribute(key)
    schemas.validate_image(body)
    if "id" in body and not is_canonical_uuid(body["id"]):
        # Glance's schema pattern lets a trailing newline (and uppercase)
        # through; such a row could then not be addressed, not even to
        # delete it.
        raise errors.Invalid("Invalid image id %r: an image id must be a "
                             "UUID in its canonical lowercase form, e.g. "
                             "'%s'." % (body["id"], CANONICAL_EXAMPLE))
    values = {"properties": {}}
    for key, value in body.items():
        patch.check_int_attribute(key, value)
        if key == "id":
            continue
        elif key == "os_hidden":
            values["hidden"] = value
        elif key == "tags":
            values["tags"] = value
        elif key == "owner":
            values["owner"] = value or None
        elif key in ("name", "visibility", "protected"):
            values[key] = value
        else:
            if len(key) > 255:
                raise errors.Invalid("Custom property should not be greater "
                                     "than 255 characters.")
            values["properties"][key] = value
    return values


@bp.route("/v2/images", methods=["GET"])
def index():
    # Not body_reject in Glance's router: a body on the list is ignored.
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    args = flask.request.args
    req = listing.parse(args, context(), settings)
    images = engine.list(context(), atype, req.scope, req.filters, req.sort,
                         req.limit, req.marker, with_blobs=(
                             settings.show_multiple_locations
                             or settings.show_image_direct_url))
    first, nxt = listing.links(args, images, req.limit)
    guard = property_protections.for_request()
    body = {"images": [_render(i, guard) for i in images], "first": first,
            "schema": "/v2/schemas/images"}
    if nxt:
        body["next"] = nxt
    return json_response(dumps(body))


@bp.route("/v2/images/<image_id>", methods=["GET"])
def show(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    return json_response(dumps(_render(engine.get(context(), atype,
                                                  image_id))))


@bp.route("/v2/images/<image_id>", methods=["PATCH"])
def update(image_id):
    svc = services()
    engine, atype, settings, schemas = (svc.engine, svc.images,
                                         svc.settings, svc.schemas)
    media_type = flask.request.mimetype
    if media_type not in (patch.MEDIA_V21, patch.MEDIA_V20):
        raise errors.UnsupportedMediaType(
            "Image PATCH expects Content-Type one of: %s"
            % patch.ACCEPT_PATCH, **{"Accept-Patch": patch.ACCEPT_PATCH})
    changes = patch.parse(json_body(), media_type)
    ctx = context()
    guard = property_protections.for_request()
    if not any(c.name == "locations" for c in changes):
        image = engine.update(ctx, atype, image_id, lambda img: patch.apply(
            img, changes, media_type, schemas, settings, guard=guard))
        return json_response(dumps(_render(image, guard)))

    # Glance checks each change's own rule (set/delete_image_location for
    # locations, modify_image for the rest) as it applies it.
    def mutate(img):
        ops = LocationOps(settings, engine.locations, trusted=ctx.is_admin,
                          hashing_algorithm=engine.limits.hashing_algorithm,
                          enforce=lambda rule: engine.enforce_on(
                              ctx, atype, img, rule))
        return patch.apply(img, changes, media_type, schemas, settings,
                           locations=ops, enforce=ops.enforce, guard=guard)
    try:
        image = engine.update(ctx, atype, image_id, mutate, rule=None)
    except BadLocation:
        # The engine's last check (a URL another image's data is at).
        raise errors.Invalid(INVALID_LOCATION)
    return json_response(dumps(_render(image, guard)))


@bp.route("/v2/images/<image_id>", methods=["DELETE"])
def delete(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    try:
        engine.delete(context(), atype, image_id)
    except errors.NotFound:
        raise errors.NotFound("Failed to find image %s to delete" % image_id)
    return no_content()


@bp.route("/v2/images/<image_id>/tags/<path:tag>", methods=["PUT"])
def add_tag(image_id, tag):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    if len(tag) > 255:
        raise errors.Invalid("Provided object does not match schema 'image':"
                             " '%s' is too long" % tag)
    try:
        engine.update(context(), atype, image_id,
                      lambda img: img["tags"].add(tag))
    except errors.QuotaExceeded as exc:
        raise errors.QuotaExceeded("Image tag limit exceeded for image %s: "
                                   "%s" % (image_id, exc.message))
    return no_content()


@bp.route("/v2/images/<image_id>/tags/<path:tag>", methods=["DELETE"])
def delete_tag(image_id, tag):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()

    def remove(img):
        if tag not in img["tags"]:
            raise errors.NotFound()
        img["tags"].discard(tag)
    engine.update(context(), atype, image_id, remove)
    return no_content()


@bp.route("/v2/images/<image_id>/actions/deactivate", methods=["POST"])
def deactivate(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    engine.change_status(context(), atype, image_id, "deactivate", "active",
                         "deactivated")
    return no_content()


@bp.route("/v2/images/<image_id>/actions/reactivate", methods=["POST"])
def reactivate(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    engine.change_status(context(), atype, image_id, "reactivate",
                         "deactivated", "active")
    return no_content()


@bp.route("/v2/stores/<store_id>/<image_id>", methods=["DELETE"])
def delete_from_store(store_id, image_id):
    """Delete an image's data from one store (v2.10), with Glance's answers
    in Glance's order: multi-store only (a bare 404), a store this node
    has (409), a visible image, the location policies, an active image, not
    its only location (403), a store that holds it (404)."""
    svc = services()
    engine, atype, settings = svc.engine, svc.images, svc.settings
    reject_body()
    if not settings.multi_store:
        raise errors.NotFound("")
    if store_id not in settings.store_ids():
        raise errors.Conflict("The selected store %s is not available on "
                              "this node." % store_id)
    ctx = context()
    try:
        image = engine.authorize(ctx, atype, image_id, "get_location",
                                 "delete_location")
    except errors.NotFound:
        raise errors.NotFound("Failed to find image %s" % image_id)
    if image["status"] != "active":
        raise errors.Conflict("It's not allowed to remove image data from "
                              "store if image status is not 'active'")
    stores = [loc["store"] for b in image["blobs"] if b["field"] == "image"
              and b["status"] == "active" for loc in b["locations"]]
    if len(stores) == 1:
        raise errors.Forbidden("Cannot delete image data from the only "
                               "store containing it. Consider deleting the "
                               "image instead.")
    if store_id not in stores:
        raise errors.NotFound("Image %s is not stored in store %s."
                              % (image_id, store_id))
    engine.data.remove_from_store(ctx, atype, image_id, "image", store_id)
    return no_content()
