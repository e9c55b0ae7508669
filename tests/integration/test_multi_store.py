"""Several stores behind one Image API, driven by real clients.

Glare is configured the way an operator configures Glance's multi-store:
``enabled_backends`` with two filesystem stores (``fast``, the default,
and ``archive``), one S3 store (``cold``, a real S3-protocol server: moto
on 127.0.0.1) plus Glare's database store and a read-only http store,
``default_backend``, one section per store in glance_store's option names
with its description and weight, the reserved staging store.  It is then
used through python-glanceclient, the ``glance`` CLI, openstacksdk and
Nova's own image layer (``nova.image.glance.API`` in Nova's venv, reading
``locations``/``direct_url``): stores-info, upload to a named store,
copy-image, delete from one store; on every database of the matrix.
"""

import hashlib
import io
import os
import subprocess
import sys
import time

import glanceclient
import openstack.connection
import pytest
import requests

from tests import s3_server
from tests.conftest import database_url, glare_server
from tests.integration import nova_venv
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration

GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")
DATA = os.urandom(3 * 1024 * 1024 + 17)
# Larger than one S3 part (5 MiB here): the S3 store's multipart path.
BIG = os.urandom(11 * 1024 * 1024 + 5)
WRITABLE = "fast,cold,archive,small"       # by weight, highest first


def _sections(tmp, s3_endpoint, bucket):
    return (
        "\n[fast]\nfilesystem_store_datadir = %s\nstore_description = "
        "Fast disks\nweight = 100\n"
        "\n[cold]\n%sstore_description = Objects in S3\nweight = 50\n"
        "\n[archive]\nfilesystem_store_datadir = %s\nstore_description = "
        "Archive disks\nweight = 20\n"
        "\n[small]\nstore_description = Rows in the database\n"
        "\n[os_glance_staging_store]\nfilesystem_store_datadir = %s\n"
        % (tmp / "fast", s3_server.glance_section(s3_endpoint, bucket),
           tmp / "archive", tmp / "staging"))


@pytest.fixture(scope="module")
def bucket(s3_endpoint):
    with s3_server.bucket(s3_endpoint, "glare-multi") as name:
        yield name


@pytest.fixture(scope="module")
def server(db_kind, tmp_path_factory, s3_endpoint, bucket):
    tmp = tmp_path_factory.mktemp("multi-%s" % db_kind)
    extra = ("enabled_backends = fast:file, cold:s3, archive:file, "
             "small:database, web:http\n"
             "show_multiple_locations = true\nshow_image_direct_url = true\n"
             "enabled_import_methods = [glance-direct,copy-image]\n")
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections="\n[glance_store]\n"
                          "default_backend = fast\n" +
                          _sections(tmp, s3_endpoint, bucket)) as srv:
            srv.s3_host = s3_endpoint.split("://", 1)[1]
            srv.bucket = bucket
            yield srv


@pytest.fixture(scope="module")
def s3(s3_endpoint, bucket):
    """The bucket's object keys, as the S3 server sees them."""
    admin = s3_server.client(s3_endpoint)
    return lambda: s3_server.objects(admin, bucket)


@pytest.fixture
def gc(server):
    return glanceclient.Client("2", endpoint=server.url, token="x")


def _wait(gc, image_id, done, timeout=60):
    deadline = time.time() + timeout
    while True:
        image = gc.images.get(image_id)
        if done(image) or time.time() > deadline:
            return image
        time.sleep(0.2)


def _copied(image):
    return not image.get("os_glance_importing_to_stores")


def _in_s3(s3, image_id):
    return [key for key in s3() if key.startswith(image_id)]


def test_stores_info(gc, bucket):
    stores = {s["id"]: s for s in gc.images.get_stores_info()["stores"]}
    assert list(stores) == ["fast", "cold", "archive", "small", "web"]
    assert stores["web"]["read-only"] == "true"
    assert stores["fast"]["default"] == "true"
    assert stores["cold"]["description"] == "Objects in S3"
    detail = {s["id"]: s for s in
              gc.images.get_stores_info_detail()["stores"]}
    assert detail["fast"]["weight"] == 100 and detail["fast"]["type"] == "file"
    assert detail["cold"]["type"] == "s3" and detail["cold"]["weight"] == 50
    # Sizes in bytes, as Glance shows them (configured in MB).
    assert detail["cold"]["properties"] == {
        "s3_store_large_object_size": 5 * 1024 * 1024,
        "s3_store_large_object_chunk_size": 5 * 1024 * 1024,
        "s3_store_thread_pools": 10}
    # Never the credentials.
    assert s3_server.SECRET_KEY not in repr(detail)


