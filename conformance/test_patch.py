"""PATCH /v2/images/{id}: both JSON-patch media types and their quirks."""

import json

import pytest

from conformance.client import PATCH_V20, PATCH_V21, unique


def _patch(client, image_id, ops, media=PATCH_V21):
    return client.patch_image(image_id, ops, media)


def _ok(client, image_id, ops, media=PATCH_V21):
    resp = _patch(client, image_id, ops, media)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    return resp.json()


# ----------------------------------------------------------- media types


@pytest.mark.parametrize("ctype", ["application/json",
                                   "application/json-patch+json",
                                   "text/plain"])
def test_wrong_media_type_is_415(member, ctype):
    """Glance: a Content-Type other than the two openstack-images json-patch
    types is 415 with an Accept-Patch header listing both (v2.0 first)."""
    image = member.create_image()
    resp = member.patch("/v2/images/%s" % image["id"],
                        data=json.dumps([]), headers={"Content-Type": ctype})
    assert resp.status_code == 415
    assert resp.headers["Accept-Patch"] == "%s, %s" % (PATCH_V20, PATCH_V21)


def test_v21_replace_returns_full_image(member):
    """Glance: a v2.1 patch answers 200 with the whole updated image."""
    image = member.create_image(name="before")
    body = _ok(member, image["id"], [{"op": "replace", "path": "/name",
                                      "value": "after"}])
    assert body["name"] == "after"
    assert body["id"] == image["id"]
    assert set(image) <= set(body)
    assert member.show(image["id"])["name"] == "after"


def test_v20_replace_name(member):
    """Glance: the v2.0 (draft 4) dialect {"replace": "/name", "value": ..}
    works too (Tempest test_update_image sends it)."""
    image = member.create_image(name="before")
    body = _ok(member, image["id"], [{"replace": "/name", "value": "after"}],
               PATCH_V20)
    assert body["name"] == "after"


def test_media_type_with_charset(member):
    """Glance: Content-Type parameters (e.g. charset) are ignored when
    matching the patch media type."""
    image = member.create_image(name="before")
    resp = member.patch("/v2/images/%s" % image["id"], data=json.dumps(
        [{"op": "replace", "path": "/name", "value": "after"}]),
        headers={"Content-Type": PATCH_V21 + "; charset=UTF-8"})
    assert resp.status_code == 200


def test_empty_patch_changes_nothing(member):
    """Glance: an empty operation list is 200 and leaves the image as it
    was."""
    image = member.create_image(foo="bar")
    body = _ok(member, image["id"], [])
    assert body["foo"] == "bar" and body["name"] == image["name"]


# ------------------------------------------------------------------- ops


def test_v21_add_new_property(member):
    """Glance: add creates an extra property."""
    image = member.create_image()
    body = _ok(member, image["id"], [{"op": "add", "path": "/os_distro",
                                      "value": "ubuntu"}])
    assert body["os_distro"] == "ubuntu"


def test_v21_add_is_upsert(member):
    """Glance: in v2.1 add on an existing property or base attribute sets it
    (openstacksdk sends add for every attribute)."""
    image = member.create_image(foo="old", name="old")
    body = _ok(member, image["id"], [
        {"op": "add", "path": "/foo", "value": "new"},
        {"op": "add", "path": "/name", "value": "new"}])
    assert body["foo"] == "new" and body["name"] == "new"


def test_v20_add_existing_property_is_409(member):
    """Glance: in v2.0 add on an existing property is 409 ('Property foo
    already present.')."""
    image = member.create_image(foo="old")
    resp = _patch(member, image["id"], [{"add": "/foo", "value": "new"}],
                  PATCH_V20)
    assert resp.status_code == 409


def test_v20_add_existing_base_attribute_is_409(member):
    """Glance: in v2.0 add on a base attribute (always present) is 409."""
    image = member.create_image()
    resp = _patch(member, image["id"], [{"add": "/name", "value": "x"}],
                  PATCH_V20)
    assert resp.status_code == 409


def test_v20_add_new_property(member):
    """Glance: in v2.0 add of a new property works (Tempest's
    glance-download test adds hw_* and trait:* properties this way)."""
    image = member.create_image()
    body = _ok(member, image["id"], [
        {"add": "/hw_cpu_cores", "value": "4"},
        {"add": "/trait:STORAGE_DISK_SSD", "value": "required"}],
        PATCH_V20)
    assert body["hw_cpu_cores"] == "4"
    assert body["trait:STORAGE_DISK_SSD"] == "required"


