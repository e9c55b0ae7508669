"""Image locations with show_multiple_locations/show_image_direct_url on:
the body's locations and direct_url, PATCH of /locations, and the v2.17
location API (POST/GET /v2/images/{id}/locations).

Needs the multi-store configuration (``python -m conformance.run glance
--multi-store``); skips elsewhere.  In it every store is a filesystem
store, and Glance refuses file:// locations given by URL (and has no http
store), so every location added by URL is 'Invalid location': the checks
pin those refusals and the order Glance checks things in.
"""

import json
import time
import uuid

import pytest

from conformance.client import PATCH_V21, Identity
from conformance.multistore import (DEFAULT_STORE, LOCATION_QUOTA,
                                    NO_ACCEPT, OTHER_STORE,
                                    assert_error, in_both_stores, location,
                                    upload_to)

pytestmark = pytest.mark.usefixtures("multi_store")


@pytest.fixture
def service(setup, clients):
    """A user of project A with only the ``service`` role (what Nova and
    Cinder use for the v2.17 location API)."""
    if setup.token_mode:
        pytest.skip("no service identity in token mode")
    member = clients("member_a")
    ident = Identity("service_a", member.project_id,
                     "service-" + uuid.uuid4().hex[:8], ("service",))
    return type(member)(setup.endpoint, ident, member.tracker)


def _patch(client, image_id, ops):
    """PATCH with the v2.1 json-patch type and no Accept (text/plain
    errors)."""
    return client.patch("/v2/images/%s" % image_id, data=json.dumps(ops),
                        headers={"Content-Type": PATCH_V21, "Accept": None})


def _add(url, **extra):
    return {"op": "add", "path": "/locations/-",
            "value": location(url, **extra)}


# -------------------------------------------------------- body and shape


def test_locations_and_direct_url_in_body(member):
    """Glance: an active image shows "locations": [{"url", "metadata":
    {"store": <id>}}] (no id, no status) and "direct_url", the first
    location's url, and "stores"; the list view carries them too.  The
    file is in the store's directory and named after the image (Glance:
    exactly its id; Glare: <id>.image.<fresh name>, a new file per
    upload)."""
    image = upload_to(member)
    [loc] = image["locations"]
    assert set(loc) == {"url", "metadata"}
    assert loc["metadata"] == {"store": DEFAULT_STORE}
    assert loc["url"].startswith("file://")
    directory, _, name = loc["url"].rpartition("/")
    assert directory.endswith("/" + DEFAULT_STORE)
    assert name.startswith(image["id"])
    assert image["direct_url"] == loc["url"]
    resp = member.get("/v2/images", params={"id": "in:" + image["id"]})
    [listed] = resp.json()["images"]
    assert listed["locations"] == image["locations"]
    assert listed["direct_url"] == image["direct_url"]
    assert listed["stores"] == DEFAULT_STORE


def test_image_without_data_has_empty_locations(member):
    """Glance: an image without data shows "locations": [] and no
    "direct_url" and no "stores" keys."""
    image = member.create_image(disk_format="raw", container_format="bare")
    assert image["locations"] == []
    assert "direct_url" not in image
    assert "stores" not in image
    shown = member.show(image["id"])
    assert shown["locations"] == []
    assert "direct_url" not in shown and "stores" not in shown


# ------------------------------------------------------- PATCH /locations


def test_add_file_location_is_invalid(member):
    """Glance: adding a file:// location, even the data of another image in
    a store's datadir, is 400 'Invalid location' (file URLs are restricted);
    the image stays queued with no locations."""
    other = upload_to(member, OTHER_STORE)
    image = member.create_image(disk_format="raw", container_format="bare")
    url = other["locations"][0]["url"]
    for metadata in ({}, {"store": OTHER_STORE}):
        resp = _patch(member, image["id"], [_add(url, metadata=metadata)])
        assert_error(resp, 400, "Invalid location")
    shown = member.show(image["id"])
    assert shown["status"] == "queued"
    assert shown["locations"] == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/image.raw",
                                 "foo://bar/image.raw",
                                 "swift+config://ref/container/obj"])
