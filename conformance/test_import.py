"""Discovery (/v2/info/*) and interoperable import, when offered.

Import is optional: the tests of a method skip unless /v2/info/import lists
it (the endpoint's enabled_import_methods).
"""

import hashlib
import time

import pytest

DATA = b"0123456789"
OCTET = {"Content-Type": "application/octet-stream"}


def _needs_method(discovery, method):
    if method not in discovery["import_methods"]:
        pytest.skip("the endpoint does not offer the %r import method"
                    % method)


def _stage(client, image_id, data=DATA, **kw):
    return client.put("/v2/images/%s/stage" % image_id, data=data,
                      headers=dict(OCTET, **kw.pop("headers", {})), **kw)


def _import(client, image_id, body, **kw):
    return client.post("/v2/images/%s/import" % image_id, json=body, **kw)


def _wait_status(client, image_id, wanted, timeout=60):
    deadline = time.time() + timeout
    while True:
        image = client.show(image_id)
        if image["status"] == wanted:
            return image
        assert time.time() < deadline, image
        time.sleep(0.2)


GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


# -------------------------------------------------------------- discovery


def test_info_import_shape(member, discovery):
    """Glance: GET /v2/info/import is 200 {"import-methods": {"description":
    "Import methods available.", "type": "array", "value": [...]}} (Tempest's
    import classes call it in their setup)."""
    resp = member.get("/v2/info/import")
    assert resp.status_code == 200
    assert resp.json() == {"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": discovery["import_methods"]}}


def test_import_methods_header_on_create(member, discovery):
    """Glance: POST /v2/images carries OpenStack-image-import-methods, the
    comma list of the offered methods, when there are any (openstacksdk
    reads it before importing); none when the list is empty."""
    resp = member.create_image_raw({"name": "hdr"})
    assert resp.status_code == 201
    methods = discovery["import_methods"]
    if methods:
        assert resp.headers["OpenStack-image-import-methods"] == \
            ",".join(methods)
    else:
        assert "OpenStack-image-import-methods" not in resp.headers


def test_info_stores(member):
    """Glance: /v2/info/stores is 404 'Multi backend is not supported at
    this site.' with a single store, else {"stores": [{"id", "default":
    "true"?...}]} with exactly one default."""
    resp = member.get("/v2/info/stores")
    if resp.status_code == 404:
        return
    assert resp.status_code == 200
    stores = resp.json()["stores"]
    assert [s for s in stores if s.get("default") == "true"]
    assert all(not s["id"].startswith("os_glance_") for s in stores)


def test_info_usage(member):
    """Glance: /v2/info/usage is 200 {"usage": {...}}: {} without Keystone
    unified limits, else all four of its limits."""
    resp = member.get("/v2/info/usage")
    assert resp.status_code == 200
    usage = resp.json()["usage"]
    assert isinstance(usage, dict)
    # With limits: Glance's unified-limits names, all four, each {"limit",
    # "usage"} in integers (sizes in MiB; -1 unlimited).
    assert set(usage) in (set(), {
        "image_size_total", "image_stage_total", "image_count_total",
        "image_count_uploading"})
    for entry in usage.values():
        assert set(entry) == {"limit", "usage"}
        assert isinstance(entry["limit"], int) and entry["limit"] >= -1
        assert isinstance(entry["usage"], int) and entry["usage"] >= 0


@pytest.mark.parametrize("path", ["/v2/info/import", "/v2/info/stores"])
def test_info_other_methods_are_405(member, path):
    """Glance: the info routes are GET only (405, Allow: GET)."""
    resp = member.post(path)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"


# ------------------------------------------------------------ glance-direct


def test_stage_sets_uploading(member, discovery):
    """Glance: PUT /stage answers 204 with an empty body; the image becomes
    'uploading' with its size known but no checksum, and has no data to
    download yet (204)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _stage(member, image["id"])
    assert resp.status_code == 204
    assert resp.content == b""
    shown = member.show(image["id"])
    assert shown["status"] == "uploading"
    assert shown["size"] == len(DATA)
    assert shown["checksum"] is None
    assert member.get("/v2/images/%s/file" % image["id"]).status_code == 204


def test_glance_direct_import(member, discovery):
    """Glance: stage then POST /import {"method": {"name": "glance-direct"}}
    answers 202 with an empty body and the image becomes active with the
    staged data, checksum and multihash (Tempest
    test_image_glance_direct_import)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member, image["id"]).status_code == 204
    resp = _import(member, image["id"], GLANCE_DIRECT)
    assert resp.status_code == 202
    assert resp.content == b""
    assert resp.headers.get("x-openstack-request-id")
    shown = _wait_status(member, image["id"], "active")
    assert shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_value"] == \
        hashlib.new(shown["os_hash_algo"], DATA).hexdigest()
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


def _single_store(member):
    if member.get("/v2/info/stores").status_code != 404:
        pytest.skip("the endpoint has several stores")


def test_import_stores_are_ignored_with_one_store(member, discovery):
    """Glance: without enabled_backends an import's "stores", "all_stores"
    and X-Image-Meta-Store are ignored (the task gets the one store), so a
    store name that exists nowhere still imports."""
    _needs_method(discovery, "glance-direct")
    _single_store(member)
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member, image["id"]).status_code == 204
    resp = _import(member, image["id"], dict(GLANCE_DIRECT,
                                             stores=["nowhere"]),
                   headers={"X-Image-Meta-Store": "nowhere"})
    assert resp.status_code == 202, resp.text
    assert _wait_status(member, image["id"], "active")["size"] == len(DATA)


