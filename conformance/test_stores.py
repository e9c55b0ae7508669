"""Several stores: discovery, upload to a store, copy-image, delete from a
store (Glance's multi-store surface).

Needs the multi-store configuration (``python -m conformance.run glance
--multi-store``: filesystem stores ``fast``, the default, weight 100, and
``cold``, weight 50, and the S3 store ``cloud``, weight 10, on a moto
server); skips elsewhere.  copy-image and deleting from a store are
admin-only under Glance's default policies.
"""

import re
import uuid

import pytest

from conformance.multistore import (ALL_STORES, DATA, DEFAULT_STORE,
                                    NO_ACCEPT, OCTET, OTHER_STORE,
                                    S3_STORE, assert_error, copied, copied_to,
                                    copy_to, import_, in_both_stores,
                                    in_stores, upload_to, wait_for)

pytestmark = pytest.mark.usefixtures("multi_store")

BOTH = "%s,%s" % (DEFAULT_STORE, OTHER_STORE)
UNKNOWN_IMAGE = "00000000-0000-0000-0000-000000000000"
MiB = 1024 * 1024
# Configured in MB in both servers' [cloud] section (conformance.s3).
S3_PART = 5 * MiB


# -------------------------------------------------------------- discovery


@pytest.mark.parametrize("who", ["member", "reader", "admin"])
def test_info_stores_lists_every_store(request, multi_store, who):
    """Glance: GET /v2/info/stores is 200 {"stores": [{"id", "description",
    "default": "true"}, {"id", "description"}, ...]} in enabled_backends
    order (the S3 store like the others), the same for every role; only
    the default store has "default" (the string "true"); no weight, type or
    properties; the reserved os_glance_* stores are not listed."""
    client = request.getfixturevalue(who)
    resp = client.get("/v2/info/stores")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"stores": [
        {"id": DEFAULT_STORE, "description": multi_store[DEFAULT_STORE],
         "default": "true"},
        {"id": OTHER_STORE, "description": multi_store[OTHER_STORE]},
        {"id": S3_STORE, "description": multi_store[S3_STORE]}]}


def test_info_stores_detail_is_admin_only(member):
    """Glance: GET /v2/info/stores/detail by a non-admin is 403 'You are
    not authorized to complete stores_info_detail action.'"""
    resp = member.get("/v2/info/stores/detail", headers=NO_ACCEPT)
    assert_error(resp, 403, "You are not authorized to complete "
                 "stores_info_detail action.")


def test_info_stores_detail_for_admin(admin, multi_store):
    """Glance: GET /v2/info/stores/detail by an admin is 200; each store
    adds "type" ("file", "s3"), "weight" (its configured weight) and
    "properties" ({"data_dir": its filesystem_store_datadir, "chunk_size":
    65536, "thin_provisioning": false} for a file store;
    {"s3_store_large_object_size", "s3_store_large_object_chunk_size"} in
    bytes (configured in MB) and "s3_store_thread_pools": 10 for an s3
    store, never its keys or host)."""
    resp = admin.get("/v2/info/stores/detail")
    assert resp.status_code == 200, resp.text
    stores = resp.json()["stores"]
    assert [s["id"] for s in stores] == [DEFAULT_STORE, OTHER_STORE,
                                         S3_STORE]
    for store, weight in zip(stores, (100, 50, 10)):
        expected_keys = {"id", "description", "type", "properties",
                         "weight"}
        if store["id"] == DEFAULT_STORE:
            expected_keys.add("default")
            assert store["default"] == "true"
        assert set(store) == expected_keys
        assert store["description"] == multi_store[store["id"]]
        assert store["weight"] == weight
        if store["id"] == S3_STORE:
            assert store["type"] == "s3"
            assert store["properties"] == {
                "s3_store_large_object_size": S3_PART,
                "s3_store_large_object_chunk_size": S3_PART,
                "s3_store_thread_pools": 10}
            continue
        assert store["type"] == "file"
        props = store["properties"]
        assert set(props) == {"data_dir", "chunk_size", "thin_provisioning"}
        assert props["data_dir"].endswith("/%s/" % store["id"])
        assert props["chunk_size"] == 65536
        assert props["thin_provisioning"] is False


