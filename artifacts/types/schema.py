"""JSON Schema (draft 2020-12) of an artifact type, from its declaration.

``type_schema(atype)`` describes an artifact as the Artifact API renders
it: the common fields every artifact has, then each declared field.  It is
served at ``/artifacts/schemas[/<type>]`` and is the source of the request
validators:

``input_validator(atype)`` checks what a client writes -- a create body,
or the writable view of an artifact after a JSON patch was applied to it:
the writable fields only (``readOnly`` ones -- system fields, blobs,
folders, status, dates -- are refused), ``name`` required, nothing
undeclared.

Field kinds map to JSON Schema types; a nullable field also admits
``null``.  Integers are bounded to 64 bits (what the database holds) unless
the field is narrower; strings carry ``maxLength``, ``pattern`` (anchored:
a field's pattern must match the whole value) and ``enum``; lists and dicts
``maxItems`` / ``maxProperties``.  Blobs are read-only objects (size,
checksums, status, url), folders maps of path to such an object, links
uuid strings.  Glare's own annotations (``glareType``, ``mutable``,
``sortable``, ``filter_ops``, ``required_on_activate``) ride along as
unknown keywords, which validators ignore.
"""

import copy

import jsonschema

from artifacts.types.base import SCALAR_KINDS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
VISIBILITIES = ("private", "shared", "community", "public")
SEMVER_PATTERN = (r"^(0|[1-9]\d*)(\.(0|[1-9]\d*))?(\.(0|[1-9]\d*))?"
                  r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
                  r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
UUID_PATTERN = (r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Statuses a blob row can be in while it is shown.
BLOB_STATUSES = ("saving", "active")

_JSON_TYPES = {"string": "string", "integer": "integer",
               "numeric": "number", "boolean": "boolean"}
_GLARE_TYPES = {"string": "String", "integer": "Integer",
                "numeric": "Float", "boolean": "Boolean", "link": "Link",
                "link_list": "LinkList", "blob": "Blob", "folder": "Folder"}


def blob_schema():
    """One stored file, as rendered (read-only)."""
    return {
        "type": "object", "readOnly": True,
        "properties": {
            "size": {"type": ["integer", "null"], "minimum": 0},
            "md5": {"type": ["string", "null"]},
            "sha1": {"type": ["string", "null"]},
            "sha256": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": list(BLOB_STATUSES)},
            "external": {"type": "boolean",
                         "description": "A URL registered as the data; "
                                        "downloads redirect to it."},
            "url": {"type": "string"},
        },
        "required": ["size", "md5", "sha1", "sha256", "status", "external",
                     "url"],
        "additionalProperties": False,
    }


def _anchored(pattern):
    return "^(?:%s)$" % pattern


def _scalar(kind, fdef):
    """Schema of one scalar value (a field, or an item of a list/dict)."""
    schema = {"type": _JSON_TYPES[kind]}
    if kind == "string":
        if fdef.max_length is not None:
            schema["maxLength"] = fdef.max_length
        if fdef.pattern is not None:
            schema["pattern"] = _anchored(fdef.pattern)
    elif kind in ("integer", "numeric"):
        low = fdef.min_value
        high = fdef.max_value
        if kind == "integer":
            low = INT64_MIN if low is None else max(low, INT64_MIN)
            high = INT64_MAX if high is None else min(high, INT64_MAX)
        if low is not None:
            schema["minimum"] = low
        if high is not None:
            schema["maximum"] = high
    if fdef.allowed is not None:
        schema["enum"] = list(fdef.allowed)
    return schema


def _nullable(schema):
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = schema["enum"] + [None]
    return schema


def field_schema(fdef):
    """JSON Schema of one declared field, with Glare's annotations."""
    kind = fdef.kind
    if kind in SCALAR_KINDS:
        schema = _scalar(kind, fdef)
    elif kind == "link":
        schema = {"type": "string", "format": "uuid",
                  "pattern": UUID_PATTERN}
        if fdef.link_type:
            schema["linkType"] = fdef.link_type
    elif kind == "link_list":
        schema = {"type": "array",
                  "items": {"type": "string", "format": "uuid",
                            "pattern": UUID_PATTERN}}
        if fdef.link_type:
            schema["linkType"] = fdef.link_type
    elif kind == "list":
        schema = {"type": "array", "items": _scalar(fdef.item_kind, fdef)}
    elif kind == "dict":
        schema = {"type": "object",
                  "propertyNames": {"minLength": 1, "maxLength": 255},
                  "additionalProperties": _scalar(fdef.item_kind, fdef)}
    elif kind == "blob":
        schema = blob_schema()
    else:                                       # folder
        schema = {"type": "object", "readOnly": True,
                  "propertyNames": {"minLength": 1},
                  "additionalProperties": blob_schema()}
    if fdef.max_items is not None:
        if kind in ("list", "link_list"):
            schema["maxItems"] = fdef.max_items
        elif kind in ("dict", "folder"):
            schema["maxProperties"] = fdef.max_items
    if fdef.max_size is not None:
        schema["maxSize"] = fdef.max_size
    if fdef.nullable or fdef.is_data:
        schema = _nullable(schema)
    if fdef.system:
        schema["readOnly"] = True
    if fdef.default is not None:
        schema["default"] = copy.deepcopy(fdef.default)
    if fdef.description:
        schema["description"] = fdef.description
    schema["glareType"] = _GLARE_TYPES.get(kind, kind.capitalize())
    schema["mutable"] = fdef.mutable
    if fdef.sortable:
        schema["sortable"] = True
    if fdef.required_on_activate:
        schema["required_on_activate"] = True
    if kind in SCALAR_KINDS or kind == "link":
        schema["filter_ops"] = list(fdef.filter_ops)
    return schema


def common_properties(atype):
    """The fields every artifact has, whatever its type."""
    statuses = list(atype.statuses) if atype is not None else None
    status = {"type": "string", "readOnly": True}
    if statuses:
        status["enum"] = statuses
    return {
        "id": {"type": "string", "format": "uuid", "readOnly": True},
        "type_name": {"type": "string", "readOnly": True},
        "name": {"type": "string", "minLength": 1, "maxLength": 255,
                 "sortable": True, "filter_ops": ["eq", "neq", "in"]},
        "version": {"type": "string", "pattern": SEMVER_PATTERN,
                    "maxLength": 255, "default": "0.0.0", "sortable": True,
                    "description": "Semantic version (MAJOR.MINOR.PATCH"
                                   "[-PRERELEASE][+BUILD]); '1.2' is "
                                   "1.2.0."},
        "owner": {"type": ["string", "null"], "maxLength": 255,
                  "description": "Project owning the artifact; only "
                                 "admins may set another project."},
        "visibility": {"type": "string", "enum": list(VISIBILITIES)},
        "status": status,
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1,
                                            "maxLength": 255}},
        "created_at": {"type": "string", "format": "date-time",
                       "readOnly": True, "sortable": True},
        "updated_at": {"type": "string", "format": "date-time",
                       "readOnly": True, "sortable": True},
    }