@pytest.mark.parametrize("media", [PATCH_V21, PATCH_V20])
def test_replace_missing_property_is_409(member, media):
    """Glance: replace of a property the image lacks is 409 ('Property nope
    does not exist.'), not 404."""
    image = member.create_image()
    op = ({"op": "replace", "path": "/nope", "value": "x"}
          if media == PATCH_V21 else {"replace": "/nope", "value": "x"})
    assert _patch(member, image["id"], [op], media).status_code == 409


def test_replace_existing_property(member):
    """Glance: replace sets an existing extra property."""
    image = member.create_image(foo="old")
    assert _ok(member, image["id"], [{"op": "replace", "path": "/foo",
                                      "value": "new"}])["foo"] == "new"


def test_remove_property(member):
    """Glance: remove deletes an extra property (the key disappears)."""
    image = member.create_image(foo="bar")
    body = _ok(member, image["id"], [{"op": "remove", "path": "/foo"}])
    assert "foo" not in body
    assert "foo" not in member.show(image["id"])


def test_remove_missing_property_is_409(member):
    """Glance: remove of a missing property is 409."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "remove", "path": "/nope"}]) \
        .status_code == 409


@pytest.mark.parametrize("attr", ["name", "min_ram", "visibility", "tags",
                                  "protected", "disk_format", "owner"])
def test_remove_base_attribute_is_403(member, attr):
    """Glance: base attributes cannot be removed (403 'Property X may not
    be removed.')."""
    image = member.create_image()
    resp = _patch(member, image["id"], [{"op": "remove", "path": "/" + attr}])
    assert resp.status_code == 403


def test_readd_removed_property(member):
    """Glance: a removed property can be added again (the same row is
    revived)."""
    image = member.create_image(foo="one")
    _ok(member, image["id"], [{"op": "remove", "path": "/foo"}])
    body = _ok(member, image["id"], [{"op": "add", "path": "/foo",
                                      "value": "two"}])
    assert body["foo"] == "two"


def test_ops_apply_in_order(member):
    """Glance: operations apply in order to the same image: add then remove
    leaves nothing; two replaces keep the last."""
    image = member.create_image()
    body = _ok(member, image["id"], [
        {"op": "add", "path": "/tmp", "value": "x"},
        {"op": "remove", "path": "/tmp"},
        {"op": "replace", "path": "/name", "value": "one"},
        {"op": "replace", "path": "/name", "value": "two"}])
    assert "tmp" not in body
    assert body["name"] == "two"


def test_failed_op_saves_nothing(member):
    """Glance: if any operation fails, none of the earlier ones is saved."""
    image = member.create_image(name="keep")
    resp = _patch(member, image["id"], [
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "add", "path": "/new", "value": "x"},
        {"op": "replace", "path": "/missing", "value": "x"}])
    assert resp.status_code == 409
    shown = member.show(image["id"])
    assert shown["name"] == "keep" and "new" not in shown


def test_updated_at_moves(member):
    """Glance: a successful patch bumps updated_at (never backwards)."""
    image = member.create_image()
    body = _ok(member, image["id"], [{"op": "add", "path": "/k",
                                      "value": "v"}])
    assert body["updated_at"] >= image["updated_at"]
    assert body["created_at"] == image["created_at"]


# ------------------------------------------------------------------ tags


def test_replace_tags_whole_list(member):
    """Glance: tags are replaced as a whole with replace /tags (duplicates
    collapse)."""
    image = member.create_image(tags=["old"])
    body = _ok(member, image["id"], [{"op": "replace", "path": "/tags",
                                      "value": ["a", "b", "a"]}])
    assert sorted(body["tags"]) == ["a", "b"]


def test_add_tags_whole_list(member):
    """Glance: add /tags with a list sets the list (what openstacksdk
    sends)."""
    image = member.create_image(tags=["old"])
    body = _ok(member, image["id"], [{"op": "add", "path": "/tags",
                                      "value": ["x"]}])
    assert body["tags"] == ["x"]


@pytest.mark.parametrize("path", ["/tags/-", "/tags/0", "/name/x"])
def test_element_pointer_is_400(member, path):
    """Glance: pointers are one level deep (except locations): /tags/- and
    /tags/0 are 400 'Invalid JSON pointer for this resource'."""
    image = member.create_image(tags=["a"])
    assert _patch(member, image["id"], [{"op": "add", "path": path,
                                         "value": "b"}]).status_code == 400


