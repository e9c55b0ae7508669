"""Artifacts rendered as Glance image and member JSON (glance-v2-surface.md
§3.1): key order, nulls, timestamps, locations."""

import datetime
import json

import pytest

from glance_compat import serialize
from glance_compat.common import Settings

IMAGE_ID = "56c2f4f0-cb7a-43ec-a63f-b58ce41ed179"
CREATED = datetime.datetime(2026, 11, 25, 12, 59, 8)
UPDATED = datetime.datetime(2026, 11, 25, 13, 0, 9, 123456)

BASE_KEYS = ["name", "disk_format", "container_format", "visibility", "size",
             "virtual_size", "status", "checksum", "protected", "min_ram",
             "min_disk", "owner", "os_hidden", "os_hash_algo",
             "os_hash_value", "id", "created_at", "updated_at"]
TAIL_KEYS = ["tags", "self", "file", "schema"]


def blob(url="file:///var/lib/glance/images/%s" % IMAGE_ID, status="active",
         field="image", metadata=None):
    return {"field": field, "status": status, "locations": [
        {"url": url, "metadata": metadata or {}, "store": "file",
         "status": "active"}]}


def artifact(properties=None, blobs=(), **overrides):
    art = {
        "id": IMAGE_ID, "name": "img1", "owner": "p1",
        "visibility": "shared", "status": "active", "protected": False,
        "hidden": False, "created_at": CREATED, "updated_at": UPDATED,
        "properties": dict(properties or {}), "tags": {"t1", "t2"},
        "blobs": list(blobs),
    }
    art.update(overrides)
    return art


UPLOADED = {"foo": "bar", "disk_format": "raw", "container_format": "bare",
            "size": 10, "virtual_size": 10,
            "checksum": "781e5e245d69b566979b86e28d23f2c7", "min_ram": 0,
            "min_disk": 0, "os_hash_algo": "sha512", "os_hash_value": "bb96"}


def view(art, settings=None, is_admin=False):
    return serialize.image_view(art, settings or Settings(), is_admin)


def test_reference_example():
    out = view(artifact(UPLOADED))
    assert list(out) == ["foo"] + BASE_KEYS + TAIL_KEYS
    assert out == {
        "foo": "bar", "name": "img1", "disk_format": "raw",
        "container_format": "bare", "visibility": "shared", "size": 10,
        "virtual_size": 10, "status": "active",
        "checksum": "781e5e245d69b566979b86e28d23f2c7", "protected": False,
        "min_ram": 0, "min_disk": 0, "owner": "p1", "os_hidden": False,
        "os_hash_algo": "sha512", "os_hash_value": "bb96", "id": IMAGE_ID,
        "created_at": "2026-11-25T12:59:08Z",
        "updated_at": "2026-11-25T13:00:09Z",
        "tags": out["tags"],
        "self": "/v2/images/" + IMAGE_ID,
        "file": "/v2/images/%s/file" % IMAGE_ID,
        "schema": "/v2/schemas/image",
    }
    assert sorted(out["tags"]) == ["t1", "t2"]
    assert isinstance(out["tags"], list)


def test_extra_properties_come_first_in_their_order():
    props = {"zeta": "1", "disk_format": "raw", "alpha": "2", "min_ram": 5,
             "mid": "3"}
    out = view(artifact(props))
    assert list(out)[:3] == ["zeta", "alpha", "mid"]
    assert list(out)[3:] == BASE_KEYS + TAIL_KEYS


def test_new_image_has_every_base_key_with_nulls():
    out = view(artifact({}, status="queued", name=None, owner=None,
                        tags=set()))
    assert list(out) == BASE_KEYS + TAIL_KEYS
    for key in ("name", "disk_format", "container_format", "size",
                "virtual_size", "checksum", "owner", "os_hash_algo",
                "os_hash_value"):
        assert out[key] is None, key
    assert out["tags"] == []
    # JSON null on the wire.
    assert json.loads(serialize.dumps(out))["size"] is None


def test_missing_minimums_render_as_zero():
    out = view(artifact({"min_ram": None}))
    assert out["min_ram"] == 0 and out["min_disk"] == 0


def test_null_extra_property_is_an_empty_string_unless_custom():
    props = {"legacy": None, "kernel_id": None, "os_distro": None}
    out = view(artifact(props))
    assert out["legacy"] == ""
    assert out["os_distro"] == ""
    assert out["kernel_id"] == ""
    custom = Settings(custom_property_names=frozenset({"kernel_id",
                                                       "os_distro"}))
    out = view(artifact(props), custom)
    assert out["legacy"] == ""
    assert out["kernel_id"] is None and out["os_distro"] is None


def test_os_glance_properties():
    props = {"os_glance_importing_to_stores": "",
             "os_glance_failed_import": "", "os_glance_stage_host": "h1",
             "os_glance_hash_op_host": "h2"}
    out = view(artifact(props))
    assert out["os_glance_importing_to_stores"] == ""
    assert out["os_glance_failed_import"] == ""
    assert "os_glance_stage_host" not in out
    assert "os_glance_hash_op_host" not in out