def test_add_unusable_location_is_invalid(member, url):
    """Glance: adding an http:// location (no http store, unreachable host),
    an unknown scheme or a restricted one is 400 'Invalid location'."""
    image = member.create_image(disk_format="raw", container_format="bare")
    assert_error(_patch(member, image["id"], [_add(url)]), 400,
                 "Invalid location")


def test_validation_data_needs_hash(member):
    """Glance: validation_data without os_hash_algo/os_hash_value fails the
    image schema: 400 'Provided object does not match schema 'image':
    'os_hash_algo' is a required property...'."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _patch(member, image["id"], [_add(
        "http://127.0.0.1:9/x", validation_data={"checksum": "0" * 32})])
    assert resp.status_code == 400
    assert resp.text.startswith(
        "400 Bad Request\n\nProvided object does not match schema 'image': "
        "'os_hash_algo' is a required property")


def test_validation_data_is_checked_before_the_url(member):
    """Glance: validation_data is checked before the location: on a queued
    image a hash algorithm other than the configured one is 409
    'os_hash_algo must be sha512, not <algo>'; on an active image a hash
    that differs from the image's is 409 'os_hash_value is already set with
    a different value'."""
    queued = member.create_image(disk_format="raw", container_format="bare")
    resp = _patch(member, queued["id"], [_add(
        "http://127.0.0.1:9/x", validation_data={
            "os_hash_algo": "md4", "os_hash_value": "0" * 128})])
    assert_error(resp, 409, "os_hash_algo must be sha512, not md4")
    active = upload_to(member)
    resp = _patch(member, active["id"], [_add(
        "http://127.0.0.1:9/x", validation_data={
            "os_hash_algo": "sha512", "os_hash_value": "0" * 128})])
    assert_error(resp, 409, "os_hash_value is already set with a different "
                 "value")


def test_location_quota_is_checked_before_the_url(member, admin):
    """Glance: adding a location beyond image_location_quota (2 here) is
    413 'The limit has been exceeded on the number of allowed image
    locations. Attempted: 3, Maximum: 2', even when the location itself is
    invalid."""
    image = in_both_stores(member, admin)
    assert len(image["locations"]) == LOCATION_QUOTA
    resp = _patch(member, image["id"], [_add("http://127.0.0.1:9/x")])
    assert_error(resp, 413, "The limit has been exceeded on the number of "
                 "allowed image locations. Attempted: %d, Maximum: %d"
                 % (LOCATION_QUOTA + 1, LOCATION_QUOTA))


def test_replace_location_metadata(member):
    """Glance: replacing /locations with the same urls and other metadata
    is 200 and only changes the metadata (the member may)."""
    image = upload_to(member)
    url = image["locations"][0]["url"]
    metadata = {"store": DEFAULT_STORE, "note": "kept"}
    resp = _patch(member, image["id"], [{
        "op": "replace", "path": "/locations",
        "value": [location(url, metadata=metadata)]}])
    assert resp.status_code == 200, resp.text
    assert resp.json()["locations"] == [{"url": url, "metadata": metadata}]
    assert member.show(image["id"])["locations"] == [
        {"url": url, "metadata": metadata}]


def test_replace_locations_with_empty_list_is_403(admin, member):
    """Glance: replacing /locations with [] is 403 'Cannot set locations to
    empty list.' (after the generic 403 sentence)."""
    image = upload_to(member)
    resp = _patch(admin, image["id"], [
        {"op": "replace", "path": "/locations", "value": []}])
    assert_error(resp, 403, "Cannot set locations to empty list.",
                 detail=True)


def test_remove_location_is_admin_only(member, admin):
    """Glance: removing a location is admin-only by default: the owning
    member gets 403 'You are not authorized to complete
    delete_image_location action.'"""
    image = in_both_stores(member, admin)
    resp = _patch(member, image["id"], [
        {"op": "remove", "path": "/locations/1"}])
    assert_error(resp, 403, "You are not authorized to complete "
                 "delete_image_location action.")


