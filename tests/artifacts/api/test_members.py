"""artifacts.api.members: sharing through /artifacts/{type}/{id}/members."""

import uuid

import pytest


@pytest.fixture
def shared(api):
    owner = api.as_project("m-owner-%s" % uuid.uuid4().hex[:6])
    art = owner.create(name="shared", visibility="shared")
    return owner, art, "/artifacts/heat_templates/%s" % art["id"]


def error(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.json["error"]["message"]


def test_share_accept_list_and_revoke(api, shared):
    owner, art, path = shared
    friend = api.as_project("m-friend")
    error(friend.get(path), 404)

    added = owner.post(path + "/members", {"member": "m-friend"})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.json["member"] == "m-friend"
    assert added.json["status"] == "pending"
    assert added.json["artifact_id"] == art["id"]
    assert added.headers["Location"].endswith(path + "/members/m-friend")
    error(owner.post(path + "/members", {"member": "m-friend"}), 409)

    # A pending member sees the artifact but not in its default list.
    assert friend.get(path).status_code == 200
    listed = friend.get("/artifacts/heat_templates?name=shared")
    assert art["id"] not in [a["id"] for a in listed.json["heat_templates"]]

    accepted = friend.put_json(path + "/members/m-friend",
                               {"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json["status"] == \
        "accepted"
    listed = friend.get("/artifacts/heat_templates?name=shared")
    assert art["id"] in [a["id"] for a in listed.json["heat_templates"]]

    owner.post(path + "/members", {"member": "m-third"})
    everyone = owner.get(path + "/members").json["members"]
    assert sorted(m["member"] for m in everyone) == ["m-friend", "m-third"]
    # A member sees only itself.
    assert [m["member"] for m in friend.get(path + "/members").json[
        "members"]] == ["m-friend"]
    assert friend.get(path + "/members/m-friend").json["status"] == \
        "accepted"
    error(friend.get(path + "/members/m-third"), 404)

    # Only the member changes its status; only the owner removes members.
    error(owner.put_json(path + "/members/m-friend",
                         {"status": "rejected"}), 403)
    error(friend.delete(path + "/members/m-third"), 403)
    assert owner.delete(path + "/members/m-friend").status_code == 204
    error(friend.get(path), 404)
    error(owner.delete(path + "/members/m-friend"), 404)


@pytest.mark.parametrize("body, status", [
    ({}, 400),
    ({"member": ""}, 400),
    ({"member": "x" * 256}, 400),
    ({"member": 5}, 400),
    ({"member": "a\nb"}, 400),
    ({"member": "tab\there"}, 400),
    ({"status": "accepted"}, 400),
])
def test_bad_member_bodies(shared, body, status):
    owner, _, path = shared
    error(owner.post(path + "/members", body), status)


@pytest.mark.parametrize("body", [{}, {"status": "maybe"}, {"status": 1}])
def test_bad_status_bodies(api, shared, body):
    owner, _, path = shared
    owner.post(path + "/members", {"member": "m-x"})
    error(api.as_project("m-x").put_json(path + "/members/m-x", body), 400)


def test_member_ids_are_quoted_in_links(shared):
    owner, _, path = shared
    added = owner.post(path + "/members", {"member": "a/b c?d"})
    assert added.status_code == 201
    assert added.headers["Location"].endswith("/members/a%2Fb%20c%3Fd")
    shown = owner.get(path + "/members/a%2Fb%20c%3Fd")
    assert shown.status_code == 200 and shown.json["member"] == "a/b c?d"


def test_only_shared_artifacts_have_members(api):
    owner = api.as_project("m-private")
    art = owner.create(name="private")
    path = "/artifacts/heat_templates/%s/members" % art["id"]
    error(owner.post(path, {"member": "m-friend"}), 403)
    error(owner.get(path), 403)
    error(owner.get(path + "/nobody"), 404)