def test_upload_to_s3_copy_and_delete_from_one(gc, server, s3):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.upload(image.id, io.BytesIO(BIG), backend="cold")
    got = gc.images.get(image.id)
    assert got.status == "active" and got.stores == "cold"
    assert [loc["metadata"]["store"] for loc in got.locations] == ["cold"]
    assert got.direct_url == got.locations[0]["url"]
    # Glance's form: s3://<endpoint host>/<bucket>/<key>.
    assert got.direct_url.startswith("s3://%s/%s/%s" % (
        server.s3_host, server.bucket, image.id))
    assert len(_in_s3(s3, image.id)) == 1     # one object, no upload left

    # copy-image into the three other writable stores: the image stays
    # active and lists every store when the copies are done, highest
    # weight first.
    gc.images.image_import(image.id, method="copy-image",
                           stores=["fast", "archive", "small"])
    got = _wait(gc, image.id, _copied)
    assert got.os_glance_failed_import == ""
    assert got.stores == WRITABLE
    assert got.direct_url.startswith("file://%s" % os.path.realpath(
        server.datadir.parent / "fast"))
    assert [loc["metadata"]["store"] for loc in got.locations] == \
        WRITABLE.split(",")
    assert hashlib.sha512(b"".join(gc.images.data(image.id))).hexdigest() \
        == hashlib.sha512(BIG).hexdigest()

    # Deleting from one store leaves the others readable; the S3 object
    # goes when the S3 copy is deleted.
    gc.images.delete_from_store("fast", image.id)
    gc.images.delete_from_store("cold", image.id)
    got = gc.images.get(image.id)
    assert got.stores == "archive,small"
    assert _in_s3(s3, image.id) == []
    assert b"".join(gc.images.data(image.id)) == BIG
    # Never the last copy.
    gc.images.delete_from_store("small", image.id)
    with pytest.raises(glanceclient.exc.HTTPForbidden):
        gc.images.delete_from_store("archive", image.id)
    gc.images.delete(image.id)
    assert not any(f for f in (server.datadir.parent / "archive").rglob("*")
                   if f.is_file() and ".tmp" not in f.parts)


def test_download_prefers_the_stores_asked_for(gc, server):
    """Glance 2026.1's ``?prefer=a,b``: those stores' copies are read
    first, the others stay the fallback; an unknown store is 400."""
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    data = os.urandom(4096)
    gc.images.upload(image.id, io.BytesIO(data), backend="fast")
    gc.images.image_import(image.id, method="copy-image", stores=["archive"])
    got = _wait(gc, image.id, _copied)
    [archive] = [loc["url"] for loc in got.locations
                 if loc["metadata"]["store"] == "archive"]
    # Same size, other bytes: tells which copy served the download.
    with open(archive[len("file://"):], "r+b") as f:
        f.write(b"A" * len(data))
    url = "%s/v2/images/%s/file" % (server.url, image.id)
    admin = {"X-Auth-Token": "x"}
    assert requests.get(url, headers=admin, timeout=30).content == data
    assert requests.get(url + "?prefer=archive,cold", headers=admin,
                        timeout=30).content == b"A" * len(data)
    bad = requests.get(url + "?prefer=fast,nope", timeout=30,
                       headers=dict(admin, Accept="application/json"))
    assert bad.status_code == 400
    # WebOb's JSON form, as Glance's: the explanation, then <br /> etc.
    assert bad.json()["message"].startswith(
        "Store 'nope' is not configured.<br />")
    gc.images.delete(image.id)


def test_copy_from_a_file_store_into_s3(gc, s3):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.upload(image.id, io.BytesIO(DATA))
    assert gc.images.get(image.id).stores == "fast"
    gc.images.image_import(image.id, method="copy-image", stores=["cold"])
    got = _wait(gc, image.id, _copied)
    assert got.stores == "fast,cold"
    cold = [loc for loc in got.locations if loc["metadata"]["store"] ==
            "cold"]
    assert len(cold) == 1 and cold[0]["url"].startswith("s3://")
    assert len(_in_s3(s3, image.id)) == 1
    gc.images.delete(image.id)
    assert _in_s3(s3, image.id) == []


def test_upload_to_a_read_only_store_is_410_and_keeps_the_image(gc):
    """Glance's answer when its http store refuses to add data."""
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    with pytest.raises(glanceclient.exc.HTTPException) as info:
        gc.images.upload(image.id, io.BytesIO(DATA), backend="web")
    # glanceclient has no class for 410: a generic HTTPException naming it.
    assert "410" in str(info.value)
    assert "Adding images to store is disabled" in str(info.value)
    assert gc.images.get(image.id).status == "queued"


def test_glance_direct_import_to_all_stores(gc, s3):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.stage(image.id, io.BytesIO(DATA))
    gc.images.image_import(image.id, method="glance-direct",
                           all_stores=True)
    got = _wait(gc, image.id,
                lambda i: i.status == "active" and _copied(i))
    assert got.stores == WRITABLE
    assert got.checksum == hashlib.md5(DATA).hexdigest()
    assert len(_in_s3(s3, image.id)) == 1