def test_remove_last_location_is_403(member, admin):
    """Glance: removing the only location is 403 'Cannot remove last
    location in the image.' (after the generic 403 sentence)."""
    image = upload_to(member)
    resp = _patch(admin, image["id"], [
        {"op": "remove", "path": "/locations/0"}])
    assert_error(resp, 403, "Cannot remove last location in the image.",
                 detail=True)


def test_remove_location(member, admin):
    """Glance: removing one of two locations (admin) is 200; the image
    keeps the other: "stores": "fast"; a position past the end is 400
    'Invalid position for removing a location.'"""
    image = in_both_stores(member, admin)
    resp = _patch(admin, image["id"], [
        {"op": "remove", "path": "/locations/5"}])
    assert_error(resp, 400, "Invalid position for removing a location.")
    resp = _patch(admin, image["id"], [
        {"op": "remove", "path": "/locations/1"}])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["stores"] == DEFAULT_STORE
    assert [loc["metadata"] for loc in body["locations"]] == [
        {"store": DEFAULT_STORE}]


def test_add_location_checks_status_first(member, admin):
    """Glance: adding a location to an image neither queued nor active
    (here deactivated) is 409 'It's not allowed to add locations if image
    status is deactivated.'; removing one from a queued image is 409
    'It's not allowed to remove locations if image status is queued.'."""
    image = upload_to(member)
    resp = admin.post("/v2/images/%s/actions/deactivate" % image["id"])
    assert resp.status_code == 204
    assert_error(_patch(member, image["id"], [_add("foo://x")]), 409,
                 "It's not allowed to add locations if image status is "
                 "deactivated.")
    queued = member.create_image(disk_format="raw", container_format="bare")
    assert_error(_patch(admin, queued["id"], [
        {"op": "remove", "path": "/locations/0"}]), 409,
        "It's not allowed to remove locations if image status is queued.")