def test_tag_over_255_is_400(member):
    """Glance: each tag is at most 255 characters (schema) -> 400."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "replace", "path": "/tags",
                                         "value": ["t" * 256]}]) \
        .status_code == 400


# --------------------------------------------------------------- pointers


def test_pointer_escapes_are_decoded(member):
    """Glance: ~1 decodes to '/' and ~0 to '~' in a property name."""
    image = member.create_image()
    body = _ok(member, image["id"], [
        {"op": "add", "path": "/a~1b", "value": "slash"},
        {"op": "add", "path": "/c~0d", "value": "tilde"}])
    assert body["a/b"] == "slash" and body["c~d"] == "tilde"


@pytest.mark.parametrize("path", ["name", "/a~2b", "/a//b", "/a/", "//"])
def test_bad_pointer_is_400(member, path):
    """Glance: pointers must start with '/', have no empty segment or
    trailing '/', and use only the ~0/~1 escapes (400)."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "add", "path": path,
                                         "value": "x"}]).status_code == 400


def test_root_pointer_names_empty_property(member):
    """Glance: the pointer '/' is one empty segment, so add '/' creates an
    extra property whose name is the empty string."""
    image = member.create_image()
    body = _ok(member, image["id"], [{"op": "add", "path": "/",
                                      "value": "x"}])
    assert body[""] == "x"


def test_pointer_segment_is_stripped(member):
    """Glance: whitespace around a pointer segment is stripped."""
    image = member.create_image()
    body = _ok(member, image["id"], [{"op": "add", "path": "/ spaced ",
                                      "value": "x"}])
    assert body["spaced"] == "x"


# ---------------------------------------------------------- bad requests


@pytest.mark.parametrize("body", [
    {"op": "add", "path": "/x", "value": "y"},
    ["not an object"],
    [{"path": "/x", "value": "y"}],
    [{"op": "move", "from": "/a", "path": "/b"}],
    [{"op": "test", "path": "/name", "value": "x"}],
    [{"op": "add", "value": "y"}],
    [{"op": "add", "path": "/x"}],
    [{"op": "replace", "path": "/name"}],
])
def test_malformed_v21_patch_is_400(member, body):
    """Glance: the body must be a list of objects, op one of add/remove/
    replace (move and test are 400), with a path, and a value for add and
    replace."""
    image = member.create_image()
    assert _patch(member, image["id"], body).status_code == 400


@pytest.mark.parametrize("body", [
    [{"op": "add", "path": "/x", "value": "y"}],
    [{"add": "/x", "replace": "/y", "value": "z"}],
    [{"add": "/x"}],
])
def test_malformed_v20_patch_is_400(member, body):
    """Glance: a v2.0 operation has exactly one of add/remove/replace as a
    key (the v2.1 form is 400 in v2.0) and a value for add/replace."""
    image = member.create_image()
    assert _patch(member, image["id"], body, PATCH_V20).status_code == 400


def test_invalid_json_is_400(member):
    """Glance: a body that is not JSON is 400 'Malformed JSON in request
    body.'."""
    image = member.create_image()
    resp = member.patch("/v2/images/%s" % image["id"], data="[{",
                        headers={"Content-Type": PATCH_V21})
    assert resp.status_code == 400


# ------------------------------------------------------- attribute rules


@pytest.mark.parametrize("attr,value", [
    ("status", "active"), ("checksum", "0" * 32), ("size", 1),
    ("virtual_size", 1), ("id", "00000000-0000-0000-0000-000000000000"),
    ("created_at", "2020-01-01T00:00:00Z"),
    ("updated_at", "2020-01-01T00:00:00Z"), ("os_hash_algo", "sha512"),
    ("os_hash_value", "00"), ("self", "/x"), ("file", "/x"),
    ("schema", "/x"), ("direct_url", "file:///x")])
