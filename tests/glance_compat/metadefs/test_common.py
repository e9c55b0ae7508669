"""glance_compat.metadefs.common: Glance's query forms and the rendering
of namespaces and objects (key order, unset values left out)."""

import datetime

import flask
import pytest

from artifacts import errors
from glance_compat.metadefs import common as c

WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, 678)


def test_query_params_keep_first_position_and_last_value():
    app = flask.Flask("t")
    with app.test_request_context("/?a=1&b=2&a=3"):
        assert list(c.query_params().items()) == [("a", "3"), ("b", "2")]


def test_links_are_encoded_as_glance_encodes_them():
    assert c.link("/p", {}) == "/p"
    assert c.link("/p", {"resource_types": "OS::A,OS::B", "limit": "1"}) \
        == "/p?resource_types=OS%3A%3AA%2COS%3A%3AB&limit=1"


@pytest.mark.parametrize("value, zero_ok, message", [
    ("x", True, "limit param must be an integer"),
    ("-1", True, "limit param must be positive"),
    ("0", False, "limit param must be positive")])
def test_limit_rules(value, zero_ok, message):
    with pytest.raises(errors.Invalid) as info:
        c.parse_limit(value, allow_zero=zero_ok)
    assert info.value.message == message
    assert c.parse_limit("0") == 0


def test_sort_dir_and_visibility():
    assert c.sort_dir({}) == "desc"
    with pytest.raises(errors.Invalid):
        c.sort_dir({"sort_dir": "sideways"})
    with pytest.raises(errors.Invalid) as info:
        c.check_visibility({"visibility": "shared"}, ("public", "private"))
    assert info.value.message == "Invalid visibility value: shared"
    assert c.check_visibility({"visibility": ""}, ("public",)) == ""


def test_namespace_view_order_and_unset_values():
    ns = {"namespace": "n", "display_name": None, "description": "d",
          "visibility": "public", "protected": False, "owner": "o",
          "created_at": WHEN, "updated_at": None}
    out = c.namespace_view(ns, {"tags": [{"name": "t"}], "objects": None})
    assert list(out) == ["namespace", "description", "visibility",
                         "protected", "owner", "created_at", "tags", "self",
                         "schema"]
    assert out["created_at"] == "2026-01-02T03:04:05Z"


def test_object_view_with_prefix_and_without_links():
    obj = {"name": "o", "required": ["a"], "description": None,
           "properties": {"a": {"title": "A", "type": "string"}}}
    out = c.object_view("n", obj, prefix="hw_", links=False)
    assert out == {"name": "o", "required": ["hw_a"], "properties": {
        "hw_a": {"type": "string", "title": "A"}}}
    linked = c.object_view("n", dict(obj, created_at=WHEN))
    assert list(linked)[-2:] == ["self", "schema"]
    assert linked["self"] == "/v2/metadefs/namespaces/n/objects/o"
