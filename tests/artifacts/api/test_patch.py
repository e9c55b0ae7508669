"""artifacts.api.patch: RFC 6902 add/remove/replace on artifacts, through
PATCH /artifacts/{type}/{id}."""

import uuid

import pytest

from tests.artifacts.api.conftest import KINDS_NAME


@pytest.fixture
def art(api):
    return api.create(KINDS_NAME, name="p-%s" % uuid.uuid4().hex[:8],
                      labels=["a", "b"], options={"k": "v"}, count=1,
                      tags=["x"])


def patch(api, art, *ops, status=200):
    resp = api.patch("/artifacts/%s/%s" % (KINDS_NAME, art["id"]),
                     list(ops))
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.json if status == 200 else resp.json["error"]["message"]


def op(kind, path, *value):
    out = {"op": kind, "path": path}
    if value:
        out["value"] = value[0]
    return out


def test_top_level_fields(api, art):
    done = patch(api, art, op("replace", "/name", "renamed"),
                 op("add", "/version", "2.1"),
                 op("replace", "/visibility", "shared"))
    assert (done["name"], done["version"], done["visibility"]) == (
        "renamed", "2.1.0", "shared")
    assert patch(api, art)["name"] == "renamed"          # empty patch


def test_tags(api, art):
    assert patch(api, art, op("add", "/tags/-", "y"))["tags"] == ["x", "y"]
    assert patch(api, art, op("remove", "/tags/0"))["tags"] == ["y"]
    assert patch(api, art, op("replace", "/tags", ["b", "a", "a"]))[
        "tags"] == ["a", "b"]
    assert patch(api, art, op("remove", "/tags"))["tags"] == []


def test_declared_fields(api, art):
    done = patch(api, art, op("replace", "/count", 5),
                 op("add", "/title", "t"), op("remove", "/options"),
                 op("add", "/enabled", False))
    assert (done["count"], done["title"], done["options"],
            done["enabled"]) == (5, "t", None, False)
    assert patch(api, art, op("remove", "/title"))["title"] is None


def test_list_item_operations(api, art):
    assert patch(api, art, op("add", "/labels/1", "m"))["labels"] == [
        "a", "m", "b"]
    assert patch(api, art, op("replace", "/labels/2", "n"))["labels"] == [
        "a", "m", "n"]
    assert patch(api, art, op("remove", "/labels/0"))["labels"] == [
        "m", "n"]
    assert patch(api, art, op("add", "/numbers/-", 4))["numbers"] == [4]
    # Over max_items.
    assert "labels" in patch(api, art, op("add", "/labels/-", "o"),
                             op("add", "/labels/-", "p"), status=400)


def test_dict_items(api, art):
    assert patch(api, art, op("add", "/options/a~1b", "1"))["options"] == {
        "k": "v", "a/b": "1"}
    assert patch(api, art, op("replace", "/options/k", "w"))["options"] == {
        "k": "w", "a/b": "1"}
    assert patch(api, art, op("remove", "/options/k"))["options"] == {
        "a/b": "1"}


def test_operations_apply_in_order_and_atomically(api, art):
    message = patch(api, art, op("replace", "/count", 9),
                    op("replace", "/count", "nine"), status=400)
    assert "count" in message
    assert api.get("/artifacts/%s/%s" % (KINDS_NAME, art["id"])).json[
        "count"] == 1


@pytest.mark.parametrize("ops, status, words", [
    ([op("replace", "/status", "active")], 403, "status"),
    ([op("replace", "/id", "x")], 403, "id"),
    ([op("replace", "/created_at", "x")], 403, "created_at"),
    ([op("replace", "/computed", "x")], 403, "computed"),
    ([op("add", "/file", {"size": 1})], 400, "file"),
    ([op("add", "/tree/a", {"size": 1})], 400, "tree"),
    ([op("add", "/nope", 1)], 400, "nope"),
    ([op("remove", "/name")], 400, "name"),
    ([op("remove", "/version")], 400, "version"),
    ([op("remove", "/owner")], 400, "owner"),
    ([op("replace", "/owner", None)], 400, "owner"),
    ([op("remove", "/strict")], 400, "strict"),
    ([op("replace", "/name", None)], 400, "name"),
    ([op("replace", "/name", "x" * 256)], 400, "name"),
    ([op("replace", "/version", "1.x")], 400, "version"),
    ([op("replace", "/version", "1.4294967296")], 400, "version"),
    ([op("replace", "/visibility", "everyone")], 400, "visibility"),
    ([op("add", "/tags/-", "x" * 256)], 400, "tags"),
    ([op("add", "/tags/-", 5)], 400, "tags"),
    # Named by its JSON Pointer in the patch document, as in any body.
    ([op("replace", "/count", 2 ** 64)], 400, "at '/0/value'"),
    ([op("replace", "/count", 1.5)], 400, "count"),
    ([op("replace", "/labels/5", "x")], 400, "range"),
    ([op("remove", "/labels/-")], 400, "index"),
    ([op("add", "/labels/01", "x")], 400, "index"),
    ([op("add", "/labels/x", "x")], 400, "index"),
    ([op("replace", "/options/missing", "x")], 400, "exist"),
    ([op("remove", "/options/missing")], 400, "exist"),
    ([op("add", "/count/1", 1)], 400, "count"),
    ([op("add", "/options/a/b", "x")], 400, "deep"),
    ([op("add", "/", {})], 400, "whole"),
    ([op("add", "name", "x")], 400, "pointer"),
    ([op("replace", "/name")], 400, "value"),
    ([{"op": "test", "path": "/name", "value": "x"}], 400, "op"),
    ([{"op": "move", "from": "/name", "path": "/title"}], 400, "op"),
    ([{"path": "/name", "value": "x"}], 400, "op"),
    ([{"op": "add", "value": "x"}], 400, "path"),
    ({"op": "add", "path": "/name", "value": "x"}, 400, "list"),
    (["add"], 400, "invalid"),
])
def test_bad_patches(api, art, ops, status, words):
    resp = api.patch("/artifacts/%s/%s" % (KINDS_NAME, art["id"]), ops)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert words in resp.json["error"]["message"].lower()


def test_media_type_must_be_json_patch(api, art):
    path = "/artifacts/%s/%s" % (KINDS_NAME, art["id"])
    resp = api.patch(path, [op("replace", "/name", "x")],
                     content_type="application/json")
    assert resp.status_code == 415
    assert "json-patch" in resp.json["error"]["message"]


def test_duplicate_name_and_version_is_409(api):
    name = "dup-%s" % uuid.uuid4().hex[:8]
    api.create(KINDS_NAME, name=name, version="1.0.0")
    second = api.create(KINDS_NAME, name=name, version="2.0.0")
    message = patch(api, second, op("replace", "/version", "1.0"),
                    status=409)
    assert name in message


def test_other_projects_cannot_patch(api, art):
    resp = api.as_project("stranger").patch(
        "/artifacts/%s/%s" % (KINDS_NAME, art["id"]),
        [op("replace", "/name", "x")])
    assert resp.status_code == 404