def test_add_location_position_is_checked_before_the_url(member):
    """Glance: a position that is neither a number nor '-' is 400 'Invalid
    position for adding a location.', before the URL is looked at."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _patch(member, image["id"], [dict(_add("foo://x"),
                                             path="/locations/x")])
    assert_error(resp, 400, "Invalid position for adding a location.")


def test_new_validation_data_is_checked(member):
    """Glance: validation_data for a queued image must hold hex digests of
    the right size (409 'checksum (<v>) is not a valid hexadecimal
    value', 409 'os_hash_value (<v>) is not the correct size for sha512
    (should be 64 bytes)'), checked before the URL."""
    image = member.create_image(disk_format="raw", container_format="bare")
    bad = "z" * 32
    assert_error(_patch(member, image["id"], [_add(
        "foo://x", validation_data={"checksum": bad, "os_hash_algo":
                                    "sha512", "os_hash_value": "0" * 128})]),
        409, "checksum (%s) is not a valid hexadecimal value" % bad)
    assert_error(_patch(member, image["id"], [_add(
        "foo://x", validation_data={"os_hash_algo": "sha512",
                                    "os_hash_value": "00"})]),
        409, "os_hash_value (00) is not the correct size for sha512 "
        "(should be 64 bytes)")


def test_replace_with_other_urls_is_400(member):
    """Glance: replacing /locations of an image that has some with other
    URLs is 400 'Original locations is not empty: [{'id': <location id>,
    'url': ..., 'metadata': {'store': ...}, 'status': 'active'}]' (the ids
    are each server's own)."""
    image = upload_to(member)
    url = image["locations"][0]["url"]
    resp = _patch(member, image["id"], [{
        "op": "replace", "path": "/locations",
        "value": [location("foo://x")]}])
    assert resp.status_code == 400
    prefix = "400 Bad Request\n\nOriginal locations is not empty: [{'id': "
    assert resp.text.startswith(prefix), resp.text
    assert resp.text.endswith(
        ", 'url': '%s', 'metadata': {'store': '%s'}, 'status': 'active'}]"
        "\n\n   " % (url, DEFAULT_STORE))


def test_a_refused_patch_changes_nothing(member):
    """Glance: a PATCH whose location operation fails saves none of its
    other operations."""
    image = member.create_image(disk_format="raw", container_format="bare",
                                name="before")
    resp = _patch(member, image["id"], [
        {"op": "replace", "path": "/name", "value": "after"},
        _add("foo://x")])
    assert_error(resp, 400, "Invalid location")
    shown = member.show(image["id"])
    assert (shown["name"], shown["status"], shown["locations"]) == (
        "before", "queued", [])


def test_location_url_longer_than_the_schema_is_400(member):
    """Glance: a location url over 255 characters fails the image schema
    (400 'Provided object does not match schema 'image': ... is too
    long')."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _patch(member, image["id"], [_add("foo://" + "x" * 260)])
    assert resp.status_code == 400
    assert resp.text.startswith("400 Bad Request\n\nProvided object does "
                                "not match schema 'image': ")
    assert "is too long" in resp.text


# ------------------------------------------- v2.17 location API (service)


def test_get_locations_needs_service_or_admin(member):
    """Glance: GET /v2/images/{id}/locations by a member is 403 'You are not
    authorized to complete fetch_image_location action.'"""
    image = upload_to(member)
    resp = member.get("/v2/images/%s/locations" % image["id"],
                      headers=NO_ACCEPT)
    assert_error(resp, 403, "You are not authorized to complete "
                 "fetch_image_location action.")


@pytest.mark.parametrize("who", ["admin", "service"])
def test_get_locations(request, member, who):
    """Glance: GET /v2/images/{id}/locations by an admin or a service user
    is 200 with a bare JSON list [{"url", "metadata": {"store"}}]."""
    image = upload_to(member, OTHER_STORE)
    client = request.getfixturevalue(who)
    resp = client.get("/v2/images/%s/locations" % image["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json() == image["locations"]


@pytest.mark.parametrize("who", ["member", "admin"])
def test_add_location_api_needs_service_role(request, member, who):
    """Glance: POST /v2/images/{id}/locations by a member or an admin
    without the service role is 403 'http store must be enabled to use
    location API by normal user.' (there is no http store)."""
    image = member.create_image(disk_format="raw", container_format="bare")
    client = request.getfixturevalue(who)
    resp = client.post("/v2/images/%s/locations" % image["id"],
                       json={"url": "http://127.0.0.1:9/x"},
                       headers=NO_ACCEPT)
    assert_error(resp, 403, "http store must be enabled to use location "
                 "API by normal user.")


def test_add_location_api_on_active_image_is_409(member, service):
    """Glance: the service's POST /locations on an active image is 409
    'It's not allowed to add locations if image status is active.'"""
    image = upload_to(member)
    resp = service.post("/v2/images/%s/locations" % image["id"],
                        json={"url": "http://127.0.0.1:9/x"},
                        headers=NO_ACCEPT)
    assert_error(resp, 409, "It's not allowed to add locations if image "
                 "status is active.")


def test_add_location_api_filters_url(member, service):
    """Glance: the service's POST /locations with a URL the location filter
    refuses (an http:// URL with no http store) is 400 'URI for add
    location does not pass filtering: <url>'."""
    image = member.create_image(disk_format="raw", container_format="bare")
    url = "http://127.0.0.1:9/x"
    resp = service.post("/v2/images/%s/locations" % image["id"],
                        json={"url": url}, headers=NO_ACCEPT)
    assert_error(resp, 400, "URI for add location does not pass filtering: "
                 "%s" % url)


def test_add_location_api_requires_url(member, service):
    """Glance: POST /locations without "url" is 400 'Provided object does not
    match schema 'location': 'url' is a required property...'."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = service.post("/v2/images/%s/locations" % image["id"], json={},
                        headers=NO_ACCEPT)
    assert resp.status_code == 400
    assert resp.text.startswith(
        "400 Bad Request\n\nProvided object does not match schema "
        "'location': 'url' is a required property")


def test_add_location_api_is_asynchronous(member, service):
    """Glance: the service's POST /locations on a queued image with a
    file:// URL is 202 with an empty body: the location is checked later by
    a task, which fails, leaving the image queued with no locations."""
    other = upload_to(member)
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = service.post("/v2/images/%s/locations" % image["id"],
                        json={"url": other["locations"][0]["url"]})
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    deadline = time.time() + 30
    while True:
        shown = member.show(image["id"])
        if "os_glance_import_task" not in shown:
            break
        assert time.time() < deadline, shown
        time.sleep(0.2)
    assert shown["status"] == "queued"
    assert shown["locations"] == []
    listed = service.get("/v2/images/%s/locations" % image["id"])
    assert listed.status_code == 200
    assert listed.json() == []


def test_add_location_api_checks_the_hash_form(member, service):
    """Glance: a validation_data hash that is not hex is 400 'os_hash_value
    (<v>) is not a valid hexadecimal value'; one of the wrong size is 400
    'os_hash_value: (<v>) is not the correct size for (<algo>) (should be
    (<n>) bytes)'; os_hash_algo without os_hash_value fails the schema."""
    image = member.create_image(disk_format="raw", container_format="bare")
    path = "/v2/images/%s/locations" % image["id"]
    resp = service.post(path, json={"url": "foo://x", "validation_data": {
        "os_hash_algo": "sha256", "os_hash_value": "zz"}}, headers=NO_ACCEPT)
    assert_error(resp, 400, "os_hash_value (zz) is not a valid hexadecimal "
                 "value")
    resp = service.post(path, json={"url": "foo://x", "validation_data": {
        "os_hash_algo": "sha256", "os_hash_value": "00"}}, headers=NO_ACCEPT)
    assert_error(resp, 400, "os_hash_value: (00) is not the correct size "
                 "for (sha256) (should be (32) bytes)")
    resp = service.post(path, json={"url": "foo://x", "validation_data": {
        "os_hash_algo": "sha256"}}, headers=NO_ACCEPT)
    assert resp.status_code == 400
    assert resp.text.startswith(
        "400 Bad Request\n\nProvided object does not match schema "
        "'location': 'os_hash_value' is a dependency of 'os_hash_algo'")


def test_add_location_api_on_unknown_or_hidden_image_is_404(
        member, service, clients):
    """Glance: POST and GET /locations of an image that does not exist, or
    of another project's private image, are 404."""
    other = clients("member_b").create_image(visibility="private")
    for image_id in (str(uuid.uuid4()), other["id"]):
        path = "/v2/images/%s/locations" % image_id
        assert service.post(path, json={"url": "foo://x"},
                            headers=NO_ACCEPT).status_code == 404
        assert service.get(path, headers=NO_ACCEPT).status_code == 404


def test_get_locations_of_a_deactivated_image(member, admin, service):
    """Glance: GET /locations of a deactivated image is [] for a service
    user and the locations for an admin."""
    image = upload_to(member)
    resp = admin.post("/v2/images/%s/actions/deactivate" % image["id"])
    assert resp.status_code == 204
    path = "/v2/images/%s/locations" % image["id"]
    assert service.get(path).json() == []
    assert admin.get(path).json() == image["locations"]


def test_get_locations_route_other_methods_are_405(member, service):
    """Glance: PUT, PATCH or DELETE on /locations is 405 with 'Allow:
    POST' (its reject route leaves out GET)."""
    image = member.create_image(disk_format="raw", container_format="bare")
    path = "/v2/images/%s/locations" % image["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        resp = service.request(method, path, headers=NO_ACCEPT)
        assert resp.status_code == 405
        assert resp.headers["Allow"] == "POST"