def test_stores_detail_with_one_store_is_404_before_policy(member):
    """Glance: /v2/info/stores/detail answers the single-store 404 before
    it checks the stores_info_detail policy, so a member gets 404 too."""
    _single_store(member)
    resp = member.get("/v2/info/stores/detail", headers={"Accept": None})
    assert resp.status_code == 404
    assert "Multi backend is not supported at this site." in resp.text


def test_delete_from_store_with_one_store_is_bare_404(member):
    """Glance: DELETE /v2/stores/{store}/{id} without enabled_backends is
    a 404 with WebOb's generic text (no explanation)."""
    _single_store(member)
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.delete("/v2/stores/file/%s" % image["id"],
                         headers={"Accept": None})
    assert resp.status_code == 404
    assert resp.text.startswith("404 Not Found\n\nThe resource could not "
                                "be found.")


def test_import_progress_properties(member, discovery):
    """Glance: after an import the image shows os_glance_importing_to_stores
    and os_glance_failed_import as empty strings (they stay after the
    import)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    _stage(member, image["id"])
    _import(member, image["id"], GLANCE_DIRECT)
    shown = _wait_status(member, image["id"], "active")
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["os_glance_failed_import"] == ""


def test_stage_chunked(member, discovery):
    """Glance: staging accepts chunked transfer encoding like uploads."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    data = DATA * 1000

    def gen():
        for i in range(0, len(data), 4096):
            yield data[i:i + 4096]

    assert member.put("/v2/images/%s/stage" % image["id"], data=gen(),
                      headers=OCTET).status_code == 204
    assert member.show(image["id"])["size"] == len(data)


def test_stage_twice_is_409(member, discovery):
    """Glance: staging an image that is already uploading is 409."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    _stage(member, image["id"])
    assert _stage(member, image["id"]).status_code == 409


def test_stage_active_is_409(member, discovery):
    """Glance: staging an active image is 409."""
    _needs_method(discovery, "glance-direct")
    image = member.create_active(DATA)
    assert _stage(member, image["id"]).status_code == 409


def test_stage_wrong_content_type_is_415(member, discovery):
    """Glance: staged data must be application/octet-stream (415)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put("/v2/images/%s/stage" % image["id"], data=DATA,
                      headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415


def test_stage_without_formats_then_import_is_409(member, discovery):
    """Glance: staging needs no formats, but the import then is 409
    (''container_format' needs to be set before import')."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image()
    assert _stage(member, image["id"]).status_code == 204
    assert _import(member, image["id"], GLANCE_DIRECT).status_code == 409


def test_import_unstaged_is_409(member, discovery):
    """Glance: glance-direct on a queued (not staged) image is 409 ('Image
    needs to be staged before 'glance-direct' method can be used')."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _import(member, image["id"], GLANCE_DIRECT).status_code == 409


def test_import_active_is_409(member, discovery):
    """Glance: importing into an active image is 409 ('Image with status
    active cannot be target for import')."""
    _needs_method(discovery, "glance-direct")
    image = member.create_active(DATA)
    assert _import(member, image["id"], GLANCE_DIRECT).status_code == 409


def test_stage_by_other_project_is_404(member, member_b, discovery):
    """Glance: staging into an image the caller cannot see is 404."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member_b, image["id"]).status_code == 404


def test_stage_by_reader_is_403(member, reader, discovery):
    """Glance: staging is modify_image: a reader gets 403."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(reader, image["id"]).status_code == 403


def test_delete_staged_image(member, discovery):
    """Glance: an image with staged data can be deleted (204, then 404)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    _stage(member, image["id"])
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 204
    assert member.get("/v2/images/%s" % image["id"]).status_code == 404


# ------------------------------------------------------- request checks


@pytest.mark.parametrize("body", [
    {}, {"method": {}}, {"method": {"name": "no-such-method"}},
    {"method": {"name": "glance-direct"}, "all_stores": "yes"},
    {"method": {"name": "glance-direct"}, "all_stores_must_succeed": "no"},
])
def test_bad_import_request_is_400(member, discovery, body):
    """Glance: the import body needs method.name naming an offered method,
    and boolean all_stores / all_stores_must_succeed (400)."""
    if not discovery["import_methods"]:
        pytest.skip("the endpoint offers no import method")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _import(member, image["id"], body).status_code == 400


def test_import_unknown_image_is_404(member, discovery):
    """Glance: import into an unknown image is 404."""
    if not discovery["import_methods"]:
        pytest.skip("the endpoint offers no import method")
    assert _import(member, "00000000-0000-0000-0000-000000000000",
                   GLANCE_DIRECT).status_code == 404


def test_stage_not_offered_is_404(member, discovery):
    """Glance: without glance-direct the stage route answers 404
    (''glance-direct' method is not available at this site.')."""
    if "glance-direct" in discovery["import_methods"]:
        pytest.skip("glance-direct is offered")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member, image["id"]).status_code == 404


def test_web_download_uri_filtering(member, discovery):
    """Glance: web-download refuses a URI that fails its filtering (numeric
    IPs, ports other than 80/443 by default) with 400 'URI for web-download
    does not pass filtering: <uri>'."""
    _needs_method(discovery, "web-download")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _import(member, image["id"], {"method": {
        "name": "web-download", "uri": "http://127.0.0.1:1/image"}})
    assert resp.status_code == 400
    assert "does not pass filtering" in resp.text