def test_read_only_attribute_is_403(member, attr, value):
    """Glance: replace of a read-only attribute is 403 ('Attribute 'X' is
    read-only.')."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "replace", "path": "/" + attr,
                                         "value": value}]).status_code == 403


@pytest.mark.parametrize("attr", ["os_glance_foo", "os_glance_import_task",
                                  "location", "deleted", "deleted_at"])
def test_reserved_attribute_is_403(member, attr):
    """Glance: add of a reserved attribute (os_glance_*, location, deleted,
    deleted_at) is 403 (Tempest test_update_image_reserved_property)."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "add", "path": "/" + attr,
                                         "value": "x"}]).status_code == 403


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "/min_ram", "value": -1},
    {"op": "replace", "path": "/min_disk", "value": "big"},
    {"op": "replace", "path": "/protected", "value": "yes"},
    {"op": "replace", "path": "/visibility", "value": "everyone"},
    {"op": "replace", "path": "/disk_format", "value": "floppy"},
    {"op": "replace", "path": "/name", "value": "n" * 256},
    {"op": "add", "path": "/foo", "value": 1},
    {"op": "add", "path": "/foo", "value": None},
    {"op": "add", "path": "/kernel_id", "value": "not-a-uuid"},
])
def test_invalid_value_is_400(member, op):
    """Glance: values are validated against the image schema (types, enums,
    lengths, custom property patterns, string extra properties) -> 400."""
    image = member.create_image()
    assert _patch(member, image["id"], [op]).status_code == 400


@pytest.mark.glance_deviation(
    "Glance checks the 255-character limit on property names only at "
    "create; PATCH stores longer names (which its MySQL VARCHAR(255) "
    "column cannot hold)")
def test_long_property_name_by_patch_is_400(member):
    """Correct behaviour: a property name over 255 characters is 400 in
    PATCH as it is at create."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "add", "path": "/" + "k" * 256,
                                         "value": "v"}]).status_code == 400


def test_set_min_ram_min_disk(member):
    """Glance: min_ram/min_disk are integers that can be changed any
    time."""
    image = member.create_active()
    body = _ok(member, image["id"], [
        {"op": "replace", "path": "/min_ram", "value": 1024},
        {"op": "replace", "path": "/min_disk", "value": 20}])
    assert (body["min_ram"], body["min_disk"]) == (1024, 20)


def test_formats_settable_while_queued(member):
    """Glance: disk_format/container_format may change while queued (Nova's
    snapshot flow sets them after create)."""
    image = member.create_image()
    body = _ok(member, image["id"], [
        {"op": "replace", "path": "/disk_format", "value": "qcow2"},
        {"op": "replace", "path": "/container_format", "value": "bare"}])
    assert (body["disk_format"], body["container_format"]) == ("qcow2",
                                                               "bare")


@pytest.mark.parametrize("attr,value", [("disk_format", "qcow2"),
                                        ("container_format", "ovf"),
                                        ("disk_format", "raw")])
def test_formats_frozen_once_active(member, attr, value):
    """Glance: disk_format/container_format of an active image cannot be
    replaced, even with the value they already have (403 'Attribute X can
    be only replaced for a queued image.')."""
    image = member.create_active()
    assert _patch(member, image["id"], [{"op": "replace", "path": "/" + attr,
                                         "value": value}]).status_code == 403


def test_hide_image(member):
    """Glance: replace /os_hidden true hides the image from the default
    list (Tempest test_list_update_hidden_image)."""
    tag = unique("hide")
    image = member.create_image(tags=[tag])
    _ok(member, image["id"], [{"replace": "/os_hidden", "value": True}],
        PATCH_V20)
    assert member.list_ids({"tag": tag}) == []
    assert member.list_ids({"tag": tag, "os_hidden": "true"}) == \
        [image["id"]]


def test_protect_and_unprotect(member):
    """Glance: protected can be toggled by PATCH."""
    image = member.create_image()
    assert _ok(member, image["id"], [{"op": "replace", "path": "/protected",
                                      "value": True}])["protected"] is True
    assert _ok(member, image["id"], [{"op": "replace", "path": "/protected",
                                      "value": False}])["protected"] is False


@pytest.mark.parametrize("visibility", ["private", "community", "shared"])
def test_member_changes_visibility(member, visibility):
    """Glance: a member may switch its image between private, shared and
    community."""
    image = member.create_image(visibility="private"
                                if visibility != "private" else "shared")
    assert _ok(member, image["id"], [{"op": "replace", "path": "/visibility",
                                      "value": visibility}])["visibility"] \
        == visibility


def test_member_cannot_publicize(member):
    """Glance: replace /visibility public needs publicize_image (admin):
    403."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "replace",
                                         "path": "/visibility",
                                         "value": "public"}]).status_code \
        == 403


def test_admin_publicizes(member, admin):
    """Glance: an admin may make any image public."""
    image = member.create_image()
    assert _ok(admin, image["id"], [{"op": "replace", "path": "/visibility",
                                     "value": "public"}])["visibility"] \
        == "public"


def test_member_cannot_change_owner(member):
    """Glance: replace /owner by a non-admin is 403 ('Owner can't be
    updated by non admin.')."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "replace", "path": "/owner",
                                         "value": "x"}]).status_code == 403


