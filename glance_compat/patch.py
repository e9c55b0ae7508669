"""PATCH /v2/images/{id}: Glance's two JSON-patch dialects.

``application/openstack-images-v2.1-json-patch`` is RFC 6902 style
(``{"op": "replace", "path": "/name", "value": ...}``) where ``add`` is an
upsert; ``application/openstack-images-v2.0-json-patch`` is the old draft
(``{"replace": "/name", "value": ...}``) where ``add`` of something present
is a conflict.  ``parse`` turns either into ``Change`` tuples, ``apply``
applies them in order to an artifact dict (the engine saves it once, so a
failing operation leaves nothing half-applied).
"""

import collections
import re

from artifacts import errors
from glance_compat import property_protections
from glance_compat.locations import LocationOps

MEDIA_V21 = "application/openstack-images-v2.1-json-patch"
MEDIA_V20 = "application/openstack-images-v2.0-json-patch"
ACCEPT_PATCH = "%s, %s" % (MEDIA_V20, MEDIA_V21)
OPS = ("add", "remove", "replace")

# ``index``: the second pointer segment of /locations/<n> (else None).
Change = collections.namedtuple("Change", "op name value index",
                                defaults=(None,))

READ_ONLY = {"created_at", "updated_at", "status", "checksum", "size",
             "virtual_size", "direct_url", "self", "file", "schema", "id",
             "os_hash_algo", "os_hash_value", "stores"}
RESERVED = {"location", "deleted", "deleted_at"}
# Base attributes that live in the artifact row rather than properties.
ROW_ATTRS = {"name": "name", "visibility": "visibility",
             "protected": "protected", "os_hidden": "hidden",
             "owner": "owner"}
PROPERTY_ATTRS = {"min_ram", "min_disk", "disk_format", "container_format"}
BASE = set(ROW_ATTRS) | PROPERTY_ATTRS | {"tags", "locations"} | READ_ONLY
# Pointer depth per operation where it is not 1 (/locations/<index>).
PATH_DEPTH = {"locations": {"add": 2, "remove": 2, "replace": 1}}


# The largest integer the database stores (properties are BIGINT columns).
MAX_INT = 2 ** 63 - 1


def check_int_attribute(name, value):
    """400 for a min_ram/min_disk the database cannot (or must not) hold."""
    if name not in ("min_ram", "min_disk") or not isinstance(value, int):
        return
    if value < 0:
        raise errors.Invalid("Invalid value '%s' for parameter '%s': Cannot "
                             "be a negative value" % (value, name))
    if value > MAX_INT:
        raise errors.Invalid("Invalid value '%s' for parameter '%s': Must "
                             "not be greater than %d" % (value, name,
                                                         MAX_INT))


def forbidden(message):
    exc = errors.Forbidden(message)
    exc.detail_form = True
    return exc


def conflict(message):
    exc = errors.Conflict(message)
    exc.detail_form = True
    return exc


def check_attribute(name, reserved_as_detail=True):
    """403 for attributes no client may set (create and PATCH alike).

    Glance words both cases alike everywhere but renders them differently:
    read-only always as the explanation; reserved as a detail at create
    (its request deserializer passes the text positionally) and as the
    explanation in PATCH (``reserved_as_detail=False``).
    """
    if name in READ_ONLY:
        raise errors.Forbidden("Attribute '%s' is read-only." % name)
    if name in RESERVED or name.startswith("os_glance"):
        message = "Attribute '%s' is reserved." % name
        raise forbidden(message) if reserved_as_detail \
            else errors.Forbidden(message)


