"""metadefs.documents: property definitions kept as Glance's model keeps
them, and refused (400, saying what is wrong) where Glance fails."""

import pytest

from artifacts import errors
from metadefs import documents as docs


def normal(doc):
    return docs.property_type(doc, "property 'p'")


@pytest.mark.parametrize("default, shown", [
    (3, "3"), (1.5, "1.5"), (True, "True"), (False, "False"), ("x", "x"),
    ("café", "café"), (None, None)])
def test_default_becomes_a_string(default, shown):
    assert normal({"type": "string", "title": "T",
                   "default": default})["default"] == shown


def test_attributes_in_glance_order():
    out = normal({"enum": ["a"], "title": "T", "default": "a",
                  "type": "string", "name": "p", "readonly": True})
    assert list(out) == ["name", "type", "title", "default", "readonly",
                         "enum"]


def test_fractions_kept_whole_numbers_as_integers():
    out = normal({"type": "number", "title": "T", "minimum": 1.5,
                  "maximum": 2.0})
    assert out["minimum"] == 1.5 and out["maximum"] == 2
    assert isinstance(out["maximum"], int)


@pytest.mark.parametrize("doc, words", [
    ({"type": "string", "title": "T", "foo": 1}, "unknown attributes: foo"),
    ({"type": "string"}, "needs 'title'"),
    ({"type": "integer", "title": "T", "enum": [1]}, "list of strings"),
    ({"type": "array", "title": "T", "default": ["a"]},
     "a string, a number or a boolean"),
    ({"type": "array", "title": "T", "items": {"type": "string", "x": 1}},
     "unknown attributes: x"),
    ({"type": "array", "title": "T", "items": {"enum": ["a"]}},
     "needs 'type'"),
    ({"type": "string", "title": "T", "readonly": "maybe"}, "a boolean"),
    ("string", "must be a JSON object"),
])
def test_refused_with_a_reason(doc, words):
    with pytest.raises(errors.Invalid) as info:
        normal(doc)
    assert words in info.value.message
    assert info.value.message.startswith("property 'p'")


def test_booleans_as_wsme_reads_them():
    assert normal({"type": "string", "title": "T",
                   "confidential": "yes"})["confidential"] is True
    assert normal({"type": "string", "title": "T",
                   "readonly": 0})["readonly"] is False


def test_render_puts_the_row_name_first_and_keeps_what_cannot_convert():
    stored = {"title": "T", "type": "string", "name": "old",
              "default": [1], "enum": ["a"]}
    out = docs.render_property(stored, name="p")
    assert list(out) == ["name", "type", "title", "default", "enum"]
    assert out["name"] == "p" and out["default"] == [1]
    assert docs.render_property("broken", name="p") == {"name": "p"}


def test_properties_map_names_each_definition():
    with pytest.raises(errors.Invalid) as info:
        docs.properties_map({"good": {"type": "string", "title": "T"},
                             "bad": {"type": "string"}}, "property")
    assert "'bad'" in info.value.message


def test_names_and_sizes():
    assert docs.check_name("x" * 80, "tag") == "x" * 80
    with pytest.raises(errors.Invalid):
        docs.check_name("x" * 81, "tag")
    with pytest.raises(errors.Invalid):
        docs.check_name(5, "tag")
    with pytest.raises(errors.Invalid) as info:
        docs.dump({"description": "x" * docs.MAX_DOCUMENT_BYTES}, "object")
    assert "at most 65535" in info.value.message
    assert docs.load("not json") == {} and docs.load(None) == {}
