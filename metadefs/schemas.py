"""The JSON schemas of metadata definitions: served and enforced.

``schemas/metadefs.json`` holds the building blocks; ``Schemas`` composes
the ten documents Glance serves under ``/v2/schemas/metadefs/`` (in
Glance's layout and key order: ``namespace(s)``, ``object(s)``,
``property``/``properties``, ``tag(s)``, ``resource_type(s)``) and the
validators of request bodies and definition files.  A body that does not
match is ``errors.Invalid`` with Glance's text: "Provided object does not
match schema '<name>': " and jsonschema's description of the first error.

Two of Glance's quirks are kept because clients see them: the
``stringArray`` of the ``property`` document needs at least one item and
the one of the ``namespace`` and ``object`` documents does not; a tag list
request (``POST .../tags``) is checked against a ``tags`` schema of its own
that is not the one served.
"""

import copy
import json
import os

import jsonschema
import jsonschema.exceptions

from artifacts import errors

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "schemas", "metadefs.json")

#: The documents served under /v2/schemas/metadefs/<name>.
NAMES = ("namespace", "namespaces", "object", "objects", "property",
         "properties", "tag", "tags", "resource_type", "resource_types")

_LINKS = [{"rel": "first", "href": "{first}"},
          {"rel": "next", "href": "{next}"},
          {"rel": "describedby", "href": "{schema}"}]


def _item(name, properties, required, definitions=None):
    """Glance's Schema.raw(): name, properties, additionalProperties,
    definitions, required."""
    doc = {"name": name, "properties": properties,
           "additionalProperties": False}
    if definitions:
        doc["definitions"] = definitions
    if required:
        doc["required"] = list(required)
    return doc


def _collection(name, item, as_dict=False):
    """Glance's (Dict)CollectionSchema.raw(): the item without its
    definitions, which move to the top."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    if as_dict:
        container = {"type": "object", "additionalProperties": item}
    else:
        container = {"type": "array", "items": item}
    doc = {"name": name,
           "properties": {name: container, "first": {"type": "string"},
                          "next": {"type": "string"},
                          "schema": {"type": "string"}},
           "links": copy.deepcopy(_LINKS)}
    if definitions:
        doc["definitions"] = definitions
    return doc


def build(blocks):
    """(served documents by name, request validators' schemas by name)."""
    basic = blocks["basic_definitions"]
    fields = blocks["property_fields"]
    with_property = copy.deepcopy(basic)
    with_property["property"] = {
        "type": "object",
        "additionalProperties": {"type": "object",
                                 "required": ["title", "type"],
                                 "properties": copy.deepcopy(fields)}}
    property_basic = copy.deepcopy(basic)
    property_basic["stringArray"] = {
        "type": "array", "items": {"type": "string"}, "minItems": 1,
        "uniqueItems": True}

    namespace = _item("namespace", blocks["namespace"], ["namespace"],
                      with_property)
    obj = _item("object", blocks["object"], ["name"], with_property)
    prop = _item("property", fields, ["type", "title", "name"],
                 property_basic)
    unnamed_prop = _item("property", fields, ["type", "title"],
                         property_basic)
    tag = _item("tag", blocks["tag"], ["name"])
    rta = _item("resource_type_association", blocks["resource_type"],
                ["name"])
    served = {
        "namespace": namespace,
        "namespaces": _collection("namespaces", namespace),
        "object": obj,
        "objects": _collection("objects", obj),
        "property": prop,
        "properties": _collection("properties", unnamed_prop, as_dict=True),
        "tag": tag,
        "tags": _collection("tags", tag),
        "resource_type": rta,
        "resource_types": _collection("resource_type_associations", rta),
    }
    validators = {
        "namespace": namespace, "object": obj, "property": prop,
        # An object's property definitions: the property document without
        # the name (their names are the keys).
        "object_property": unnamed_prop, "tag": tag,
        "tags": _item("tags", blocks["tags_request"], None),
        "resource_type": rta,
    }
    return served, validators


class Schemas:
    """Built once per process; the dicts are shared, treat as read-only."""

    def __init__(self, path=SCHEMA_FILE):
        with open(path, encoding="utf-8") as fh:
            blocks = json.load(fh)
        self.documents, schemas = build(blocks)
        # Glance's jsonschema.validate(): the newest draft.
        self._validators = {
            name: jsonschema.validators.validator_for(doc)(doc)
            for name, doc in schemas.items()}
        self.json = {name: json.dumps(doc).encode("utf-8")
                     for name, doc in self.documents.items()}

    def validate(self, name, body):
        """Raise ``errors.Invalid`` unless ``body`` matches schema
        ``name``; the error named is jsonschema's best match, as in
        Glance's ``jsonschema.validate``."""
        validator = self._validators[name]
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            shown = validator.schema["name"]
            raise errors.Invalid("Provided object does not match schema "
                                 "'%s': %s" % (shown, error))


_SCHEMAS = None


def schemas():
    """The process's ``Schemas`` (built on first use)."""
    global _SCHEMAS
    if _SCHEMAS is None:
        _SCHEMAS = Schemas()
    return _SCHEMAS
