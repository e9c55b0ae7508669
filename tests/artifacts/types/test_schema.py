"""artifacts.types.schema: JSON Schema from type declarations."""

import jsonschema
import pytest

from artifacts import errors, types
from artifacts.types import schema
from artifacts.types.base import Field, artifact_type

KINDS = artifact_type("schema_test_kinds", {
    "s": Field("string", max_length=5, pattern="[a-z]+", sortable=True,
               description="A string"),
    "choice": Field("string", allowed=("a", "b"), nullable=False,
                    default="a"),
    "i": Field("integer", min_value=1, max_value=10,
               filter_ops=("eq", "gt")),
    "big": Field("integer"),
    "n": Field("numeric", min_value=0),
    "flag": Field("boolean"),
    "items": Field("list", max_items=2, item_kind="integer"),
    "map": Field("dict", max_items=2),
    "ref": Field("link", link_type="files"),
    "refs": Field("link_list", max_items=3),
    "sys": Field("string", system=True),
    "blob": Field("blob", max_size=100, required_on_activate=True,
                  mutable=False),
    "dir": Field("folder", max_items=4),
})


def props(atype=KINDS):
    return schema.type_schema(atype)["properties"]


def test_every_builtin_type_has_a_valid_schema():
    for atype in types.all_types().values():
        jsonschema.Draft202012Validator.check_schema(
            schema.type_schema(atype))


def test_common_fields():
    p = props()
    for name in ("id", "type_name", "name", "version", "owner",
                 "visibility", "status", "tags", "created_at",
                 "updated_at"):
        assert name in p
    for name in ("id", "type_name", "status", "created_at", "updated_at"):
        assert p[name]["readOnly"] is True
    assert p["status"]["enum"] == list(KINDS.statuses)
    assert p["name"]["maxLength"] == 255
    assert schema.type_schema(KINDS)["required"] == ["name"]


def test_scalar_kinds():
    p = props()
    assert p["s"]["type"] == ["string", "null"]
    assert p["s"]["maxLength"] == 5 and p["s"]["pattern"] == "^(?:[a-z]+)$"
    assert p["s"]["sortable"] is True and p["s"]["description"] == \
        "A string"
    assert p["choice"]["type"] == "string"
    assert p["choice"]["enum"] == ["a", "b"] and p["choice"]["default"] == \
        "a"
    assert (p["i"]["minimum"], p["i"]["maximum"]) == (1, 10)
    assert p["i"]["filter_ops"] == ["eq", "gt"]
    assert (p["big"]["minimum"], p["big"]["maximum"]) == (
        -(2 ** 63), 2 ** 63 - 1)
    assert p["n"]["type"] == ["number", "null"] and p["n"]["minimum"] == 0
    assert p["flag"]["type"] == ["boolean", "null"]


def test_container_and_data_kinds():
    p = props()
    assert p["items"]["maxItems"] == 2
    assert p["items"]["items"]["type"] == "integer"
    assert p["map"]["maxProperties"] == 2
    assert p["map"]["additionalProperties"]["type"] == "string"
    assert p["ref"]["format"] == "uuid" and p["ref"]["linkType"] == "files"
    assert p["refs"]["items"]["format"] == "uuid"
    assert p["sys"]["readOnly"] is True
    blob = p["blob"]
    assert blob["readOnly"] is True and blob["glareType"] == "Blob"
    assert set(blob["properties"]) == {"size", "md5", "sha1", "sha256",
                                       "external", "status", "url"}
    assert blob["required_on_activate"] is True and blob["mutable"] is False
    folder = p["dir"]
    assert folder["readOnly"] is True and folder["maxProperties"] == 4
    assert folder["additionalProperties"]["properties"]["sha256"]


@pytest.mark.parametrize("doc", [
    {"name": "x"},
    {"name": "x", "s": "abc", "i": 3, "n": 1.5, "flag": True,
     "items": [1, 2], "map": {"k": "v"}, "refs": [
         "8a5c1a84-4f0b-4f4e-9c47-1d2a1f3a8b7e"], "version": "1.2.3-rc.1",
     "tags": ["t"], "visibility": "public", "choice": "b"},
])
def test_input_validator_accepts(doc):
    schema.validate(schema.input_validator(KINDS), doc)


@pytest.mark.parametrize("doc, words", [
    ({}, "name"),
    ({"name": "x", "s": "ABC"}, "'s'"),
    ({"name": "x", "s": "abcdef"}, "'s'"),
    ({"name": "x", "i": 11}, "'i'"),
    ({"name": "x", "big": 2 ** 63}, "'big'"),
    ({"name": "x", "items": [1, 2, 3]}, "'items'"),
    ({"name": "x", "items": ["1"]}, "items/0"),
    ({"name": "x", "map": {"a": 1}}, "map/a"),
    ({"name": "x", "ref": "nope"}, "'ref'"),
    ({"name": "x", "choice": None}, "'choice'"),
    ({"name": "x", "sys": "x"}, "sys"),
    ({"name": "x", "blob": None}, "blob"),
    ({"name": "x", "version": "v1"}, "version"),
    ({"name": "x", "undeclared": 1}, "undeclared"),
])
def test_input_validator_refuses(doc, words):
    with pytest.raises(errors.Invalid) as exc:
        schema.validate(schema.input_validator(KINDS), doc)
    assert words in exc.value.message


def test_validators_are_cached_per_declaration():
    first = schema.input_validator(KINDS)
    assert schema.input_validator(KINDS) is first
    other = artifact_type("schema_test_kinds", {"s": Field("integer")})
    assert schema.input_validator(other) is not first
