"""Image sharing: members, their status, and what each side may see/do."""

import re

import pytest

from conformance.client import Client, Identity, unique

MEMBER_KEYS = {"member_id", "image_id", "status", "created_at", "updated_at",
               "schema"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _members(image_id, member_id=None):
    path = "/v2/images/%s/members" % image_id
    return path if member_id is None else path + "/" + member_id


def _share(owner, consumer, **image_kw):
    """A shared image of ``owner`` with ``consumer`` added (pending)."""
    tag = unique("share")
    image = owner.create_image(tags=[tag], **image_kw)
    resp = owner.post(_members(image["id"]),
                      json={"member": consumer.project_id})
    assert resp.status_code == 200, resp.text
    return image, tag


def _set_status(client, image_id, status):
    return client.put(_members(image_id, client.project_id),
                      json={"status": status})


# ------------------------------------------------------------------ create


def test_add_member_is_200_pending(member, member_b):
    """Glance: POST /members answers 200 (not 201) with exactly member_id,
    image_id, status 'pending', created_at, updated_at, schema (Tempest
    test_image_share_accept)."""
    image = member.create_image()
    resp = member.post(_members(image["id"]),
                       json={"member": member_b.project_id})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == MEMBER_KEYS
    assert body["member_id"] == member_b.project_id
    assert body["image_id"] == image["id"]
    assert body["status"] == "pending"
    assert body["schema"] == "/v2/schemas/member"
    assert TIMESTAMP.match(body["created_at"])
    assert TIMESTAMP.match(body["updated_at"])


def test_duplicate_member_is_409(member, member_b):
    """Glance: adding the same member twice is 409."""
    image, _ = _share(member, member_b)
    resp = member.post(_members(image["id"]),
                       json={"member": member_b.project_id})
    assert resp.status_code == 409


@pytest.mark.parametrize("body", [{"member": ""}, {"member": None}, {},
                                  {"other": "x"}, ["x"]])
def test_bad_member_body_is_400(member, body):
    """Glance: the body must be {"member": "<non-empty id>"} (400
    otherwise)."""
    image = member.create_image()
    assert member.post(_members(image["id"]), json=body).status_code == 400


@pytest.mark.glance_deviation(
    "Glance does not type-check the member id: a number is stored and "
    "echoed back as a JSON number, which the member schema (string) and "
    "glanceclient's validation then reject")
def test_non_string_member_is_400(member):
    """Correct behaviour: member ids are strings; a number is 400."""
    image = member.create_image()
    assert member.post(_members(image["id"]), json={"member": 5}) \
        .status_code == 400


@pytest.mark.glance_deviation(
    "Glance does not check the member id length: a 256+ character id is "
    "accepted on SQLite while its image_members.member column is "
    "VARCHAR(255) (other databases refuse or truncate it)")
def test_member_over_255_is_400(member):
    """Correct behaviour: member ids are at most 255 characters (400)."""
    image = member.create_image()
    assert member.post(_members(image["id"]), json={"member": "m" * 256}) \
        .status_code == 400


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_members_only_for_shared_images(member, admin, visibility):
    """Glance: only 'shared' images have members: adding one to a private,
    public or community image is 403."""
    client = admin if visibility == "public" else member
    image = client.create_image(visibility=visibility)
    resp = client.post(_members(image["id"]), json={"member": "someone"})
    assert resp.status_code == 403


def test_consumer_cannot_add_members(member, member_b):
    """Glance: add_member is for the owner project (or admin): a member
    project that sees the image gets 403."""
    image, _ = _share(member, member_b)
    assert member_b.post(_members(image["id"]),
                         json={"member": "third"}).status_code == 403


def test_reader_cannot_add_members(member, reader):
    """Glance: add_member needs the member role: a reader of the owner
    project gets 403."""
    image = member.create_image()
    assert reader.post(_members(image["id"]),
                       json={"member": "x"}).status_code == 403


def test_admin_adds_members_to_any_image(member, admin):
    """Glance: an admin may share any project's shared image."""
    image = member.create_image()
    assert admin.post(_members(image["id"]),
                      json={"member": "someone"}).status_code == 200


def test_add_member_unknown_image_is_404(member):
    """Glance: members of an unknown image are 404."""
    unknown = "00000000-0000-0000-0000-000000000000"
    assert member.post(_members(unknown), json={"member": "x"}) \
        .status_code == 404
    assert member.get(_members(unknown)).status_code == 404


def test_member_of_invisible_image_is_404(member, member_b):
    """Glance: a project that cannot see the image gets 404 on its member
    endpoints."""
    image = member.create_image()
    assert member_b.get(_members(image["id"])).status_code == 404
    assert member_b.post(_members(image["id"]),
                         json={"member": "x"}).status_code == 404


# ---------------------------------------------------------- list / show


def test_owner_lists_members(member, member_b):
    """Glance: GET /members is {"members": [...], "schema":
    "/v2/schemas/members"}."""
    image, _ = _share(member, member_b)
    resp = member.get(_members(image["id"]))
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"members", "schema"}
    assert body["schema"] == "/v2/schemas/members"
    assert [m["member_id"] for m in body["members"]] == [member_b.project_id]
    assert set(body["members"][0]) == MEMBER_KEYS