def test_multi_store_versions(anonymous):
    """Glance: with enabled_backends (and no image cache) GET /versions
    offers v2.17 as CURRENT and the multi-store versions v2.8-v2.11, v2.13
    and v2.15 as SUPPORTED, and none of the cache API versions (v2.14,
    v2.16, v2.18)."""
    resp = anonymous.get("/versions")
    assert resp.status_code == 200
    status = {v["id"]: v["status"] for v in resp.json()["versions"]}
    assert status.pop("v2.17") == "CURRENT"
    assert {"v2.8", "v2.9", "v2.10", "v2.11", "v2.13", "v2.15"} <= set(
        status)
    assert not {"v2.14", "v2.16", "v2.18"} & set(status)
    assert set(status.values()) == {"SUPPORTED"}


def test_multi_store_versions_are_glances(anonymous):
    """Glance: the whole list is v2.17 (CURRENT) and v2.0-v2.13 and v2.15
    (SUPPORTED)."""
    resp = anonymous.get("/versions")
    status = {v["id"]: v["status"] for v in resp.json()["versions"]}
    assert status.pop("v2.17") == "CURRENT"
    assert set(status) == {"v2.%d" % n for n in range(16)} - {"v2.14"}


def test_store_ids_header_on_create_only(member):
    """Glance: the 201 of POST /v2/images carries OpenStack-image-store-ids,
    the comma list of enabled_backends ("fast,cold,cloud"), next to
    OpenStack-image-import-methods; GET and PATCH of the image do not."""
    resp = member.create_image_raw({"name": "store-ids"})
    assert resp.status_code == 201
    assert resp.headers["OpenStack-image-store-ids"] == ALL_STORES
    assert resp.headers["OpenStack-image-import-methods"] == \
        "glance-direct,copy-image"
    image_id = resp.json()["id"]
    shown = member.get("/v2/images/%s" % image_id)
    assert "OpenStack-image-store-ids" not in shown.headers
    patched = member.patch_image(image_id, [
        {"op": "replace", "path": "/name", "value": "x"}])
    assert patched.status_code == 200
    assert "OpenStack-image-store-ids" not in patched.headers


# ----------------------------------------------------------------- upload


def test_upload_goes_to_default_store(member):
    """Glance: PUT /file without X-Image-Meta-Store writes to the default
    store: "stores": "fast" (a comma string, not a list)."""
    image = upload_to(member)
    assert image["stores"] == DEFAULT_STORE


def test_upload_to_named_store(member):
    """Glance: PUT /file with X-Image-Meta-Store: cold is 204 and writes to
    that store: "stores": "cold", one location with metadata {"store":
    "cold"}."""
    image = upload_to(member, OTHER_STORE)
    assert image["status"] == "active"
    assert image["stores"] == OTHER_STORE
    assert [loc["metadata"] for loc in image["locations"]] == [
        {"store": OTHER_STORE}]


def test_upload_to_unknown_store_is_400(member):
    """Glance: PUT /file with X-Image-Meta-Store naming no store is 400
    'Store for identifier <id> not found' and the image stays queued
    without stores."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.upload(image["id"], DATA,
                         headers=dict(NO_ACCEPT,
                                      **{"X-Image-Meta-Store": "nope"}))
    assert_error(resp, 400, "Store for identifier nope not found")
    shown = member.show(image["id"])
    assert shown["status"] == "queued"
    assert "stores" not in shown


def test_stage_ignores_store_header(member):
    """Glance: PUT /stage always writes to the staging store: an unknown
    X-Image-Meta-Store is ignored (204), the image is 'uploading' with no
    "stores"."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put("/v2/images/%s/stage" % image["id"], data=DATA,
                      headers=dict(OCTET, **{"X-Image-Meta-Store": "nope"}))
    assert resp.status_code == 204
    shown = member.show(image["id"])
    assert shown["status"] == "uploading"
    assert "stores" not in shown


