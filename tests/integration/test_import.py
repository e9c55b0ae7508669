"""Interoperable import (glance-direct) through the real server and clients."""

import openstack
import pytest
import requests

from tests.integration.helpers import (ADMIN, create_image, data_files,
                                       get_image, md5, sha512, unique)

pytestmark = pytest.mark.integration

OCTET = dict(ADMIN, **{"Content-Type": "application/octet-stream"})


def _import(url, image_id, body):
    # text/plain errors: WebOb's HTML form escapes the quotes.
    return requests.post(url + "/v2/images/%s/import" % image_id, json=body,
                         headers=dict(ADMIN, Accept="text/plain"),
                         timeout=30)


def test_create_advertises_glances_default_methods(server):
    resp = requests.post(server.url + "/v2/images", json={"name": unique()},
                         headers=ADMIN, timeout=30)
    assert resp.headers["OpenStack-image-import-methods"] == \
        "glance-direct,web-download,copy-image"
    info = requests.get(server.url + "/v2/info/import", headers=ADMIN,
                        timeout=30).json()
    assert info["import-methods"]["value"] == [
        "glance-direct", "web-download", "copy-image"]
    versions = requests.get(server.url + "/versions", timeout=30).json()
    ids = [v["id"] for v in versions["versions"]]
    assert "v2.6" in ids and ids[0] == "v2.17"


def test_stage_then_import(server):
    data = b"staged bytes" * 1000
    image = create_image(server.url, name=unique("imp"))
    resp = requests.put(server.url + "/v2/images/%s/stage" % image["id"],
                        data=data, headers=OCTET, timeout=30)
    assert resp.status_code == 204, resp.text
    staged = get_image(server.url, image["id"]).json()
    assert (staged["status"], staged["size"], staged["checksum"]) == \
        ("uploading", len(data), None)
    # A second stage or a plain upload now conflicts.
    assert requests.put(server.url + "/v2/images/%s/stage" % image["id"],
                        data=b"x", headers=OCTET,
                        timeout=30).status_code == 409
    resp = _import(server.url, image["id"],
                   {"method": {"name": "glance-direct"}})
    assert resp.status_code == 202 and resp.content == b""
    done = get_image(server.url, image["id"]).json()
    assert done["status"] == "active"
    assert done["checksum"] == md5(data)
    assert done["os_hash_value"] == sha512(data)
    body = requests.get(server.url + "/v2/images/%s/file" % image["id"],
                        headers=ADMIN, timeout=30).content
    assert body == data
    requests.delete(server.url + "/v2/images/" + image["id"], headers=ADMIN,
                    timeout=30)
    assert data_files(server.datadir, image["id"]) == []


@pytest.mark.parametrize("body,status,text", [
    ({}, 400, "requires a 'method' field"),
    ({"method": {}}, 400, "requires a 'name' field"),
    ({"method": {"name": "glance-download"}}, 400,
     "Unknown import method name 'glance-download'."),
    ({"method": {"name": "glance-direct"}, "all_stores": "yes"}, 400,
     "'all_stores' must be boolean value only"),
    ({"method": {"name": "glance-direct"}}, 409,
     "needs to be staged before 'glance-direct'"),
])
def test_import_errors(server, body, status, text):
    image = create_image(server.url, name=unique("imp"))
    resp = _import(server.url, image["id"], body)
    assert resp.status_code == status
    assert text in resp.text


def test_import_needs_formats(server):
    resp = requests.post(server.url + "/v2/images", json={"name": unique()},
                         headers=ADMIN, timeout=30)
    image_id = resp.json()["id"]
    assert requests.put(server.url + "/v2/images/%s/stage" % image_id,
                        data=b"abc", headers=OCTET,
                        timeout=30).status_code == 204
    resp = _import(server.url, image_id, {"method": {"name": "glance-direct"}})
    assert resp.status_code == 409
    assert "'container_format' needs to be set before import" in resp.text


def test_openstacksdk_import(server):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url)
    data = b"sdk import" * 500
    image = conn.image.create_image(
        name=unique("sdkimp"), data=data, disk_format="raw",
        container_format="bare", use_import=True)
    got = conn.image.get_image(image.id)
    assert got.status == "active" and got.checksum == md5(data)
    assert b"".join(conn.image.download_image(got, stream=True)
                    .iter_content(65536)) == data
    conn.image.delete_image(got)
