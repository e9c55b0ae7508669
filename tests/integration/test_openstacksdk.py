"""openstacksdk's image proxy against a real Glare, without Keystone.

The connection uses keystoneauth's ``admin_token`` (token_endpoint) plugin
with the *unversioned* Glare URL as the image endpoint override, so every
request carries ``X-Auth-Token`` and the SDK finds ``/v2/`` through
keystoneauth version discovery on Glare's ``GET /`` (300) document, exactly
as it would with a catalog entry.
"""

import hashlib
import os
import time

import openstack
import openstack.connection
import pytest
import requests
from openstack import exceptions as sdk_exc

from tests.integration.helpers import ADMIN, unique

pytestmark = pytest.mark.integration


def connect(server):
    return openstack.connection.Connection(
        auth_type="admin_token",
        auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url,
        image_api_version="2")


@pytest.fixture(scope="module")
def conn(server):
    connection = connect(server)
    yield connection
    connection.close()


def _wait_for_log(server, needle, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if needle in server.log_text():
            return True
        time.sleep(0.05)
    return False


def test_version_discovery_uses_root_document(server):
    fresh = connect(server)
    try:
        # The override has no version: the /v2/ comes from the document.
        assert fresh.image.get_endpoint() == server.url + "/v2/"
        assert fresh.image.get_api_major_version() == (2, 0)
    finally:
        fresh.close()
    assert _wait_for_log(server, "glare.access GET / 300 ")


def test_create_from_bytes_and_download(conn):
    data = os.urandom(300 * 1024)
    name = unique("sdk")
    image = conn.image.create_image(
        name, data=data, disk_format="raw", container_format="bare",
        validate_checksum=True, tags=["sdk"], os_distro="fedora",
        min_ram=128, allow_duplicates=True)
    assert image.name == name
    assert image.status == "active"
    assert image.size == len(data)
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert image.hash_algo == "sha512"
    assert image.hash_value == hashlib.sha512(data).hexdigest()
    assert image.visibility == "shared"
    assert image.tags == ["sdk"]
    assert image.min_ram == 128
    assert image.os_distro == "fedora"  # a property the SDK models
    props = image.properties
    # The SDK's own dotted, partly empty properties are accepted.
    assert props["owner_specified.openstack.object"] == "images/" + name
    assert props["owner_specified.openstack.md5"] == \
        hashlib.md5(data).hexdigest()
    assert props["owner_specified.openstack.sha256"] == \
        hashlib.sha256(data).hexdigest()

    # download_image verifies os_hash_value (InvalidResponse on mismatch).
    response = conn.image.download_image(image)
    assert response.content == data
    assert response.headers["Content-MD5"] == image.checksum
    # Streamed, by id.
    streamed = conn.image.download_image(image.id, stream=True)
    assert b"".join(streamed.iter_content(64 * 1024)) == data


def test_create_from_file_and_find(conn, tmp_path):
    path = tmp_path / "disk.img"
    data = b"\x00" * 4096 + os.urandom(4096)
    path.write_bytes(data)
    name = unique("sdk-file")
    image = conn.image.create_image(name, filename=str(path),
                                    disk_format="raw",
                                    container_format="bare")
    # Without wait/validate_checksum the SDK returns the POST response.
    assert image.status == "queued"
    image = conn.image.get_image(image.id)
    assert image.status == "active"
    assert image.size == len(data)

    found = conn.image.find_image(name)
    assert found is not None and found.id == image.id
    assert conn.image.find_image(image.id).id == image.id
    assert conn.image.find_image(unique("missing")) is None
    with pytest.raises(sdk_exc.NotFoundException):
        conn.image.find_image(unique("missing"), ignore_missing=False)

    # Not duplicated: create_image with an existing name and the same
    # hashes (recorded by a checksum-validated create) returns the
    # existing image instead of uploading again.
    name2 = unique("sdk-dedup")
    first = conn.image.create_image(name2, filename=str(path),
                                    disk_format="raw",
                                    container_format="bare",
                                    validate_checksum=True)
    again = conn.image.create_image(name2, filename=str(path),
                                    disk_format="raw",
                                    container_format="bare",
                                    validate_checksum=True)
    assert again.id == first.id
    assert len(list(conn.image.images(name=name2))) == 1
    out = tmp_path / "out.img"
    conn.image.download_image(image, output=str(out))
    assert out.read_bytes() == data


def test_images_paging(conn, server):
    tag = unique("page")
    names = ["%s-%d" % (tag, i) for i in range(7)]
    ids = {}
    for name in reversed(names):
        ids[name] = conn.image.create_image(
            name, disk_format="raw", container_format="bare", tags=[tag],
            allow_duplicates=True, wait=False, data=b"x").id
    # limit=2 is the page size: 4 pages walked via `next`.
    listed = list(conn.image.images(tag=tag, limit=2, sort="name:asc"))
    assert [i.name for i in listed] == names
    assert [i.id for i in listed] == [ids[n] for n in names]
    # The pages really were separate requests, each after the previous
    # page's last image.
    for name in names[1:6:2]:
        assert _wait_for_log(server, "marker=%s" % ids[name])

    by_key = list(conn.image.images(tag=tag, limit=3, sort_key="name",
                                    sort_dir="desc"))
    assert [i.name for i in by_key] == names[::-1]

    # A plain filter on top of paging.
    only = list(conn.image.images(name=names[4], limit=1))
    assert [i.id for i in only] == [ids[names[4]]]


def test_update_image(conn, server):
    image = conn.image.create_image(
        unique("sdk-upd"), data=b"payload", disk_format="raw",
        container_format="bare", allow_duplicates=True, color="red")
    new_name = unique("renamed")
    # With the Image object: a diff (replace / add) patch.
    updated = conn.image.update_image(image, name=new_name, color="blue",
                                      flavour="vanilla", min_disk=2)
    assert updated.name == new_name
    assert updated.min_disk == 2
    record = requests.get(server.url + "/v2/images/" + image.id,
                          headers=ADMIN, timeout=30).json()
    assert record["name"] == new_name
    assert record["color"] == "blue"
    assert record["flavour"] == "vanilla"
    assert record["min_disk"] == 2

    # By id (what OSC does): every change is an `add` op, which must act as
    # an upsert.
    conn.image.update_image(image.id, name=new_name + "-2",
                            is_protected=True, color="green")
    fetched = conn.image.get_image(image.id)
    assert fetched.name == new_name + "-2"
    assert fetched.is_protected is True
    assert fetched.properties["color"] == "green"
    with pytest.raises(sdk_exc.ForbiddenException):
        conn.image.delete_image(image)
    conn.image.update_image(image.id, is_protected=False)


def test_tags_add_remove(conn):
    image = conn.image.create_image(
        unique("sdk-tags"), disk_format="raw", container_format="bare",
        allow_duplicates=True, data=b"t", tags=["one"])
    conn.image.add_tag(image, "two")
    assert sorted(conn.image.get_image(image).tags) == ["one", "two"]
    conn.image.remove_tag(image, "one")
    assert conn.image.get_image(image).tags == ["two"]
    with pytest.raises(sdk_exc.NotFoundException):
        conn.image.remove_tag(image, "one")


def test_hidden_images(conn):
    tag = unique("hidden")
    shown = conn.image.create_image(
        unique("visible"), disk_format="raw", container_format="bare",
        allow_duplicates=True, data=b"v", tags=[tag])
    hidden = conn.image.create_image(
        unique("hidden"), disk_format="raw", container_format="bare",
        allow_duplicates=True, data=b"h", tags=[tag])
    conn.image.update_image(hidden, is_hidden=True)
    assert conn.image.get_image(hidden).is_hidden is True

    default = {i.id for i in conn.image.images(tag=tag)}
    assert default == {shown.id}
    only_hidden = {i.id for i in conn.image.images(tag=tag, os_hidden=True)}
    assert only_hidden == {hidden.id}
    also = {i.id for i in conn.image.images(tag=tag, is_hidden=True)}
    assert also == {hidden.id}
    # find_image falls back to listing hidden images.
    assert conn.image.find_image(hidden.name).id == hidden.id


def test_delete_image(conn):
    image = conn.image.create_image(
        unique("sdk-del"), disk_format="raw", container_format="bare",
        allow_duplicates=True, data=b"bye")
    conn.image.delete_image(image)
    with pytest.raises(sdk_exc.NotFoundException):
        conn.image.get_image(image.id)
    assert conn.image.find_image(image.name) is None
    # ignore_missing (default True) swallows the 404 of a second delete.
    conn.image.delete_image(image)
    with pytest.raises(sdk_exc.NotFoundException):
        conn.image.delete_image(image, ignore_missing=False)


def test_deactivate_reactivate(conn):
    image = conn.image.create_image(
        unique("sdk-deact"), disk_format="raw", container_format="bare",
        allow_duplicates=True, data=b"zzz")
    conn.image.deactivate_image(image)
    assert conn.image.get_image(image).status == "deactivated"
    conn.image.reactivate_image(image)
    assert conn.image.get_image(image).status == "active"
