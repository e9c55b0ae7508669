"""What a metadata definition holds, normalised the way Glance stores it.

Glance parses property definitions into its ``PropertyType`` model and
stores the model's JSON, so what comes back is not always what was sent:
attributes come out in the model's order, a ``default`` becomes a string
(``3`` → ``"3"``, ``true`` → ``"True"``), unknown attributes are refused.
``property_type`` does the same, once, for the API and the loader, and
``render_property`` applies it to what the database holds (files loaded by
``glare db load-metadefs`` are stored as written, as Glance stores them).

Where Glance's model fails with a 500 or silently loses data, a definition
is refused with ``errors.Invalid`` saying what is wrong instead, or kept:

* non-string ``enum`` items (Glance: 500) and an array or object
  ``default`` (Glance: stored as null) are refused;
* an unknown attribute inside a namespace's or an object's property
  (Glance: 500) is refused;
* ``minimum``/``maximum`` keep fractions (Glance truncates 1.5 to 1);
* a non-ASCII ``default`` is kept (Glance: 500).

Sizes: a stored JSON document (a property, an object's properties) and an
object's description are at most ``MAX_DOCUMENT_BYTES``; names at most 80
characters (Glance leaves some unchecked and MySQL then answers 500).
"""

import json

from artifacts import errors

MAX_NAME = 80
#: The width of a TEXT column on MySQL/MariaDB.
MAX_DOCUMENT_BYTES = 65535

_TEXT, _TEXTS, _DEFAULT, _BOOL, _NUMBER, _INT, _ITEMS = range(7)

#: PropertyType's attributes, in the order Glance renders them.
PROPERTY_FIELDS = (
    ("name", _TEXT), ("type", _TEXT), ("title", _TEXT),
    ("description", _TEXT), ("operators", _TEXTS), ("default", _DEFAULT),
    ("readonly", _BOOL), ("minimum", _NUMBER), ("maximum", _NUMBER),
    ("enum", _TEXTS), ("pattern", _TEXT), ("minLength", _INT),
    ("maxLength", _INT), ("confidential", _BOOL), ("items", _ITEMS),
    ("uniqueItems", _BOOL), ("minItems", _INT), ("maxItems", _INT),
    ("additionalItems", _BOOL))
_KINDS = dict(PROPERTY_FIELDS)
_MANDATORY = ("type", "title")

# WSME's unambiguous boolean strings (Glance accepts them where its JSON
# schema does not say "boolean", e.g. ``confidential``).
_TRUE = ("true", "t", "yes", "y", "on", "1")
_FALSE = ("false", "f", "no", "n", "off", "0")


def property_type(doc, where):
    """``doc`` as Glance's model keeps it; ``where`` names it in errors
    (e.g. ``"property 'hw_rng'"``)."""
    if not isinstance(doc, dict):
        raise errors.Invalid("%s must be a JSON object." % where)
    unknown = sorted(set(doc) - set(_KINDS))
    if unknown:
        raise errors.Invalid("%s has unknown attributes: %s."
                             % (where, ", ".join(unknown)))
    for name in _MANDATORY:
        if name not in doc:
            raise errors.Invalid("%s needs '%s'." % (where, name))
    out = {}
    for name, kind in PROPERTY_FIELDS:
        if name in doc:
            out[name] = _convert(kind, doc[name], "%s: '%s'" % (where, name))
    return out


def render_property(doc, name=None):
    """A stored property definition as Glance renders it; ``name`` (the
    row's) comes first when given.  Whatever the database holds renders:
    a value that cannot be converted is shown as stored."""
    out = {}
    if name is not None:
        out["name"] = name
    if not isinstance(doc, dict):
        return out
    for key, kind in PROPERTY_FIELDS:
        if key == "name" and name is not None:
            continue
        if key in doc:
            try:
                out[key] = _convert(kind, doc[key], key)
            except errors.Invalid:
                out[key] = doc[key]
    return out


def _convert(kind, value, where):
    if value is None:
        return None
    if kind == _TEXT:
        if not isinstance(value, str):
            raise errors.Invalid("%s must be a string." % where)
        return value
    if kind == _TEXTS:
        if not isinstance(value, list) or not all(
                v is None or isinstance(v, str) for v in value):
            raise errors.Invalid("%s must be a list of strings." % where)
        return list(value)
    if kind == _DEFAULT:
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise errors.Invalid("%s must be a string, a number or a boolean."
                             % where)
    if kind == _BOOL:
        if isinstance(value, (bool, int)):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise errors.Invalid("%s must be a boolean." % where)
    if kind == _NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.Invalid("%s must be a number." % where)
        return int(value) if float(value).is_integer() else value
    if kind == _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.Invalid("%s must be an integer." % where)
        return value
    # _ITEMS: {"type": ..., "enum": [...]}
    if not isinstance(value, dict):
        raise errors.Invalid("%s must be a JSON object." % where)
    unknown = sorted(set(value) - {"type", "enum"})
    if unknown:
        raise errors.Invalid("%s has unknown attributes: %s."
                             % (where, ", ".join(unknown)))
    if "type" not in value:
        raise errors.Invalid("%s needs 'type'." % where)
    out = {"type": _convert(_TEXT, value["type"], where + ".type")}
    if "enum" in value:
        out["enum"] = _convert(_TEXTS, value["enum"], where + ".enum")
    return out


def properties_map(doc, where):
    """``{name: property definition}`` (a namespace's or an object's),
    each normalised."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise errors.Invalid("%s must be a JSON object." % where)
    return {name: property_type(value, "%s '%s'" % (where, name))
            for name, value in doc.items()}


def check_name(value, what):
    """A name the database keeps whole: a string of at most 80
    characters."""
    if not isinstance(value, str):
        raise errors.Invalid("The %s name must be a string." % what)
    if len(value) > MAX_NAME:
        raise errors.Invalid("The %s name %r is longer than %d characters."
                             % (what, value[:MAX_NAME] + "...", MAX_NAME))
    return value


def check_optional_text(value, what, limit=MAX_NAME):
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.Invalid("%s must be a string." % what)
    if len(value) > limit:
        raise errors.Invalid("%s is longer than %d characters."
                             % (what, limit))
    return value


def dump(doc, what):
    """``doc`` as the JSON text stored in a ``json_schema`` column."""
    text = json.dumps(doc)
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise errors.Invalid("%s takes %d bytes as JSON; at most %d are "
                             "allowed." % (what, size, MAX_DOCUMENT_BYTES))
    return text


def check_text_size(value, what):
    if value is not None and len(value.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise errors.Invalid("%s is longer than %d bytes."
                             % (what, MAX_DOCUMENT_BYTES))
    return value


def load(text):
    """A stored JSON document; a broken one reads as empty."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}