def test_glance_cli_store_commands(server):
    env = dict(os.environ, OS_IMAGE_URL=server.url, OS_AUTH_TOKEN="x")

    def glance(*args):
        return subprocess.run([GLANCE, *args], env=env, check=True,
                              capture_output=True, text=True).stdout
    assert "cold" in glance("stores-info")
    path = server.datadir.parent / "cli.raw"
    path.write_bytes(DATA[:1000])
    out = glance("image-create", "--name", unique(), "--disk-format", "raw",
                 "--container-format", "bare", "--file", str(path),
                 "--store", "cold")
    assert "cold" in out


def test_openstacksdk_reads_stores_and_locations(server):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url, image_api_version="2")
    names = [s.id for s in conn.image.stores()]
    assert names == ["fast", "cold", "archive", "small", "web"]
    image = conn.image.create_image(name=unique(), disk_format="raw",
                                    container_format="bare", data=DATA[:4096],
                                    allow_duplicates=True)
    got = conn.image.get_image(image.id)
    assert got.status == "active" and got.size == 4096
    assert got.direct_url.startswith("file://")
    assert got.locations == [{"url": got.direct_url,
                              "metadata": {"store": "fast"}}]
    # openstacksdk's multi-store import: copy-image into the S3 store.
    conn.image.import_image(got, method="copy-image", stores=["cold"])
    deadline = time.time() + 60
    while [loc["metadata"]["store"] for loc in got.locations] != [
            "fast", "cold"] and time.time() < deadline:
        time.sleep(0.2)
        got = conn.image.get_image(image.id)
    assert got.locations[1]["url"].startswith("s3://")
    conn.close()


@pytest.fixture(scope="module")
def nova_python():
    return nova_venv.python()


def test_nova_image_api_reads_locations_and_downloads(gc, server, s3,
                                                      nova_python, tmp_path):
    """nova.image.glance.API, as a compute node uses it: the record, the
    locations it would clone from (with direct_url appended, as Nova
    does), the list, the download through the Image API, and Nova's
    copy_image_to_store (copy-image)."""
    name = unique("nova")
    image = gc.images.create(name=name, disk_format="raw",
                             container_format="bare", os_distro="cirros")
    gc.images.upload(image.id, io.BytesIO(BIG), backend="cold")
    seen = nova_venv.probe(nova_python, url=server.url, token="x",
                           image_id=image.id, list_filters={"name": name},
                           download_to=str(tmp_path / "nova-download"),
                           copy_to_store="fast")
    assert seen["nova_version"].startswith("34.")
    record = seen["show"]
    assert (record["id"], record["name"], record["status"]) == (
        image.id, name, "active")
    assert record["size"] == len(BIG)
    assert record["checksum"] == hashlib.md5(BIG).hexdigest()
    assert (record["disk_format"], record["container_format"]) == ("raw",
                                                                   "bare")
    assert record["properties"]["os_distro"] == "cirros"
    assert record["stores"] == "cold"
    # Without include_locations Nova drops them.
    assert "locations" not in record and "direct_url" not in record
    located = seen["show_with_locations"]
    url = _in_s3_url(located["direct_url"], image.id)
    assert located["locations"] == [
        {"url": url, "metadata": {"store": "cold"}},
        {"url": url, "metadata": {}}]          # direct_url, appended by Nova
    assert seen["listed"] == [image.id]
    assert seen["download"] == {"size": len(BIG),
                                "sha256": hashlib.sha256(BIG).hexdigest()}
    assert seen["missing"]["error"] == "ImageNotFound"
    # Nova's copy_image_to_store: copy-image into 'fast'.
    assert seen["copy"] == "ok"
    got = _wait(gc, image.id, _copied)
    assert got.stores == "fast,cold"
    # Nova now sees both locations, the heavier store first.
    seen = nova_venv.probe(nova_python, url=server.url, token="x",
                           image_id=image.id, copy_to_store="cold")
    located = seen["show_with_locations"]
    assert [loc["metadata"].get("store") for loc in located["locations"]] \
        == ["fast", "cold", None]
    assert located["locations"][0]["url"].startswith("file://")
    assert located["direct_url"] == located["locations"][0]["url"]
    # Copying again into a store that has it: Nova's ImageBadRequest (400)
    # or ImageImportImpossible (409), as Glance answers.
    assert seen["copy"]["error"] in ("ImageBadRequest",
                                     "ImageImportImpossible")
    gc.images.delete(image.id)
    assert _in_s3(s3, image.id) == []


def _in_s3_url(url, image_id):
    assert url.startswith("s3://") and image_id in url, url
    return url