def test_glance_direct_import_to_named_store(member):
    """Glance: glance-direct with "stores": ["cold"] is 202; the image
    becomes active in that store only, with os_glance_importing_to_stores
    and os_glance_failed_import both "" afterwards."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put("/v2/images/%s/stage" % image["id"], data=DATA,
                      headers=OCTET)
    assert resp.status_code == 204
    resp = import_(member, image["id"], {
        "method": {"name": "glance-direct"}, "stores": [OTHER_STORE]})
    assert resp.status_code == 202, resp.text
    done = wait_for(member, image["id"], lambda i: i["status"] == "active")
    assert done["stores"] == OTHER_STORE
    assert done["os_glance_importing_to_stores"] == ""
    assert done["os_glance_failed_import"] == ""


@pytest.mark.parametrize("must_succeed", [True, False])
def test_glance_direct_import_to_all_stores(member, must_succeed):
    """Glance: glance-direct with "all_stores": true is 202; once the
    import is over (the image active, os_glance_importing_to_stores empty,
    the task's os_glance_import_task lock gone) it is in every writable
    store.  (With all_stores_must_succeed false Glance turns the image
    active after the first store and goes on with the others.)"""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put("/v2/images/%s/stage" % image["id"], data=DATA,
                      headers=OCTET)
    assert resp.status_code == 204
    resp = import_(member, image["id"], {
        "method": {"name": "glance-direct"}, "all_stores": True,
        "all_stores_must_succeed": must_succeed})
    assert resp.status_code == 202, resp.text
    done = wait_for(member, image["id"], lambda i: (
        i["status"] == "active" and not i["os_glance_importing_to_stores"]
        and "os_glance_import_task" not in i))
    assert sorted(done["stores"].split(",")) == sorted(
        ALL_STORES.split(","))
    assert done["os_glance_failed_import"] == ""


@pytest.mark.parametrize("body, headers", [
    ({"all_stores": True, "stores": [OTHER_STORE]}, {}),
    ({"all_stores": True}, {"X-Image-Meta-Store": OTHER_STORE}),
    ({"stores": [OTHER_STORE]}, {"X-Image-Meta-Store": OTHER_STORE}),
])
def test_import_store_choices_that_contradict_are_400(member, body,
                                                      headers):
    """Glance (utils.get_stores_from_request): all_stores with stores or
    the X-Image-Meta-Store header, or stores with the header, is 400."""
    image = member.create_image(disk_format="raw", container_format="bare")
    member.put("/v2/images/%s/stage" % image["id"], data=DATA,
               headers=OCTET)
    resp = import_(member, image["id"], dict(
        body, method={"name": "glance-direct"}), headers=headers)
    assert resp.status_code == 400, resp.text
    assert ("can't be used with" in resp.text
            or "can't be both specified" in resp.text)
    assert member.show(image["id"])["status"] == "uploading"


# ------------------------------------------------------------- copy-image


def test_copy_image_to_store(member, admin):
    """Glance: copy-image with "stores": ["cold"] (admin) is 202 with an
    empty body; the image ends with "stores": "fast,cold", a location per
    store in that order (metadata {"store": id}), direct_url still the
    first one, os_glance_importing_to_stores "" and os_glance_failed_import
    "" (os_glance_import_task, the task's lock, is removed when it ends)."""
    image = upload_to(member)
    resp = copy_to(admin, image["id"], [OTHER_STORE])
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    done = wait_for(member, image["id"], copied)
    assert [loc["metadata"] for loc in done["locations"]] == [
        {"store": DEFAULT_STORE}, {"store": OTHER_STORE}]
    assert done["direct_url"] == done["locations"][0]["url"]
    assert done["os_glance_importing_to_stores"] == ""
    assert done["os_glance_failed_import"] == ""
    download = member.get("/v2/images/%s/file" % image["id"])
    assert download.content == DATA


@pytest.mark.parametrize("must_succeed", [True, False])
def test_copy_image_to_all_stores(member, admin, must_succeed):
    """Glance: copy-image with "all_stores": true copies to every store the
    image is not in yet (202; the S3 store too), with
    all_stores_must_succeed true or false."""
    image = upload_to(member)
    resp = copy_to(admin, image["id"], all_stores=True,
                   all_stores_must_succeed=must_succeed)
    assert resp.status_code == 202, resp.text
    done = wait_for(member, image["id"], copied_to(ALL_STORES))
    assert done["os_glance_failed_import"] == ""


def test_copy_image_to_all_stores_when_everywhere_is_202(member, admin):
    """Glance: copy-image with "all_stores": true on an image already in
    every store is still 202 (nothing to do, no task)."""
    image = in_stores(member, admin, [OTHER_STORE, S3_STORE])
    resp = copy_to(admin, image["id"], all_stores=True)
    assert resp.status_code == 202, resp.text
    assert member.show(image["id"])["stores"] == ALL_STORES


def test_copy_image_to_store_it_is_in_is_400(member, admin):
    """Glance: copy-image to a store the image is already in is 400 'Image
    is already present at store '<id>''; without "stores" the target is the
    default store, so the same 400 names it."""
    image = upload_to(member)
    assert_error(copy_to(admin, image["id"], [DEFAULT_STORE]), 400,
                 "Image is already present at store '%s'" % DEFAULT_STORE)
    assert_error(copy_to(admin, image["id"]), 400,
                 "Image is already present at store '%s'" % DEFAULT_STORE)


def test_copy_image_to_unknown_store_is_409(member, admin):
    """Glance: copy-image to a store that does not exist is 409 (not 400)
    'Store for identifier <id> not found'."""
    image = upload_to(member)
    assert_error(copy_to(admin, image["id"], ["nope"]), 409,
                 "Store for identifier nope not found")


def test_copy_image_of_queued_image_is_409(member, admin):
    """Glance: copy-image of an image that is not active is 409 'Only images
    with status active can be targeted for copying'."""
    image = member.create_image(disk_format="raw", container_format="bare")
    assert_error(copy_to(admin, image["id"], [OTHER_STORE]), 409,
                 "Only images with status active can be targeted for "
                 "copying")


def test_copy_image_by_owner_member_is_403(member):
    """Glance: copy-image is admin-only by default: the owning member gets
    403 'You are not authorized to complete copy_image action.'"""
    image = upload_to(member)
    assert_error(copy_to(member, image["id"], [OTHER_STORE]), 403,
                 "You are not authorized to complete copy_image action.")


def test_copy_image_of_invisible_image_is_404(member, member_b):
    """Glance: copy-image of another project's private image is 404 'No
    image found with ID <id>' (the image is not visible)."""
    image = upload_to(member, visibility="private")
    assert_error(copy_to(member_b, image["id"], [OTHER_STORE]), 404,
                 "No image found with ID %s" % image["id"])


# ---------------------------------------------------- delete from a store


def test_delete_from_store(member, admin):
    """Glance: DELETE /v2/stores/{store}/{id} (admin) is 204 with an empty
    body; the image keeps its other store: "stores": "fast", one location,
    still active and downloadable."""
    image = in_both_stores(member, admin)
    resp = admin.delete("/v2/stores/%s/%s" % (OTHER_STORE, image["id"]))
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    shown = member.show(image["id"])
    assert shown["status"] == "active"
    assert shown["stores"] == DEFAULT_STORE
    assert [loc["metadata"] for loc in shown["locations"]] == [
        {"store": DEFAULT_STORE}]
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


def test_delete_from_store_by_member_is_403(member, admin):
    """Glance: deleting from a store is admin-only by default: 403 'You are
    not authorized to complete delete_image_location action.'"""
    image = in_both_stores(member, admin)
    resp = member.delete("/v2/stores/%s/%s" % (OTHER_STORE, image["id"]),
                         headers=NO_ACCEPT)
    assert_error(resp, 403, "You are not authorized to complete "
                 "delete_image_location action.")


def test_delete_from_only_store_is_403(member, admin):
    """Glance: deleting the data from the only store holding it is 403
    'Cannot delete image data from the only store containing it. Consider
    deleting the image instead.' (also when the store named is not that
    store)."""
    image = upload_to(member)
    for store in (DEFAULT_STORE, OTHER_STORE):
        resp = admin.delete("/v2/stores/%s/%s" % (store, image["id"]),
                            headers=NO_ACCEPT)
        assert_error(resp, 403, "Cannot delete image data from the only "
                     "store containing it. Consider deleting the image "
                     "instead.")


def test_delete_from_unknown_store_is_409(member, admin):
    """Glance: DELETE /v2/stores/<unknown>/{id} is 409 'The selected store
    <id> is not available on this node.' (checked before the image)."""
    image = upload_to(member)
    for image_id in (image["id"], UNKNOWN_IMAGE):
        resp = admin.delete("/v2/stores/nope/%s" % image_id,
                            headers=NO_ACCEPT)
        assert_error(resp, 409, "The selected store nope is not available "
                     "on this node.")


def test_delete_from_store_of_unknown_image_is_404(admin):
    """Glance: DELETE /v2/stores/{store}/<no such image> is 404 'Failed to
    find image <id>'."""
    image_id = str(uuid.uuid4())
    resp = admin.delete("/v2/stores/%s/%s" % (DEFAULT_STORE, image_id),
                        headers=NO_ACCEPT)
    assert_error(resp, 404, "Failed to find image %s" % image_id)


def test_delete_from_store_of_queued_image_is_409(member, admin):
    """Glance: deleting from a store while the image is not active is 409
    'It's not allowed to remove image data from store if image status is
    not 'active''."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = admin.delete("/v2/stores/%s/%s" % (DEFAULT_STORE, image["id"]),
                        headers=NO_ACCEPT)
    assert_error(resp, 409, "It's not allowed to remove image data from "
                 "store if image status is not 'active'")


def test_store_route_is_delete_only(member, admin):
    """Glance: /v2/stores/{store}/{id} answers only DELETE (GET is 405,
    Allow: DELETE)."""
    image = upload_to(member)
    resp = admin.get("/v2/stores/%s/%s" % (DEFAULT_STORE, image["id"]))
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "DELETE"


# ---------------------------------------------------------- the S3 store


def _s3_url(image_id):
    """Glance's s3 location of an image: s3://<endpoint host[:port]>/
    <bucket>/<object>, the object's name starting with the image id, no
    credentials."""
    return re.compile(r"^s3://[^/@]+/[a-z0-9][a-z0-9.-]+/%s"
                      % re.escape(image_id))


def test_upload_to_s3_store(member):
    """Glance: PUT /file with X-Image-Meta-Store: cloud (an s3 store) is
    204; "stores": "cloud", one location {"store": "cloud"} whose URL is
    s3://<endpoint host>/<bucket>/<object named after the image>, also the
    direct_url; the data reads back."""
    image = upload_to(member, S3_STORE)
    assert image["status"] == "active"
    assert image["stores"] == S3_STORE
    [loc] = image["locations"]
    assert loc["metadata"] == {"store": S3_STORE}
    assert _s3_url(image["id"]).match(loc["url"]), loc["url"]
    assert image["direct_url"] == loc["url"]
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


def test_upload_to_s3_store_in_parts(member):
    """Glance: an image larger than s3_store_large_object_size goes to S3
    in parts (multipart upload); it reads back whole, same checksum."""
    data = bytes(range(256)) * (S3_PART // 256 + 4096)
    image = upload_to(member, S3_STORE, data=data)
    assert (image["status"], image["size"]) == ("active", len(data))
    body = member.get("/v2/images/%s/file" % image["id"]).content
    assert body == data


def test_copy_image_into_s3_store_then_read_from_it(member, admin):
    """Glance: copy-image into the s3 store (202) adds its location after
    the file store's (lower weight); once the file copy is deleted the
    data is read from S3."""
    image = in_stores(member, admin, [S3_STORE])
    assert [loc["metadata"] for loc in image["locations"]] == [
        {"store": DEFAULT_STORE}, {"store": S3_STORE}]
    assert _s3_url(image["id"]).match(image["locations"][1]["url"])
    resp = admin.delete("/v2/stores/%s/%s" % (DEFAULT_STORE, image["id"]))
    assert resp.status_code == 204, resp.text
    shown = member.show(image["id"])
    assert shown["stores"] == S3_STORE
    assert shown["direct_url"] == image["locations"][1]["url"]
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


def test_delete_from_s3_store(member, admin):
    """Glance: DELETE /v2/stores/cloud/{id} is 204; the image keeps its
    file store copy."""
    image = in_stores(member, admin, [S3_STORE])
    resp = admin.delete("/v2/stores/%s/%s" % (S3_STORE, image["id"]))
    assert resp.status_code == 204, resp.text
    shown = member.show(image["id"])
    assert shown["stores"] == DEFAULT_STORE
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


@pytest.mark.glance_deviation(
    "glance_store's s3 driver cannot read a range: Glance answers 400 "
    "'Getting images randomly from this store is not supported.' to a "
    "Range request of an image whose data is in S3, though the same "
    "request is 206 for a file store; Glare reads ranges from every store")
def test_range_download_from_s3_store(member):
    """A Range request of an image in the s3 store is 206 with those bytes
    and Content-Range, as for a file store."""
    image = upload_to(member, S3_STORE)
    resp = member.get("/v2/images/%s/file" % image["id"],
                      headers={"Range": "bytes=2-5"})
    assert resp.status_code == 206, (resp.status_code, resp.text[:300])
    assert resp.content == DATA[2:6]
    assert resp.headers["Content-Range"] == "bytes 2-5/%d" % len(DATA)