def test_admin_changes_owner(admin):
    """Glance: an admin may replace /owner (Tempest
    test_update_image_owner_param, v2.0 dialect)."""
    image = admin.create_image()
    body = _ok(admin, image["id"], [{"replace": "/owner",
                                     "value": "new-owner"}], PATCH_V20)
    assert body["owner"] == "new-owner"


def test_reader_cannot_patch(member, reader):
    """Glance: modify_image needs the member role: a reader gets 403 on an
    image it can see."""
    image = member.create_image()
    assert _patch(reader, image["id"], [{"op": "add", "path": "/x",
                                         "value": "y"}]).status_code == 403


def test_other_project_patch_is_404(member, member_b):
    """Glance: patching an image the caller cannot see is 404."""
    image = member.create_image()
    assert _patch(member_b, image["id"], [{"op": "add", "path": "/x",
                                           "value": "y"}]).status_code == 404


def test_non_owner_patch_of_public_image_is_403(admin, member_b):
    """Glance: another project can see a public image but not modify it
    (403)."""
    image = admin.create_image(visibility="public")
    assert _patch(member_b, image["id"], [{"op": "add", "path": "/x",
                                           "value": "y"}]).status_code == 403


def test_patch_unknown_image_is_404(member):
    """Glance: PATCH of an unknown id is 404."""
    assert _patch(member, "00000000-0000-0000-0000-000000000000",
                  [{"op": "add", "path": "/x", "value": "y"}]).status_code \
        == 404


def test_patch_deactivated_image_metadata(member):
    """Glance: metadata of a deactivated image can still be changed."""
    image = member.create_active()
    assert member.post("/v2/images/%s/actions/deactivate"
                       % image["id"]).status_code == 204
    body = _ok(member, image["id"], [{"op": "add", "path": "/note",
                                      "value": "x"}])
    assert body["note"] == "x" and body["status"] == "deactivated"


# ------------------------------------------------------------- locations


def _locations_hidden(image):
    if "locations" in image:
        pytest.skip("the endpoint shows locations (show_multiple_locations)")


@pytest.mark.parametrize("op", [
    {"op": "add", "path": "/locations/-",
     "value": {"url": "http://127.0.0.1/x", "metadata": {}}},
    {"op": "add", "path": "/locations/0",
     "value": {"url": "http://127.0.0.1/x", "metadata": {}}},
    {"op": "replace", "path": "/locations",
     "value": [{"url": "http://127.0.0.1/x", "metadata": {}}]},
    {"op": "replace", "path": "/locations", "value": []},
])
def test_location_ops_forbidden_when_hidden(member, op):
    """Glance (default show_multiple_locations=False): location changes by
    PATCH are 403 ('It's not allowed to add locations if locations are
    invisible.', 'Cannot set locations to empty list.')."""
    image = member.create_image()
    _locations_hidden(image)
    assert _patch(member, image["id"], [op]).status_code == 403


def test_location_remove_forbidden_when_hidden(member, admin):
    """Glance: remove /locations/0 is 403 too (a non-admin already fails
    the delete_image_location policy; an admin the invisibility check)."""
    image = member.create_active()
    _locations_hidden(image)
    for who in (member, admin):
        assert _patch(who, image["id"], [{"op": "remove",
                                          "path": "/locations/0"}]) \
            .status_code == 403


@pytest.mark.parametrize("path", ["/locations", "/locations/0/url"])
def test_location_pointer_depth(member, path):
    """Glance: add/remove on locations need /locations/<n or ->; any other
    depth is 400 'Invalid JSON pointer for this resource'."""
    image = member.create_image()
    assert _patch(member, image["id"], [{"op": "remove", "path": path}]) \
        .status_code == 400


@pytest.mark.glance_deviation(
    "Glance rejects 4-byte UTF-8 characters (emoji, rare CJK) in property "
    "names and values with 400 on every database, because its MySQL tables "
    "use the 3-byte utf8 charset; the API has no such limit")
def test_four_byte_unicode_accepted(member):
    """Correct behaviour: 4-byte UTF-8 characters in names and values are
    stored and returned unchanged."""
    image = member.create_image()
    body = _ok(member, image["id"], [
        {"op": "add", "path": "/note", "value": "smile \U0001F600"},
        {"op": "replace", "path": "/name", "value": "\U0001F600"}])
    assert body["note"] == "smile \U0001F600"
    assert member.show(image["id"])["name"] == "\U0001F600"