def _decode_pointer(path):
    """The pointer's segments, with Glance's checks and messages."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.Invalid("Pointer `%s` does not start with \"/\"."
                             % path)
    if re.search(r"/\s*/", path[1:]):
        raise errors.Invalid("Pointer `%s` contains adjacent \"/\"." % path)
    if len(path) > 1 and path.endswith("/"):
        raise errors.Invalid("Pointer `%s` end with \"/\"." % path)
    if re.search("~[^01]", path) or path.endswith("~"):
        raise errors.Invalid("Pointer `%s` contains \"~\" not part of"
                             " a recognized escape sequence." % path)
    return [part.replace("~1", "/").replace("~0", "~").strip()
            for part in path.lstrip("/").split("/")]


def parse(body, media_type):
    if not isinstance(body, list):
        raise errors.Invalid("Request body must be a JSON array of "
                             "operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise errors.Invalid("Operations must be JSON objects.")
        if media_type == MEDIA_V21:
            op = raw.get("op")
            if op is None:
                raise errors.Invalid("Unable to find `op` in JSON Schema "
                                     "change. It must be one of the "
                                     "following: add, remove, replace.")
            if op not in OPS:
                raise errors.Invalid("Invalid operation: `%s`. It must be "
                                     "one of the following: add, remove, "
                                     "replace." % op)
            if "path" not in raw:
                raise errors.Invalid("Unable to find '%s' in JSON Schema "
                                     "change" % "path")
            path = raw["path"]
        else:
            present = [o for o in OPS if o in raw]
            if len(present) != 1:
                raise errors.Invalid("Operation objects must contain %s "
                                     "member named \"add\", \"remove\", "
                                     "or \"replace\"." % (
                                         "only one" if present
                                         else "exactly one"))
            op = present[0]
            path = raw[op]
        parts = _decode_pointer(path)
        if len(parts) != PATH_DEPTH.get(parts[0], {}).get(op, 1):
            raise errors.Invalid("Invalid JSON pointer for this resource: "
                                 "'/%s'" % "/".join(parts))
        if op in ("add", "replace") and "value" not in raw:
            raise errors.Invalid('Operation "%s" requires a member named '
                                 '"value".' % op)
        changes.append(Change(op, parts[0], raw.get("value"),
                              parts[1] if len(parts) > 1 else None))
    return changes


def apply(artifact, changes, media_type, schemas, settings, locations=None,
          enforce=None, guard=None):
    """Apply ``changes`` in order to ``artifact`` (in place); returns the
    ``LocationEdit`` of the location operations (None if there are none).

    ``locations``: the ``glance_compat.locations.LocationOps`` that takes
    them (default: one that accepts no URL); ``enforce(rule)``: the
    policy check of each change (``update`` for attributes, the location
    rules for locations) when the caller did not check ``update`` before;
    ``guard``: the caller's property protections
    (``property_protections.Guard``): an extra property it may not read
    does not exist for it, and each add/replace/remove needs the
    create/update/delete permission, as in Glance.
    """
    props = artifact["properties"]
    if locations is None:
        locations = LocationOps(settings)
    if guard is None:
        guard = property_protections.Guard(None, None, None)
    modify_checked = enforce is None
    for change in changes:
        name, value = change.name, change.value
        check_attribute(name, reserved_as_detail=False)
        if name == "locations":
            if change.op != "remove":
                schemas.validate_image({name: [value] if change.index
                                        is not None else value})
            if change.op == "replace" and not value:
                raise forbidden("Cannot set locations to empty list.")
            locations.apply(artifact, change.op, value, change.index)
            continue
        if not modify_checked:
            enforce("update")
            modify_checked = True
        # An extra property is there for this caller if it may read it.
        present = name in props and name not in BASE and guard.can(name,
                                                                    "read")
        if change.op == "remove":
            if name in BASE:
                raise forbidden("Property %s may not be removed." % name)
            if not present:
                raise conflict("Property %s does not exist." % name)
            if not guard.can(name, "delete"):
                raise property_protections.reserved(name)
            del props[name]
            continue
        schemas.validate_image({name: value})
        # The v2.0 dialect's add never replaces: base attributes always
        # exist, extra properties when set.
        if change.op == "add" and media_type == MEDIA_V20 and (
                name in BASE or present):
            raise conflict("Property %s already present." % name)
        if name in BASE:
            _set_base(artifact, name, value)
            continue
        if len(name) > 255:
            raise errors.Invalid("Custom property should not be greater "
                                 "than 255 characters.")
        if change.op == "replace" and not present:
            raise conflict("Property %s does not exist." % name)
        if not guard.can(name, "update" if present else "create"):
            raise property_protections.reserved(name)
        props[name] = value
    return locations.edit()


def _set_base(artifact, name, value):
    if name == "tags":
        artifact["tags"] = set(value)
        return
    # Glance refuses even a replace with the value the image already has.
    if name in ("disk_format", "container_format") and \
            artifact["status"] not in ("queued", "importing"):
        raise errors.Forbidden("Attribute %s can be only replaced for a "
                               "queued image." % name)
    check_int_attribute(name, value)
    if name == "owner" and value == "":
        value = None
    if name in ROW_ATTRS:
        artifact[ROW_ATTRS[name]] = value
    else:
        artifact["properties"][name] = value
