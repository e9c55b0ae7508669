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

from artifacts import errors

MEDIA_V21 = "application/openstack-images-v2.1-json-patch"
MEDIA_V20 = "application/openstack-images-v2.0-json-patch"
ACCEPT_PATCH = "%s, %s" % (MEDIA_V20, MEDIA_V21)
OPS = ("add", "remove", "replace")

Change = collections.namedtuple("Change", "op name value")

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


def check_attribute(name):
    """403 for attributes no client may set (create and PATCH alike)."""
    if name in READ_ONLY:
        raise forbidden("Attribute '%s' is read-only." % name)
    if name in RESERVED or name.startswith("os_glance"):
        raise forbidden("Attribute '%s' is reserved." % name)


def _decode_pointer(path):
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.Invalid("Pointer `%s` does not start with \"/\"."
                             % path)
    parts = path[1:].split("/")
    if any(p == "" for p in parts):
        raise errors.Invalid("Pointer `%s` contains adjacent \"/\"." % path)
    decoded = []
    for part in parts:
        stripped = part.replace("~0", "").replace("~1", "")
        if "~" in stripped:
            raise errors.Invalid("Pointer `%s` contains \"~\" not part of"
                                 " a recognized escape sequence." % path)
        decoded.append(part.replace("~1", "/").replace("~0", "~").strip())
    return decoded


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
                raise errors.Invalid("Operation objects must contain exactly "
                                     "one member named \"add\", \"remove\", "
                                     "or \"replace\".")
            op = present[0]
            path = raw[op]
        parts = _decode_pointer(path)
        if op in ("add", "replace") and "value" not in raw:
            raise errors.Invalid('Operation "%s" requires a member named '
                                 '"value".' % op)
        if len(parts) != 1:
            raise errors.Invalid("Invalid JSON pointer for this resource: "
                                 "'/%s'" % "/".join(parts))
        changes.append(Change(op, parts[0], raw.get("value")))
    return changes


def apply(artifact, changes, media_type, schemas, settings):
    """Apply ``changes`` in order to ``artifact`` (in place)."""
    props = artifact["properties"]
    for change in changes:
        name, value = change.name, change.value
        check_attribute(name)
        if name == "locations":
            raise forbidden("It's not allowed to %s locations if locations "
                            "are invisible." % ("remove" if change.op ==
                                                "remove" else "add")
                            if not settings.show_multiple_locations else
                            "Location changes are not supported yet.")
        if change.op == "remove":
            if name in BASE:
                raise forbidden("Property %s may not be removed." % name)
            if name not in props:
                raise conflict("Property %s does not exist." % name)
            del props[name]
            continue
        schemas.validate_image({name: value})
        if name in BASE:
            _set_base(artifact, name, value)
            continue
        if len(name) > 255:
            raise errors.Invalid("Custom property should not be greater "
                                 "than 255 characters.")
        if change.op == "replace" and name not in props:
            raise conflict("Property %s does not exist." % name)
        if change.op == "add" and media_type == MEDIA_V20 and name in props:
            raise conflict("Property %s already present." % name)
        props[name] = value


def _set_base(artifact, name, value):
    if name == "tags":
        artifact["tags"] = set(value)
        return
    if name in ("disk_format", "container_format") and \
            artifact["status"] not in ("queued", "importing") and \
            artifact["properties"].get(name) != value:
        raise forbidden("Attribute %s can be only replaced for a queued "
                        "image." % name)
    check_int_attribute(name, value)
    if name == "owner" and value == "":
        value = None
    if name in ROW_ATTRS:
        artifact[ROW_ATTRS[name]] = value
    else:
        artifact["properties"][name] = value
