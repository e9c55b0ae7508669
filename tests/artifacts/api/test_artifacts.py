"""artifacts.api.artifacts: create, show, delete, lifecycle actions, and
the request checks in front of them."""

import uuid

import pytest

from tests.artifacts.api.conftest import KINDS_NAME


def unique(prefix="a"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def error(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.json["error"]
    assert body["code"] == status and body["title"] and body["message"]
    return body["message"]


def test_create_show_delete(api):
    name = unique()
    resp = api.post("/artifacts/heat_templates", {
        "name": name, "version": "1.2", "tags": ["b", "a", "b"],
        "description": "A stack", "default_envs": {"prod": "p.yaml"}})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    art = resp.json
    assert resp.headers["Location"].endswith(
        "/artifacts/heat_templates/" + art["id"])
    assert art["name"] == name and art["version"] == "1.2.0"
    assert art["status"] == "drafted" and art["visibility"] == "private"
    assert art["owner"] == "glare-project"
    assert art["tags"] == ["a", "b"]
    assert art["type_name"] == "heat_templates"
    assert art["description"] == "A stack"
    assert art["default_envs"] == {"prod": "p.yaml"}
    assert art["template"] is None and art["nested_templates"] == {}
    assert art["created_at"].endswith("Z")

    shown = api.get("/artifacts/heat_templates/" + art["id"])
    assert shown.status_code == 200 and shown.json == art

    gone = api.delete("/artifacts/heat_templates/" + art["id"])
    assert gone.status_code == 204 and gone.data == b""
    error(api.get("/artifacts/heat_templates/" + art["id"]), 404)


def test_default_version_and_duplicates(api):
    name = unique()
    first = api.create(name=name)
    assert first["version"] == "0.0.0"
    message = error(api.post("/artifacts/heat_templates",
                             {"name": name, "version": "0.0"}), 409)
    assert name in message
    # Build metadata is not another version; another project may.
    error(api.post("/artifacts/heat_templates",
                   {"name": name, "version": "0.0.0+b1"}), 409)
    api.as_project("other").create(name=name)


def test_unknown_type_is_404_before_the_body_is_read(api):
    message = error(api.post("/artifacts/nope", data=b"{not json",
                             content_type="application/json"), 404)
    assert "heat_templates" in message
    error(api.get("/artifacts/nope/%s" % uuid.uuid4()), 404)
    # The Glance face's images are not served here.
    error(api.get("/artifacts/images"), 404)


@pytest.mark.parametrize("body, words", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"name": 7}, "name"),
    ({"name": "n", "version": "one"}, "version"),
    ({"name": "n", "version": "99999999999.0.0"}, "version"),
    # Within semver and the parser's bounds, beyond the columns'.
    ({"name": "n", "version": "2147483648.0.0"}, "version"),
    ({"name": "n", "version": "0.0.0-" + "1." * 124 + "1"}, "version"),
    ({"name": "n", "visibility": "secret"}, "visibility"),
    ({"name": "n", "tags": "a"}, "tags"),
    ({"name": "n", "tags": ["x" * 256]}, "tags"),
    ({"name": "n", "tags": [""]}, "tags"),
    ({"name": "n", "colour": "red"}, "colour"),
    ({"name": "n", "template": {"size": 1}}, "template"),
    ({"name": "n", "status": "active"}, "status"),
    ({"name": "n", "id": str(uuid.uuid4())}, "id"),
    ({"name": "n", "owner": None}, "owner"),
    ({"name": "n", "description": 5}, "description"),
    ({"name": "n", "default_envs": {"k": 1}}, "default_envs"),
    ({"name": "n", "default_envs": {"": "v"}}, "default_envs"),
    ({"name": "n", "environments": ["not-a-uuid"]}, "environments"),
])
def test_create_validation(api, body, words):
    message = error(api.post("/artifacts/heat_templates", body), 400)
    assert words in message.lower()


@pytest.mark.parametrize("body, words", [
    ({"name": "n", "count": -1}, "count"),
    ({"name": "n", "count": 2 ** 63}, "count"),
    ({"name": "n", "count": "3"}, "count"),
    ({"name": "n", "count": True}, "count"),
    ({"name": "n", "ratio": "x"}, "ratio"),
    ({"name": "n", "enabled": "yes"}, "enabled"),
    ({"name": "n", "title": "x" * 21}, "title"),
    ({"name": "n", "code": "ABC"}, "code"),
    ({"name": "n", "code": "abc1 "}, "code"),
    ({"name": "n", "flavor": "lemon"}, "flavor"),
    ({"name": "n", "strict": None}, "strict"),
    ({"name": "n", "labels": ["a", "b", "c", "d"]}, "labels"),
    ({"name": "n", "numbers": ["1"]}, "numbers"),
    ({"name": "n", "options": {"a": "1", "b": "2", "c": "3", "d": "4"}},
     "options"),
    ({"name": "n", "link": "nope"}, "link"),
    ({"name": "n", "computed": "x"}, "computed"),
    ({"name": "n", "file": None}, "file"),
])
def test_create_validation_of_every_kind(api, body, words):
    message = error(api.post("/artifacts/" + KINDS_NAME, body), 400)
    assert words in message


def test_create_with_every_kind(api):
    # Links must name an existing artifact the caller can see.
    link = api.create(name=unique())["id"]
    message = error(api.post("/artifacts/" + KINDS_NAME, {
        "name": unique(), "link": str(uuid.uuid4())}), 400)
    assert "links to" in message
    art = api.create(KINDS_NAME, name=unique(), title="t", code="abc1",
                     flavor="mint", count=3, ratio=0.5, enabled=True,
                     labels=["x", "y"], numbers=[1, 2], options={"k": "v"},
                     link=link, links=[link])
    assert (art["count"], art["ratio"], art["enabled"]) == (3, 0.5, True)
    assert art["labels"] == ["x", "y"] and art["numbers"] == [1, 2]
    assert art["options"] == {"k": "v"} and art["links"] == [link]
    assert art["strict"] == 1 and art["computed"] is None
    assert art["file"] is None and art["tree"] == {}


