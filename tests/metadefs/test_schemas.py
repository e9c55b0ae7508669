"""metadefs.schemas: the ten documents in Glance's layout and the request
validators with Glance's message."""

import pytest

from artifacts import errors
from metadefs.schemas import NAMES, schemas


def test_every_document_is_served_and_valid_json_schema():
    import jsonschema
    docs = schemas().documents
    assert sorted(docs) == sorted(NAMES)
    for name, doc in docs.items():
        jsonschema.validators.validator_for(doc).check_schema(doc)
        assert list(doc)[:2] == ["name", "properties"], name


def test_collections_move_definitions_to_the_top():
    docs = schemas().documents
    assert list(docs["namespaces"]) == ["name", "properties", "links",
                                        "definitions"]
    item = docs["namespaces"]["properties"]["namespaces"]["items"]
    assert "definitions" not in item
    props = docs["properties"]["properties"]["properties"]
    assert props["additionalProperties"]["required"] == ["type", "title"]


def test_string_arrays_differ_as_in_glance():
    docs = schemas().documents
    assert docs["property"]["definitions"]["stringArray"]["minItems"] == 1
    assert "minItems" not in docs["object"]["definitions"]["stringArray"]


@pytest.mark.parametrize("name, body", [
    ("namespace", {"namespace": "n", "visibility": "shared"}),
    ("namespace", {"namespace": "n", "extra": 1}),
    ("property", {"type": "string", "title": "T"}),
    ("object_property", {"type": "string", "title": "T", "x": 1}),
    ("tag", {"name": "t" * 81}),
    ("tags", {"tags": [{"name": "a", "x": 1}]}),
    ("resource_type", {"prefix": "p"}),
])
def test_refused_bodies_name_the_schema(name, body):
    with pytest.raises(errors.Invalid) as info:
        schemas().validate(name, body)
    shown = schemas()._validators[name].schema["name"]
    assert info.value.message.startswith(
        "Provided object does not match schema '%s': " % shown)


def test_accepted_bodies():
    schemas().validate("namespace", {"namespace": "n", "properties": {
        "p": {"type": "string", "title": "T", "required": []}}})
    schemas().validate("property", {"name": "p", "type": "string",
                                    "title": "T"})
    schemas().validate("tags", {})