def test_reader_of_owner_lists_members(member, member_b, reader):
    """Glance: get_members allows readers of the owner project."""
    image, _ = _share(member, member_b)
    assert reader.get(_members(image["id"])).status_code == 200


def test_consumer_sees_only_its_membership(member, member_b):
    """Glance: a member project listing members sees only its own row."""
    image, _ = _share(member, member_b)
    member.post(_members(image["id"]), json={"member": "third-project"})
    body = member_b.get(_members(image["id"])).json()
    assert [m["member_id"] for m in body["members"]] == [member_b.project_id]
    owner_view = member.get(_members(image["id"])).json()["members"]
    assert len(owner_view) == 2


def test_show_member(member, member_b):
    """Glance: GET /members/{id} shows one membership to the owner and to
    that member."""
    image, _ = _share(member, member_b)
    for who in (member, member_b):
        resp = who.get(_members(image["id"], member_b.project_id))
        assert resp.status_code == 200
        assert resp.json()["status"] == "pending"


def test_show_unknown_member_is_404(member):
    """Glance: an id that is not a member is 404."""
    image = member.create_image()
    assert member.get(_members(image["id"], "nobody")).status_code == 404


def test_list_members_of_private_image_is_403(member):
    """Glance: listing members of a non-shared image is 403 ('Only shared
    images have members')."""
    image = member.create_image(visibility="private")
    assert member.get(_members(image["id"])).status_code == 403


# ------------------------------------------------------- status changes


def test_accept_lists_image(member, member_b):
    """Glance: a pending member sees the image by id but not in its default
    list; after accepting (200, status accepted) it is listed (Tempest
    test_image_share_accept)."""
    image, tag = _share(member, member_b)
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 200
    assert member_b.list_ids({"tag": tag}) == []
    resp = _set_status(member_b, image["id"], "accepted")
    assert resp.status_code == 200
    assert resp.json()["status"] == "accepted"
    assert set(resp.json()) == MEMBER_KEYS
    assert member_b.list_ids({"tag": tag}) == [image["id"]]
    members = member.get(_members(image["id"])).json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == \
        [(member_b.project_id, "accepted")]


def test_reject_hides_image(member, member_b):
    """Glance: a rejected image is not listed by default, but is with
    member_status=rejected, and still readable by id (Tempest
    test_image_share_reject)."""
    image, tag = _share(member, member_b)
    assert _set_status(member_b, image["id"], "rejected").status_code == 200
    assert member_b.list_ids({"tag": tag}) == []
    assert member_b.list_ids({"tag": tag, "member_status": "rejected"}) == \
        [image["id"]]
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 200


def test_member_status_filter(member, member_b):
    """Glance: member_status=pending|all lists a pending image; the default
    (accepted) does not; visibility=shared&member_status=pending lists
    exactly it (Tempest test_list_images_param_member_status)."""
    image, tag = _share(member, member_b)
    assert member_b.list_ids({"tag": tag, "member_status": "pending"}) == \
        [image["id"]]
    assert member_b.list_ids({"tag": tag, "member_status": "all"}) == \
        [image["id"]]
    assert member_b.list_ids({"tag": tag, "member_status": "accepted"}) == []
    assert member_b.list_ids({"tag": tag, "visibility": "shared",
                              "member_status": "pending"}) == [image["id"]]
    assert member_b.list_ids({"tag": tag, "visibility": "shared"}) == []


def test_member_status_does_not_filter_own_images(member, member_b):
    """Glance: member_status only filters images shared with the caller;
    its own images are listed whatever the member_status."""
    image, tag = _share(member, member_b)
    assert member.list_ids({"tag": tag, "member_status": "rejected"}) == \
        [image["id"]]


def test_status_can_change_in_any_order(member, member_b):
    """Glance: a member may move its status freely between pending,
    accepted and rejected."""
    image, _ = _share(member, member_b)
    for status in ("rejected", "accepted", "pending", "accepted"):
        resp = _set_status(member_b, image["id"], status)
        assert resp.status_code == 200
        assert resp.json()["status"] == status


def test_invalid_status_is_400(member, member_b):
    """Glance: a status outside pending/accepted/rejected is 400 (Tempest
    test_image_share_invalid_status)."""
    image, _ = _share(member, member_b)
    assert _set_status(member_b, image["id"], "notavalidstatus") \
        .status_code == 400


@pytest.mark.parametrize("body", [{}, ["accepted"], {"state": "accepted"}])
def test_bad_status_body_is_400(member, member_b, body):
    """Glance: the body must be {"status": ...} (400 otherwise)."""
    image, _ = _share(member, member_b)
    resp = member_b.put(_members(image["id"], member_b.project_id),
                        json=body)
    assert resp.status_code == 400


