"""Image records: create, show, delete, and what each identity may do."""

import re
import uuid

import pytest

from conformance.client import unique

BASE_KEYS = {"id", "name", "status", "visibility", "protected", "os_hidden",
             "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
             "virtual_size", "container_format", "disk_format", "min_ram",
             "min_disk", "created_at", "updated_at", "tags", "self", "file",
             "schema"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_create_returns_201_queued_record(member):
    """Glance: POST /v2/images answers 201 with the image: status queued,
    every base key present (null where unset), min_ram/min_disk 0, tags [],
    relative self/file/schema links, second-precision 'Z' timestamps."""
    name = unique("crud")
    resp = member.create_image_raw({"name": name})
    assert resp.status_code == 201
    assert resp.headers["Content-Type"].startswith("application/json")
    image = resp.json()
    assert set(image) == BASE_KEYS
    assert image["name"] == name
    assert image["status"] == "queued"
    for key in ("checksum", "os_hash_algo", "os_hash_value", "size",
                "virtual_size", "container_format", "disk_format"):
        assert image[key] is None, key
    assert image["min_ram"] == 0 and image["min_disk"] == 0
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["tags"] == []
    assert image["self"] == "/v2/images/%s" % image["id"]
    assert image["file"] == "/v2/images/%s/file" % image["id"]
    assert image["schema"] == "/v2/schemas/image"
    assert TIMESTAMP.match(image["created_at"])
    assert TIMESTAMP.match(image["updated_at"])


def test_create_location_header_is_absolute(member):
    """Glance: the 201 carries Location: <scheme://host>/v2/images/<id>
    (absolute, built from the request's host)."""
    resp = member.create_image_raw({"name": unique()})
    image = resp.json()
    location = resp.headers["Location"]
    assert location.startswith("http")
    assert location.endswith("/v2/images/%s" % image["id"])


def test_default_visibility_is_shared(member):
    """Glance: a new image is 'shared' (not private), so members can be
    added without changing visibility first."""
    assert member.create_image()["visibility"] == "shared"


def test_owner_is_callers_project(member):
    """Glance: owner defaults to the caller's project id."""
    assert member.create_image()["owner"] == member.project_id


def test_id_is_uuid(member):
    """Glance: generated ids are UUIDs (8-4-4-4-12 hex)."""
    image = member.create_image()
    assert str(uuid.UUID(image["id"])) == image["id"]


def test_create_with_client_id(member):
    """Glance: a client-supplied id is honoured."""
    image_id = str(uuid.uuid4())
    image = member.create_image(id=image_id)
    assert image["id"] == image_id
    assert member.show(image_id)["id"] == image_id


def test_create_duplicate_id_is_409(member):
    """Glance: creating an image with an id that exists is 409 ('Image ID
    <id> already exists!')."""
    image = member.create_image()
    resp = member.create_image_raw({"id": image["id"]})
    assert resp.status_code == 409


def test_create_with_bad_id_is_400(member):
    """Glance: the id must match the schema's UUID pattern (400)."""
    resp = member.create_image_raw({"id": "not-a-uuid"})
    assert resp.status_code == 400


def test_create_all_writable_attributes(member):
    """Glance: name, formats, min_ram, min_disk, protected, os_hidden, tags
    and visibility given at create come back as given."""
    image = member.create_image(
        name="all-attrs", disk_format="qcow2", container_format="bare",
        min_ram=512, min_disk=10, protected=True, os_hidden=True,
        tags=["a", "b"], visibility="private")
    assert image["disk_format"] == "qcow2"
    assert image["container_format"] == "bare"
    assert (image["min_ram"], image["min_disk"]) == (512, 10)
    assert image["protected"] is True and image["os_hidden"] is True
    assert sorted(image["tags"]) == ["a", "b"]
    assert image["visibility"] == "private"


def test_create_duplicate_tags_collapse(member):
    """Glance: tags are a set; duplicates given at create are dropped."""
    image = member.create_image(tags=["x", "x", "y"])
    assert sorted(image["tags"]) == ["x", "y"]


@pytest.mark.parametrize("tags", [["t" * 256], [1], "a-string", None])
def test_bad_tags_at_create_is_400(member, tags):
    """Glance: tags must be a list of strings of at most 255 characters
    (400 otherwise)."""
    assert member.create_image_raw({"tags": tags}).status_code == 400


def test_extra_properties_are_strings(member):
    """Glance: extra properties are stored and returned as strings, as
    top-level keys; dotted keys, colons and empty strings are accepted
    (openstacksdk sends owner_specified.openstack.md5 = "")."""
    image = member.create_image(**{
        "hw_disk_bus": "scsi", "owner_specified.openstack.md5": "",
        "trait:CUSTOM_X": "required", "image_type": "snapshot"})
    assert image["hw_disk_bus"] == "scsi"
    assert image["owner_specified.openstack.md5"] == ""
    assert image["trait:CUSTOM_X"] == "required"
    shown = member.show(image["id"])
    assert shown["image_type"] == "snapshot"


def test_unicode_property_values(member):
    """Glance: non-ASCII names and values round-trip (UTF-8 JSON)."""
    image = member.create_image(name="imäge ☃", description="café")
    shown = member.show(image["id"])
    assert shown["name"] == "imäge ☃"
    assert shown["description"] == "café"


@pytest.mark.parametrize("value", [1, True, None, ["a"], {"a": "b"}])
def test_non_string_extra_property_is_400(member, value):
    """Glance: additionalProperties is {"type": "string"}: a number, bool,
    null, list or object as an extra property value is 400."""
    resp = member.create_image_raw({"name": unique(), "foo": value})
    assert resp.status_code == 400


def test_property_key_over_255_is_400(member):
    """Glance: an extra property name longer than 255 characters is 400."""
    resp = member.create_image_raw({"x" * 256: "v"})
    assert resp.status_code == 400


def test_name_over_255_is_400(member):
    """Glance: name is at most 255 characters (schema maxLength) -> 400."""
    resp = member.create_image_raw({"name": "n" * 256})
    assert resp.status_code == 400


@pytest.mark.parametrize("attr", ["container_format", "disk_format"])
def test_invalid_format_is_400(member, attr):
    """Glance: a disk_format/container_format outside the configured enums
    is 400 (Tempest test_register_with_invalid_*_format)."""
    resp = member.create_image_raw({"name": unique(), attr: "wrong"})
    assert resp.status_code == 400


@pytest.mark.parametrize("attr", ["min_ram", "min_disk"])
def test_negative_minimum_is_400(member, attr):
    """Glance: min_ram/min_disk below zero are 400 ('Cannot be a negative
    value')."""
    resp = member.create_image_raw({attr: -1})
    assert resp.status_code == 400


@pytest.mark.parametrize("attr", ["min_ram", "protected", "visibility"])
def test_wrong_type_base_attribute_is_400(member, attr):
    """Glance: base attributes are validated against the image schema
    (min_ram integer, protected boolean, visibility enum)."""
    bad = {"min_ram": "x", "protected": "yes", "visibility": "everyone"}
    resp = member.create_image_raw({attr: bad[attr]})
    assert resp.status_code == 400


READ_ONLY_VALUES = {"status": "active", "size": 1, "virtual_size": 1,
                    "checksum": "0" * 32, "self": "/v2/images/x",
                    "file": "/v2/images/x/file", "schema": "/v2/schemas/x",
                    "created_at": "2020-01-01T00:00:00Z",
                    "updated_at": "2020-01-01T00:00:00Z",
                    "direct_url": "file:///x", "stores": "file"}


@pytest.mark.parametrize("attr", sorted(READ_ONLY_VALUES))
def test_read_only_attribute_at_create_is_403(member, attr):
    """Glance: read-only attributes in a create body are 403 ('Attribute
    'X' is read-only.'), even with a value of the right type."""
    resp = member.create_image_raw({"name": unique(),
                                    attr: READ_ONLY_VALUES[attr]})
    assert resp.status_code == 403


@pytest.mark.glance_deviation(
    "Glance lists os_hash_algo/os_hash_value as read-only, but its create "
    "deserializer does not know them as base attributes: they slip through "
    "as extra properties (201), are stored, and are hidden behind the real "
    "(null) values - the caller's data is silently dropped")
@pytest.mark.parametrize("attr", ["os_hash_algo", "os_hash_value"])
def test_multihash_at_create_is_403(member, attr):
    """Correct behaviour (Glance's intent, its read-only list): os_hash_algo
    and os_hash_value in a create body are 403 like checksum."""
    resp = member.create_image_raw({"name": unique(), attr: "sha512"})
    assert resp.status_code == 403


@pytest.mark.parametrize("attr", ["os_glance_foo", "locations", "location",
                                  "deleted", "deleted_at"])
def test_reserved_attribute_at_create_is_403(member, attr):
    """Glance: reserved attributes (os_glance_*, locations, location,
    deleted, deleted_at) in a create body are 403 (Tempest
    test_create_image_reserved_property)."""
    value = [] if attr == "locations" else "x"
    resp = member.create_image_raw({"name": unique(), attr: value})
    assert resp.status_code == 403


def test_custom_schema_property_is_validated(member):
    """Glance: custom properties declared in schema-image.json are checked
    against their definitions (kernel_id must look like a UUID -> 400)."""
    resp = member.create_image_raw({"kernel_id": "not-a-uuid"})
    assert resp.status_code == 400


def test_custom_nullable_property_accepts_null(member):
    """Glance: a custom property typed ["null", "string"] (kernel_id)
    accepts null and renders it as null."""
    image = member.create_image(kernel_id=None)
    assert image["kernel_id"] is None
    assert member.show(image["id"])["kernel_id"] is None


def test_owner_of_other_project_is_403_for_member(member):
    """Glance: a non-admin may only create images owned by its own project
    (403 'You are not permitted to create images owned by ...')."""
    resp = member.create_image_raw({"owner": "someone-else"})
    assert resp.status_code == 403


def test_admin_may_set_any_owner(admin):
    """Glance: an admin creates images for any owner (Tempest
    test_create_image_owner_param)."""
    owner = uuid.uuid4().hex
    image = admin.create_image(owner=owner)
    assert image["owner"] == owner
    assert admin.show(image["id"])["owner"] == owner


def test_reader_cannot_create(reader):
    """Glance: add_image needs the member role; a reader gets 403."""
    resp = reader.create_image_raw({"name": unique()})
    assert resp.status_code == 403


def test_member_cannot_create_public(member):
    """Glance: visibility=public needs publicize_image (admin): 403."""
    resp = member.create_image_raw({"visibility": "public"})
    assert resp.status_code == 403


def test_admin_creates_public(admin):
    """Glance: an admin may create public images."""
    assert admin.create_image(visibility="public")["visibility"] == "public"


def test_member_creates_community(member):
    """Glance: communitize_image is admin-or-member of the owner project,
    so a member may create community images."""
    image = member.create_image(visibility="community")
    assert image["visibility"] == "community"


def test_show_returns_the_record(member):
    """Glance: GET /v2/images/{id} is 200 with the same record POST
    returned."""
    image = member.create_image(foo="bar")
    shown = member.show(image["id"])
    assert shown == image


def test_show_unknown_is_404(member):
    """Glance: an unknown id is 404 (Tempest test_get_non_existent_image)."""
    assert member.get("/v2/images/%s" % uuid.uuid4()).status_code == 404


@pytest.mark.parametrize("image_id", ["not-a-uuid", "x" * 40, "1"])
def test_show_non_uuid_is_404(member, image_id):
    """Glance: a malformed id is 404, not 400 or 500 (openstacksdk looks
    images up by name this way first)."""
    assert member.get("/v2/images/%s" % image_id).status_code == 404


def test_list_path_with_slash_is_404(member):
    """Glance: GET and DELETE /v2/images/ (empty id) are 404 (Tempest
    test_get_image_null_id / test_delete_image_null_id)."""
    assert member.get("/v2/images/").status_code == 404
    assert member.delete("/v2/images/").status_code == 404


def test_delete_is_204_then_404(member):
    """Glance: DELETE answers 204 with an empty body; afterwards GET and a
    second DELETE are 404 and the image is not listed (Tempest
    test_delete_image, test_get_delete_deleted_image)."""
    image = member.create_image()
    resp = member.delete("/v2/images/%s" % image["id"])
    assert resp.status_code == 204
    assert resp.content == b""
    assert member.get("/v2/images/%s" % image["id"]).status_code == 404
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 404
    assert image["id"] not in member.list_ids()


def test_delete_unknown_is_404(member):
    """Glance: deleting an unknown id is 404."""
    assert member.delete("/v2/images/%s" % uuid.uuid4()).status_code == 404


def test_delete_active_image(member):
    """Glance: an image with data is deleted (204) and its data is gone."""
    image = member.create_active()
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 204
    assert member.get("/v2/images/%s/file" % image["id"]).status_code == 404


def test_delete_protected_is_403(member):
    """Glance: a protected image cannot be deleted (403) until protected is
    cleared (Tempest test_delete_protected_image)."""
    image = member.create_image(protected=True)
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 403
    assert member.show(image["id"])["status"] == "queued"
    resp = member.patch_image(image["id"], [
        {"op": "replace", "path": "/protected", "value": False}])
    assert resp.status_code == 200
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 204


def test_reader_cannot_delete(member, reader):
    """Glance: delete_image needs the member role: a reader of the owner
    project gets 403 on an image it can see."""
    image = member.create_image()
    assert reader.delete("/v2/images/%s" % image["id"]).status_code == 403


def test_other_project_cannot_see_shared_image(member, member_b):
    """Glance: a shared image without members is invisible to other
    projects: GET and DELETE are 404, never 403."""
    image = member.create_image()
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 404
    assert member_b.delete("/v2/images/%s" % image["id"]).status_code == 404


def test_other_project_cannot_see_private_image(member, member_b):
    """Glance: private images are visible to the owner project only."""
    image = member.create_image(visibility="private")
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 404
    assert image["id"] not in member_b.list_ids({"visibility": "all"})


def test_project_colleagues_see_each_others_images(member, reader):
    """Glance: visibility is per project: a reader of the same project sees
    a member's private image."""
    image = member.create_image(visibility="private")
    assert reader.get("/v2/images/%s" % image["id"]).status_code == 200


def test_public_image_visible_to_all(admin, member_b):
    """Glance: a public image is visible to every project, queued or not,
    but only its owner (or an admin) may delete it (others: 403)."""
    image = admin.create_image(visibility="public")
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 200
    assert member_b.delete("/v2/images/%s" % image["id"]).status_code == 403


def test_community_image_visible_by_id(member, member_b):
    """Glance: a community image can be fetched by id from any project."""
    image = member.create_image(visibility="community")
    assert member_b.get("/v2/images/%s" % image["id"]).status_code == 200


def test_admin_sees_every_image(member_b, admin):
    """Glance: role admin sees (and may delete) any project's private
    image."""
    image = member_b.create_image(visibility="private")
    assert admin.get("/v2/images/%s" % image["id"]).status_code == 200
    assert admin.delete("/v2/images/%s" % image["id"]).status_code == 204


@pytest.mark.glance_deviation(
    "Glance lets an admin create an image with owner \"\" (stored as no "
    "owner): an image no project owns, visible to every project, counted "
    "against no quota")
def test_image_always_has_an_owner(admin):
    """Correct behaviour: an image is always owned by a project; an admin
    asking for owner "" is refused (403) and nothing is created."""
    name = unique()
    resp = admin.create_image_raw({"name": name, "owner": ""})
    assert resp.status_code == 403, resp.text
    listed = admin.get("/v2/images?name=%s" % name).json()["images"]
    assert listed == []
