"""Several stores behind one Image API, driven by real clients.

Glare is configured the way an operator configures Glance's multi-store
(``enabled_backends`` with two filesystem stores, Glare's database store
and a read-only http store, ``default_backend``, one section per store with its description and
weight, the reserved staging store) and then used through
python-glanceclient, the ``glance`` CLI, openstacksdk and Nova's reading
of ``locations``/``direct_url``: stores-info, upload to a named store,
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

from tests.conftest import database_url, glare_server
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration

GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")
DATA = os.urandom(3 * 1024 * 1024 + 17)


def _sections(tmp):
    return (
        "\n[fast]\nfilesystem_store_datadir = %s\nstore_description = "
        "Fast disks\nweight = 100\n"
        "\n[cold]\nfilesystem_store_datadir = %s\nstore_description = "
        "Cold disks\nweight = 50\n"
        "\n[small]\nstore_description = Rows in the database\n"
        "\n[os_glance_staging_store]\nfilesystem_store_datadir = %s\n"
        % (tmp / "fast", tmp / "cold", tmp / "staging"))


@pytest.fixture(scope="module")
def server(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi-%s" % db_kind)
    extra = ("enabled_backends = fast:file, cold:file, small:database, "
             "web:http\n"
             "show_multiple_locations = true\nshow_image_direct_url = true\n"
             "enabled_import_methods = [glance-direct,copy-image]\n")
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections="\n[glance_store]\n"
                          "default_backend = fast\n" + _sections(tmp)
                          ) as srv:
            yield srv


@pytest.fixture
def gc(server):
    return glanceclient.Client("2", endpoint=server.url, token="x")


def _wait(gc, image_id, done, timeout=30):
    deadline = time.time() + timeout
    while True:
        image = gc.images.get(image_id)
        if done(image) or time.time() > deadline:
            return image
        time.sleep(0.2)


def test_stores_info(gc):
    stores = {s["id"]: s for s in gc.images.get_stores_info()["stores"]}
    assert list(stores) == ["fast", "cold", "small", "web"]
    assert stores["web"]["read-only"] == "true"
    assert stores["fast"]["default"] == "true"
    assert stores["cold"]["description"] == "Cold disks"
    detail = {s["id"]: s for s in
              gc.images.get_stores_info_detail()["stores"]}
    assert detail["fast"]["weight"] == 100 and detail["fast"]["type"] == "file"


def test_upload_to_a_store_copy_and_delete_from_one(gc, server):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.upload(image.id, io.BytesIO(DATA), backend="cold")
    got = gc.images.get(image.id)
    assert got.status == "active" and got.stores == "cold"
    assert [loc["metadata"]["store"] for loc in got.locations] == ["cold"]
    assert got.direct_url == got.locations[0]["url"]

    # copy-image into the two other stores: the image stays active and
    # lists every store when the copies are done, highest weight first.
    gc.images.image_import(image.id, method="copy-image",
                           stores=["fast", "small"])
    got = _wait(gc, image.id,
                lambda i: not i.get("os_glance_importing_to_stores"))
    assert got.os_glance_failed_import == ""
    assert got.stores == "fast,cold,small"
    assert got.direct_url.startswith("file://%s" % os.path.realpath(
        server.datadir.parent / "fast"))
    assert hashlib.sha512(b"".join(gc.images.data(image.id))).hexdigest() \
        == hashlib.sha512(DATA).hexdigest()

    # Deleting from one store leaves the others readable.
    gc.images.delete_from_store("fast", image.id)
    got = gc.images.get(image.id)
    assert got.stores == "cold,small"
    assert b"".join(gc.images.data(image.id)) == DATA
    # Never the last copy.
    gc.images.delete_from_store("small", image.id)
    with pytest.raises(glanceclient.exc.HTTPForbidden):
        gc.images.delete_from_store("cold", image.id)
    gc.images.delete(image.id)
    assert not any(f for f in (server.datadir.parent / "cold").rglob("*")
                   if f.is_file() and ".tmp" not in f.parts)


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


def test_glance_direct_import_to_all_stores(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.stage(image.id, io.BytesIO(DATA))
    gc.images.image_import(image.id, method="glance-direct",
                           all_stores=True)
    got = _wait(gc, image.id,
                lambda i: i.status == "active"
                and not i.get("os_glance_importing_to_stores"))
    assert got.stores == "fast,cold,small"
    assert got.checksum == hashlib.md5(DATA).hexdigest()


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
                 "--store", "small")
    assert "small" in out


def test_openstacksdk_and_nova_read_locations(server):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url, image_api_version="2")
    names = [s.id for s in conn.image.stores()]
    assert names == ["fast", "cold", "small", "web"]
    image = conn.image.create_image(name=unique(), disk_format="raw",
                                    container_format="bare", data=DATA[:4096],
                                    allow_duplicates=True)
    got = conn.image.get_image(image.id)
    assert got.status == "active" and got.size == 4096
    conn.close()
    # What Nova's image layer reads to clone instead of downloading.
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    raw = gc.images.get(image.id)
    assert raw["stores"] == "fast"
    assert raw["direct_url"].startswith("file://")
    assert raw["locations"] == [{"url": raw["direct_url"],
                                 "metadata": {"store": "fast"}}]