def test_status_body_with_member_key(member, member_b):
    """Glance: openstacksdk sends {"member": <id>, "status": ...}; the extra
    key is ignored."""
    image, _ = _share(member, member_b)
    resp = member_b.put(_members(image["id"], member_b.project_id), json={
        "member": member_b.project_id, "status": "accepted"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "accepted"


def test_owner_cannot_change_status(member, member_b):
    """Glance: the owner cannot accept on the member's behalf (403) and the
    image stays unlisted for the member (Tempest
    test_image_share_owner_cannot_accept)."""
    image, tag = _share(member, member_b)
    resp = member.put(_members(image["id"], member_b.project_id),
                      json={"status": "accepted"})
    assert resp.status_code == 403
    assert member_b.list_ids({"tag": tag}) == []


def test_update_unknown_member_is_404(member, member_b):
    """Glance: PUT on a membership that does not exist is 404."""
    image, _ = _share(member, member_b)
    resp = member.put(_members(image["id"], "nobody"),
                      json={"status": "accepted"})
    assert resp.status_code == 404


# -------------------------------------------------------------- delete


def test_owner_removes_member(member, member_b):
    """Glance: DELETE /members/{id} is 204 with an empty body; the image
    disappears for the former member (Tempest test_remove_image_member)."""
    image, tag = _share(member, member_b)
    _set_status(member_b, image["id"], "accepted")
    resp = member.delete(_members(image["id"], member_b.project_id))
    assert resp.status_code == 204
    assert resp.content == b""
    assert member_b.list_ids({"tag": tag}) == []
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 404
    assert member.get(_members(image["id"])).json()["members"] == []


def test_member_cannot_remove_itself(member, member_b):
    """Glance: delete_member is for the owner project: the member gets
    403."""
    image, _ = _share(member, member_b)
    assert member_b.delete(_members(image["id"], member_b.project_id)) \
        .status_code == 403


def test_re_add_after_delete(member, member_b):
    """Glance: a removed member can be added again (pending again)."""
    image, _ = _share(member, member_b)
    _set_status(member_b, image["id"], "accepted")
    member.delete(_members(image["id"], member_b.project_id))
    resp = member.post(_members(image["id"]),
                       json={"member": member_b.project_id})
    assert resp.status_code == 200
    assert resp.json()["status"] == "pending"


def test_delete_unknown_member_is_404(member):
    """Glance: deleting a membership that does not exist is 404."""
    image = member.create_image()
    assert member.delete(_members(image["id"], "nobody")).status_code == 404


# ------------------------------------------------- what members may do


def test_member_downloads_whatever_status(member, member_b):
    """Glance: a member project may download the shared image even while
    its membership is pending."""
    image, _ = _share(member, member_b, disk_format="raw",
                      container_format="bare")
    member.upload(image["id"], b"shared-bytes")
    resp = member_b.get("/v2/images/%s/file" % image["id"])
    assert resp.status_code == 200 and resp.content == b"shared-bytes"


def test_member_cannot_modify_image(member, member_b):
    """Glance: a member project can read but not modify or delete the image
    (403)."""
    image, _ = _share(member, member_b)
    _set_status(member_b, image["id"], "accepted")
    resp = member_b.patch_image(image["id"], [{"op": "add", "path": "/x",
                                               "value": "y"}])
    assert resp.status_code == 403
    assert member_b.delete("/v2/images/%s" % image["id"]).status_code == 403


def test_third_project_sees_nothing(member, member_b):
    """Glance: a project that is not a member neither sees the image nor
    its members (404)."""
    if member.identity.token is not None:
        pytest.skip("needs trusted headers for a third project")
    image, _ = _share(member, member_b)
    third = Client(member.endpoint, Identity(
        "third", unique("conf-c"), "third-user", ("member", "reader")),
        member.tracker)
    assert third.get("/v2/images/%s" % image["id"]).status_code == 404
    assert third.get(_members(image["id"], member_b.project_id)) \
        .status_code == 404


# --------------------------------------------- members of non-shared images


def test_members_lose_access_when_image_made_private(member, member_b):
    """Glance: making a shared image private hides it from its members
    (404) although the memberships remain."""
    image, _ = _share(member, member_b)
    _set_status(member_b, image["id"], "accepted")
    member.patch_image(image["id"], [{"op": "replace", "path": "/visibility",
                                      "value": "private"}])
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 404
    member.patch_image(image["id"], [{"op": "replace", "path": "/visibility",
                                      "value": "shared"}])
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 200


@pytest.mark.parametrize("method,status", [("GET", 404), ("PUT", 403),
                                           ("DELETE", 403)])
def test_membership_of_private_image(member, member_b, method, status):
    """Glance: once the image is not shared its memberships are out of
    reach: GET of one is 404 ('Only shared images have members.'), PUT and
    DELETE are 403 ('Not allowed to update/delete members for image
    ...')."""
    image, _ = _share(member, member_b)
    member.patch_image(image["id"], [{"op": "replace", "path": "/visibility",
                                      "value": "private"}])
    kwargs = {"json": {"status": "accepted"}} if method == "PUT" else {}
    resp = member.request(method, _members(image["id"], member_b.project_id),
                          **kwargs)
    assert resp.status_code == status
    member.patch_image(image["id"], [{"op": "replace", "path": "/visibility",
                                      "value": "shared"}])
    members = member.get(_members(image["id"])).json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == \
        [(member_b.project_id, "pending")]
