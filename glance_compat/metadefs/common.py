"""What the metadata definition views share: parsing Glance's request
forms and rendering Glance's response forms.

Rendering follows Glance's models: keys in the model's order, a value that
is not set (None) left out, times as ``2026-01-01T00:00:00Z``.  Request
bodies go through the served JSON schemas first (``metadefs.schemas``),
after the read-only attributes are refused with Glance's 403.
"""

import json
import urllib.parse

import flask

from artifacts import errors
from glance_compat import common
from glance_compat.serialize import timestamp
from metadefs import documents as docs
from metadefs.schemas import schemas

NAMESPACES = "/v2/metadefs/namespaces"
SCHEMA_LINKS = {"namespace": "/v2/schemas/metadefs/namespace",
                "object": "/v2/schemas/metadefs/object"}

#: Keys Glance's deserializers refuse in a body, per resource.
READ_ONLY = {"namespace": ("self", "schema", "created_at", "updated_at"),
             "object": ("self", "schema", "created_at", "updated_at"),
             "property": ("created_at", "updated_at"),
             "tag": ("created_at", "updated_at"),
             "tags": ("created_at", "updated_at"),
             "resource_type": ("created_at", "updated_at")}


def catalog():
    """The app's ``metadefs.service.Catalog``."""
    return common.services().metadefs


def context():
    return common.context()


# ------------------------------------------------------------------ requests


def body(kind, schema=None):
    """The JSON body, read-only keys refused (403) and checked against the
    schema ``schema`` (default ``kind``)."""
    data = common.json_body()
    for key in READ_ONLY[kind]:
        # Glance's test is ``key in body``: a list body is searched too.
        if key in data:
            raise errors.Forbidden("Attribute '%s' is read-only." % key)
    schemas().validate(schema or kind, data)
    if not isinstance(data, dict):
        # Glance's schemas do not say "object", so a JSON list passes
        # them (and Glance then answers 500).
        raise errors.Invalid("Provided object does not match schema '%s': "
                             "the body must be a JSON object."
                             % schemas().documents.get(kind, {}).get(
                                 "name", kind))
    return data


def query_params():
    """The query as Glance's ``dict(request.params)``: keys in their first
    position, each with its last value."""
    out = {}
    for key, value in flask.request.args.items(multi=True):
        out[key] = value
    return out


def sort_dir(params):
    value = params.pop("sort_dir", "desc")
    if value not in ("asc", "desc"):
        raise errors.Invalid("Invalid sort direction: %s" % value)
    return value


def check_visibility(params, allowed):
    value = params.get("visibility")
    if value and value not in allowed:
        raise errors.Invalid("Invalid visibility value: %s" % value)
    return value


def parse_limit(value, allow_zero=True):
    """Glance's limit rules: an integer, not negative (objects: not 0)."""
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise errors.Invalid("limit param must be an integer") from None
    if limit < 0 or (limit == 0 and not allow_zero):
        raise errors.Invalid("limit param must be positive")
    return limit


def link(path, params):
    query = urllib.parse.urlencode(params)
    return "%s?%s" % (path, query) if query else path


# ----------------------------------------------------------------- responses


def render(doc, status=200, headers=None):
    return common.json_response(
        json.dumps(doc, ensure_ascii=False).encode("utf-8"), status=status,
        headers=headers)


def location(href):
    """Glance's Location: the href made absolute on the request's host."""
    return {"Location": flask.request.host_url.rstrip("/") + href}


def _put(out, key, value):
    if value is not None:
        out[key] = timestamp(value) if key in ("created_at", "updated_at") \
            else value


def namespace_href(name):
    return "%s/%s" % (NAMESPACES, name)


def object_href(namespace, name):
    return "%s/%s/objects/%s" % (NAMESPACES, namespace, name)


def association_view(row):
    out = {}
    for key in ("name", "prefix", "properties_target", "created_at",
                "updated_at"):
        _put(out, key, row.get(key))
    return out


def tag_view(tag):
    out = {"name": tag["name"]}
    for key in ("created_at", "updated_at"):
        _put(out, key, tag.get(key))
    return out


def properties_view(stored, prefix=""):
    """{name: definition} as Glance renders a namespace's properties."""
    return {prefix + name: docs.render_property(doc)
            for name, doc in stored.items()}


def object_view(namespace, obj, prefix="", links=True):
    """An object; ``links=False`` for the echo of a create body (Glance
    shows only what was sent there)."""
    out = {"name": obj["name"]}
    required = obj.get("required")
    if required is not None:
        out["required"] = [prefix + r for r in required]
    _put(out, "description", obj.get("description"))
    if obj.get("properties") is not None:
        out["properties"] = properties_view(obj["properties"], prefix)
    for key in ("created_at", "updated_at"):
        _put(out, key, obj.get(key))
    if links:
        out["self"] = object_href(namespace, obj["name"])
        out["schema"] = SCHEMA_LINKS["object"]
    return out


def namespace_view(ns, contents=None):
    """A namespace; ``contents`` maps resource_type_associations,
    properties, objects and tags to what is shown of each."""
    out = {}
    for key in ("namespace", "display_name", "description", "visibility",
                "protected", "owner", "created_at", "updated_at"):
        _put(out, key, ns.get(key))
    contents = contents or {}
    for key in ("resource_type_associations", "properties", "objects",
                "tags"):
        if contents.get(key) is not None:
            out[key] = contents[key]
    out["self"] = namespace_href(ns["namespace"])
    out["schema"] = SCHEMA_LINKS["namespace"]
    return out
