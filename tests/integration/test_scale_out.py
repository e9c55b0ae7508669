"""Scale-out: two Glare API processes behave as one service.

Two ``glare serve`` processes (separate ports, configuration files, logs
and image directories) share what a scaled-out deployment shares: one
PostgreSQL database, one S3 store (moto on 127.0.0.1, the default store)
and the staging directory; a database store is the second store.  Through
real clients: an image uploaded through one downloads through the other, a
copy-image started on one is seen finishing on the other (run by whichever
worker claims it), an upload in progress on one makes a concurrent upload
on the other a 409, a quota set through one is enforced by the other, and
a staged image imported through the other.
"""

import concurrent.futures
import hashlib
import io
import os
import threading
import time
import uuid

import glanceclient
import pytest
import requests

from tests import s3_server
from tests.conftest import database_url, glare_server
from tests.integration.helpers import (ADMIN, create_image, get_image,
                                       project_headers, unique, upload)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
DATA = os.urandom(6 * MiB + 3)
OCTET = dict(ADMIN, **{"Content-Type": "application/octet-stream"})


def _config(tmp, s3_endpoint, bucket, shared):
    extra = ("enabled_backends = cold:s3, small:database\n"
             "show_multiple_locations = true\nshow_image_direct_url = true\n"
             "enabled_import_methods = [glance-direct,copy-image]\n")
    sections = ("\n[glance_store]\ndefault_backend = cold\n"
                "\n[cold]\n%sweight = 50\n"
                "\n[small]\nweight = 10\n"
                "\n[os_glance_staging_store]\nfilesystem_store_datadir = %s\n"
                "\n[glare]\njob_lease_seconds = 3\n"
                % (s3_server.glance_section(s3_endpoint, bucket),
                   shared / "staging"))
    return extra, sections


@pytest.fixture(scope="module")
def pair(tmp_path_factory, s3_endpoint):
    """(A, B): two servers on one PostgreSQL database and one bucket."""
    tmp = tmp_path_factory.mktemp("scale-out")
    shared = tmp / "shared"
    with database_url("postgresql", tmp) as url, \
            s3_server.bucket(s3_endpoint, "glare-scale") as bucket:
        extra, sections = _config(tmp, s3_endpoint, bucket, shared)
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        with glare_server(tmp / "a", url, extra, sections) as a, \
                glare_server(tmp / "b", url, extra, sections) as b:
            yield a, b


def _gc(server):
    return glanceclient.Client("2", endpoint=server.url, token="x")


def _wait(server, image_id, predicate, timeout=60):
    deadline = time.time() + timeout
    while True:
        image = get_image(server.url, image_id).json()
        if predicate(image):
            return image
        assert time.time() < deadline, image
        time.sleep(0.2)


def test_two_processes_on_one_database(pair):
    a, b = pair
    assert a.url != b.url and a.db_url == b.db_url
    assert a.datadir != b.datadir


def test_uploaded_through_one_downloads_through_the_other(pair):
    a, b = pair
    image = _gc(a).images.create(name=unique(), disk_format="raw",
                                 container_format="bare")
    _gc(a).images.upload(image.id, io.BytesIO(DATA))
    got = _gc(b).images.get(image.id)
    assert got.status == "active" and got.stores == "cold"
    assert got.checksum == hashlib.md5(DATA).hexdigest()
    assert b"".join(_gc(b).images.data(image.id)) == DATA
    # A range through the other one too.
    resp = requests.get(b.url + "/v2/images/%s/file" % image.id,
                        headers=dict(ADMIN, Range="bytes=100-199"),
                        timeout=30)
    assert resp.status_code == 206 and resp.content == DATA[100:200]
    # Listed by both; deleted through B, gone for A.
    for server in pair:
        assert image.id in [i.id for i in _gc(server).images.list(
            filters={"name": got.name})]
    _gc(b).images.delete(image.id)
    assert get_image(a.url, image.id).status_code == 404