def test_flags():
    out = view(artifact(protected=True, hidden=True, visibility="public"))
    assert out["protected"] is True and out["os_hidden"] is True
    assert out["visibility"] == "public"


@pytest.mark.parametrize("when,text", [
    (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),
    (datetime.datetime(2024, 1, 2, 3, 4, 5, 999999), "2024-01-02T03:04:05Z"),
    (datetime.datetime(1999, 12, 31, 23, 59, 59), "1999-12-31T23:59:59Z"),
])
def test_timestamps(when, text):
    assert serialize.timestamp(when) == text
    out = view(artifact(created_at=when, updated_at=when))
    assert out["created_at"] == out["updated_at"] == text


def test_timestamp_none():
    assert serialize.timestamp(None) is None


# --------------------------------------------------------------- locations

def test_locations_and_direct_url_are_off_by_default():
    out = view(artifact(UPLOADED, blobs=[blob()]))
    assert "locations" not in out and "direct_url" not in out


def test_locations_when_enabled():
    settings = Settings(show_multiple_locations=True)
    out = view(artifact(UPLOADED, blobs=[
        blob(metadata={"store": "file"}),
        blob(url="file:///old", status="pending_delete"),
        blob(url="file:///other-field", field="other")]), settings)
    assert out["locations"] == [{
        "url": "file:///var/lib/glance/images/" + IMAGE_ID,
        "metadata": {"store": "file"}}]
    assert list(out["locations"][0]) == ["url", "metadata"]
    assert list(out) == ["foo"] + BASE_KEYS + [
        "locations"] + TAIL_KEYS
    assert "direct_url" not in out


def test_locations_when_enabled_but_empty():
    out = view(artifact({}, status="queued"),
               Settings(show_multiple_locations=True))
    assert out["locations"] == []


def test_direct_url_when_enabled():
    settings = Settings(show_image_direct_url=True)
    out = view(artifact(UPLOADED, blobs=[blob(), blob(url="file:///b")]),
               settings)
    assert out["direct_url"] == "file:///var/lib/glance/images/" + IMAGE_ID
    assert "locations" not in out
    assert list(out) == ["foo"] + BASE_KEYS + ["direct_url"] + TAIL_KEYS
    # No data, no direct_url.
    assert "direct_url" not in view(artifact({}, status="queued"), settings)


def test_both_location_settings():
    settings = Settings(show_multiple_locations=True,
                        show_image_direct_url=True)
    out = view(artifact(UPLOADED, blobs=[blob()]), settings)
    assert list(out) == ["foo"] + BASE_KEYS + ["locations", "direct_url"] + \
        TAIL_KEYS


def test_deactivated_image_hides_locations_from_non_admins():
    settings = Settings(show_multiple_locations=True,
                        show_image_direct_url=True)
    art = artifact(UPLOADED, blobs=[blob()], status="deactivated")
    out = view(art, settings)
    assert out["locations"] == [] and "direct_url" not in out
    out = view(art, settings, is_admin=True)
    assert len(out["locations"]) == 1 and "direct_url" in out


def test_deactivated_image_hides_stores_from_non_admins():
    # Glance derives ``stores`` from the locations the caller may see
    # (found comparing a migrated deployment with real Glance).
    settings = Settings(multi_store=True)
    art = artifact(UPLOADED, blobs=[blob()], status="deactivated")
    assert "stores" not in view(art, settings)
    assert view(art, settings, is_admin=True)["stores"] == "file"
    art = artifact(UPLOADED, blobs=[blob()])
    assert view(art, settings)["stores"] == "file"


# ----------------------------------------------------------------- members

def test_member_view():
    row = {"member": "p2", "artifact_id": IMAGE_ID, "status": "pending",
           "created_at": CREATED, "updated_at": UPDATED}
    out = serialize.member_view(row)
    assert list(out) == ["member_id", "image_id", "status", "created_at",
                         "updated_at", "schema"]
    assert out == {"member_id": "p2", "image_id": IMAGE_ID,
                   "status": "pending",
                   "created_at": "2026-11-25T12:59:08Z",
                   "updated_at": "2026-11-25T13:00:09Z",
                   "schema": "/v2/schemas/member"}


# -------------------------------------------------------------------- json

def test_dumps_sends_non_ascii_raw():
    body = serialize.dumps({"name": "d\u00e9j\u00e0 \u65e5\u672c"})
    assert body == '{"name": "d\u00e9j\u00e0 \u65e5\u672c"}'.encode("utf-8")
    assert isinstance(body, bytes)


def test_tags_are_sorted_so_every_worker_renders_the_same():
    """Glance renders its tag set in hash order, which differs between
    worker processes; sorted, a list item equals the GET of the image."""
    out = serialize.image_view(artifact(tags={"zeta", "alpha", "mid"}),
                               Settings())
    assert out["tags"] == ["alpha", "mid", "zeta"]