def _build(atype):
    properties = common_properties(atype)
    for name, fdef in atype.fields.items():
        properties[name] = field_schema(fdef)
    return {
        "$schema": DIALECT,
        "$id": "/artifacts/schemas/%s" % atype.name,
        "title": atype.name,
        "description": atype.description,
        "type": "object",
        "properties": properties,
        "required": ["name"],
        "additionalProperties": bool(atype.extra_properties),
    }


def type_schema(atype):
    """The JSON Schema of ``atype`` (a fresh copy: callers may change it)."""
    return copy.deepcopy(_build(atype))


def writable_schema(atype):
    """What a client may write: the schema without its read-only fields."""
    schema = _build(atype)
    props = {n: s for n, s in schema["properties"].items()
             if not s.get("readOnly")}
    return dict(schema, properties=props)


_VALIDATORS = {}


def input_validator(atype):
    """Validator of what a client writes: a create body, or the writable
    view of an artifact once a JSON patch was applied to it."""
    entry = _VALIDATORS.get(id(atype))
    if entry is None or entry[0] is not atype:
        cls = jsonschema.Draft202012Validator
        entry = (atype, cls(writable_schema(atype),
                            format_checker=cls.FORMAT_CHECKER))
        _VALIDATORS[id(atype)] = entry
    return entry[1]


def describe_error(error):
    """One readable sentence for a jsonschema ValidationError."""
    path = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties" and not path:
        extra = sorted(set(error.instance) -
                       set(error.schema.get("properties", {})))
        return "Unknown or read-only field(s): %s." % ", ".join(
            repr(e) for e in extra)
    if error.validator == "required":
        return "%s." % error.message.replace("property", "field")
    where = "Field '%s'" % path if path else "The document"
    message = error.message
    if len(message) > 300:
        message = message[:300] + "..."
    return "%s: %s." % (where, message)


def validate(validator, document):
    """Raise ``errors.Invalid`` for the first (best) violation, if any."""
    from artifacts import errors
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise errors.Invalid(describe_error(error))