def test_copy_image_started_on_one_finishes_on_the_other(pair):
    a, b = pair
    image = create_image(a.url, name=unique())
    assert upload(a.url, image["id"], DATA).status_code == 204
    resp = requests.post(a.url + "/v2/images/%s/import" % image["id"],
                         json={"method": {"name": "copy-image"},
                               "stores": ["small"]},
                         headers=ADMIN, timeout=30)
    assert resp.status_code == 202, resp.text
    # B sees the progress property and then the finished copy.
    done = _wait(b, image["id"],
                 lambda i: not i.get("os_glance_importing_to_stores"))
    assert done["stores"] == "cold,small"
    assert done["os_glance_failed_import"] == ""
    assert [loc["metadata"]["store"] for loc in done["locations"]] == [
        "cold", "small"]
    # Reading through B falls through to the database copy when the S3
    # copy is removed through A.
    resp = requests.delete(a.url + "/v2/stores/cold/%s" % image["id"],
                           headers=ADMIN, timeout=30)
    assert resp.status_code == 204, resp.text
    assert b"".join(_gc(b).images.data(image["id"])) == DATA


def test_glance_direct_staged_on_one_imported_on_the_other(pair):
    a, b = pair
    image = create_image(a.url, name=unique())
    resp = requests.put(a.url + "/v2/images/%s/stage" % image["id"],
                        data=DATA, headers=OCTET, timeout=60)
    assert resp.status_code == 204, resp.text
    resp = requests.post(b.url + "/v2/images/%s/import" % image["id"],
                         json={"method": {"name": "glance-direct"},
                               "all_stores": True},
                         headers=ADMIN, timeout=60)
    assert resp.status_code == 202, resp.text
    done = _wait(a, image["id"], lambda i: i["status"] == "active")
    assert done["stores"] == "cold,small"
    assert b"".join(_gc(a).images.data(image["id"])) == DATA


def _slow_body(started, release, blocks=4):
    """A request body that sends one block, then waits for ``release``."""
    yield DATA[:MiB]
    started.set()
    release.wait(30)
    for _ in range(blocks - 1):
        yield DATA[:MiB]


def test_concurrent_uploads_through_both_one_409(pair):
    """The upload claim is in the shared database: an upload in progress
    on A makes B's 409, and A's then completes."""
    a, b = pair
    image = create_image(a.url, name=unique())
    started, release = threading.Event(), threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(upload, a.url, image["id"],
                            _slow_body(started, release))
        assert started.wait(30)
        _wait(b, image["id"], lambda i: i["status"] == "saving")
        second = upload(b.url, image["id"], DATA[:MiB])
        release.set()
        first = first.result()
    assert second.status_code == 409, second.text
    assert first.status_code == 204, first.text
    got = get_image(b.url, image["id"]).json()
    assert (got["status"], got["size"]) == ("active", 4 * MiB)


def test_a_quota_set_through_one_holds_on_the_other(pair):
    a, b = pair
    project = "sp-" + uuid.uuid4().hex[:10]
    headers = project_headers(project)
    resp = requests.put(a.url + "/artifacts/quotas", json={"quotas": [
        {"project_id": project, "type_name": "images",
         "name": "stored_bytes", "value": 8 * MiB}]}, headers=ADMIN,
        timeout=30)
    assert resp.status_code == 200, resp.text
    first = create_image(b.url, headers, name=unique())
    assert upload(b.url, first["id"], DATA, headers).status_code == 204
    second = create_image(a.url, headers, name=unique())
    resp = upload(b.url, second["id"], DATA, headers)
    assert resp.status_code == 413, resp.text
    assert "Project %s is over a limit for [Resource image_size_total" \
        % project in resp.text
    # A copy counts too (Glance's size x locations): the first image's
    # copy into the database store does not fit; the job fails and says
    # so in Glance's progress property, seen through the other process.
    resp = requests.post(a.url + "/v2/images/%s/import" % first["id"],
                         json={"method": {"name": "copy-image"},
                               "stores": ["small"]},
                         headers=ADMIN, timeout=30)
    assert resp.status_code == 202, resp.text
    done = _wait(b, first["id"],
                 lambda i: not i.get("os_glance_importing_to_stores"))
    assert done["os_glance_failed_import"] == "small"
    assert done["stores"] == "cold"
    usage = requests.get(b.url + "/artifacts/quotas/usage",
                         headers=headers, timeout=30).json()["usage"]
    used = {(u["type_name"], u["name"]): u["used"] for u in usage}
    assert used[("images", "stored_bytes")] == len(DATA)
    assert used[("images", "uploading_bytes")] == 0