@pytest.mark.parametrize("data, content_type, status", [
    (b"{nope", "application/json", 400),
    (b"", "application/json", 400),
    (b"[]", "application/json", 400),
    (b'"name"', "application/json", 400),
    (b'{"name": "n", "x": NaN}', "application/json", 400),
    (b'{"name": "n\\u0000"}', "application/json", 400),
    (b'{"name": "n\\ud800"}', "application/json", 400),
    (b'{"name": "n", "tags": ["\\udfff"]}', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"[" * 100000, "application/json", 400),
    (b'{"name": "n"}', "text/plain", 415),
    (b'{"name": "n"}', None, 415),
    (b'{"name": "' + b"x" * (1024 * 1024) + b'"}', "application/json", 413),
])
def test_create_bodies(api, data, content_type, status):
    kwargs = {"data": data}
    if content_type:
        kwargs["content_type"] = content_type
    error(api.post("/artifacts/heat_templates", **kwargs), status)


def test_admin_may_create_for_another_project_members_may_not(api):
    art = api.create(name=unique(), owner="someone-else")
    assert art["owner"] == "someone-else"
    error(api.as_project("p1").post("/artifacts/heat_templates", {
        "name": unique(), "owner": "someone-else"}), 403)


def test_readers_cannot_create(api):
    error(api.as_project("p1", roles="reader").post(
        "/artifacts/heat_templates", {"name": unique()}), 403)


def test_other_projects_do_not_see_private_artifacts(api):
    mine = api.as_project("p-own")
    art = mine.create(name=unique())
    other = api.as_project("p-other")
    path = "/artifacts/heat_templates/" + art["id"]
    error(other.get(path), 404)
    error(other.delete(path), 404)
    assert mine.get(path).status_code == 200


def test_show_of_another_type_or_bad_id_is_404(api):
    art = api.create(name=unique())
    error(api.get("/artifacts/files/" + art["id"]), 404)
    error(api.get("/artifacts/heat_templates/" + "x" * 300), 404)


def test_body_on_get_or_delete_is_400(api):
    art = api.create(name=unique())
    error(api.get("/artifacts/heat_templates/" + art["id"], data=b"x"), 400)
    error(api.delete("/artifacts/heat_templates/" + art["id"], data=b"x"),
          400)


def test_lifecycle(api):
    art = api.create(KINDS_NAME, name=unique(), frozen="f")
    path = "/artifacts/%s/%s" % (KINDS_NAME, art["id"])
    # Required fields first.
    message = error(api.action(art, "activate"), 400)
    assert "file" in message and "required_text" in message
    error(api.action(art, "deactivate"), 403)
    error(api.action(art, "publish"), 403)
    assert api.patch(path, [{"op": "add", "path": "/required_text",
                             "value": "r"}]).status_code == 200
    assert api.put_data(path + "/file", b"data").status_code == 200

    active = api.action(art, "activate")
    assert active.status_code == 200 and active.json["status"] == "active"
    assert api.action(art, "activate").json["status"] == "active"
    # Immutable except mutable fields.
    error(api.patch(path, [{"op": "replace", "path": "/frozen",
                            "value": "g"}]), 403)
    error(api.patch(path, [{"op": "replace", "path": "/name",
                            "value": "renamed"}]), 403)
    assert api.patch(path, [{"op": "replace", "path": "/title",
                             "value": "still"}]).status_code == 200

    assert api.action(art, "deactivate").json["status"] == "deactivated"
    assert api.action(art, "deactivate").json["status"] == "deactivated"
    error(api.action(art, "activate"), 409)
    assert api.action(art, "reactivate").json["status"] == "active"

    published = api.action(art, "publish")
    assert published.status_code == 200
    assert published.json["visibility"] == "public"
    # Everyone sees it now.
    assert api.as_project("anyone").get(path).status_code == 200


def test_only_admins_publish(api):
    member = api.as_project("p-pub")
    art = member.create(name=unique())
    path = "/artifacts/heat_templates/" + art["id"]
    member.put_data(path + "/template", b"t")
    assert member.action(art, "activate").status_code == 200
    error(member.action(art, "publish"), 403)
    assert api.action(art, "publish").json["visibility"] == "public"


def test_actions_take_no_body_and_need_a_known_name(api):
    art = api.create(name=unique())
    path = "/artifacts/heat_templates/%s/actions/" % art["id"]
    error(api.post(path + "activate", {"x": 1}), 400)
    # No such action: the path is a data route, which takes no POST.
    error(api.post(path + "explode"), 405)
    error(api.get(path + "activate"), 404)


def test_unrouted_paths_and_methods(api):
    message = error(api.get("/artifacts/heat_templates/a/b/c/d/e/f/g"), 404)
    assert message
    resp = api.open("PUT", "/artifacts/heat_templates")
    error(resp, 405)
    assert resp.headers["Allow"] == "GET, POST"
    assert api.open("HEAD", "/artifacts/heat_templates").status_code == 405
    error(api.get("/artifacts/heat_templates/ab%00cd"), 400)
    error(api.get("/artifacts/heat_templates?name=a%00"), 400)


def test_glance_face_keeps_its_own_errors(api):
    resp = api.get("/v2/images/%s" % uuid.uuid4())
    assert resp.status_code == 404
    assert resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True).startswith("404 Not Found")
