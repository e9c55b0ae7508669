"""kill -9 of a server in the middle of a copy-image.

A real Glare (gunicorn, two workers) copies an image from a filesystem
store into a slow S3 store (moto on 127.0.0.1 with a delay on every part,
``tests.s3_server.Latency``).  While the copy is in flight -- parts are
arriving -- the whole server (master and workers) is SIGKILLed: no
handler runs, the job row says ``running`` with a heartbeat that stops.
The image shows Glance's ``os_glance_importing_to_stores`` = the store.

A second server started on the same database takes the job over one
``[glare] job_lease_seconds`` after the last heartbeat, copies the data
again and finishes: the image lists both stores, the progress properties
are cleared, the data reads back identical, exactly one object of the
image is in the bucket.  On every database of the matrix.
"""

import os
import signal
import time

import pytest
import requests
import sqlalchemy as sa

from artifacts.db.models import data_jobs
from tests import s3_server
from tests.conftest import database_url, glare_server
from tests.integration.helpers import ADMIN, create_image, get_image, upload

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
DATA = os.urandom(30 * MiB + 11)      # six 5 MiB parts and a bit
LEASE = 2


def _config(tmp, s3_endpoint, bucket):
    extra = ("enabled_backends = fast:file, cold:s3\n"
             "show_multiple_locations = true\n"
             "enabled_import_methods = [glance-direct,copy-image]\n")
    sections = ("\n[glance_store]\ndefault_backend = fast\n"
                "\n[fast]\nfilesystem_store_datadir = %s\nweight = 100\n"
                "\n[cold]\n%sweight = 50\n"
                "\n[glare]\njob_lease_seconds = %d\n"
                % (tmp / "fast", s3_server.glance_section(s3_endpoint,
                                                          bucket), LEASE))
    return extra, sections


def _job(db_url, image_id):
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(data_jobs).where(
                data_jobs.c.artifact_id == image_id)).one()._mapping
    finally:
        engine.dispose()


def _wait(check, timeout, what):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, what
        time.sleep(0.1)


def test_a_copy_whose_server_was_killed_is_taken_over(db_kind,
                                                      tmp_path_factory,
                                                      s3_endpoint):
    tmp = tmp_path_factory.mktemp("copy-crash-%s" % db_kind)
    (tmp / "first").mkdir()
    (tmp / "second").mkdir()
    admin = s3_server.client(s3_endpoint)
    with database_url(db_kind, tmp) as url, \
            s3_server.bucket(s3_endpoint, "glare-crash") as bucket:
        extra, sections = _config(tmp, s3_endpoint, bucket)
        with glare_server(tmp / "first", url, extra, sections) as first:
            image = create_image(first.url)
            image_id = image["id"]
            assert upload(first.url, image_id, DATA).status_code == 204
            s3_server.Latency.parts = 0
            s3_server.Latency.seconds = 0.7
            try:
                resp = requests.post(
                    first.url + "/v2/images/%s/import" % image_id,
                    json={"method": {"name": "copy-image"},
                          "stores": ["cold"]}, headers=ADMIN, timeout=30)
                assert resp.status_code == 202, resp.text
                # In flight: the S3 store is receiving parts.
                _wait(lambda: s3_server.Latency.parts >= 2, 60,
                      "the copy did not start")
                os.killpg(first.process.pid, signal.SIGKILL)
                first.process.wait()
            finally:
                s3_server.Latency.seconds = 0
        job = _job(url, image_id)
        assert (job["status"], job["attempts"]) == ("running", 1)
        killed_holder = job["holder"]
        # Nothing finished the copy: an unfinished multipart upload, no
        # object, and the image says it is still being copied.
        left = s3_server.objects(admin, bucket)
        assert [k for k in left if "multipart" not in k] == []
        assert len(left) == 1            # the killed copy's multipart upload

        with glare_server(tmp / "second", url, extra, sections) as second:
            stuck = get_image(second.url, image_id).json()
            assert stuck["os_glance_importing_to_stores"] == "cold"
            started = time.time()
            done = _wait(lambda: (lambda i: i if not i.get(
                "os_glance_importing_to_stores") else None)(
                get_image(second.url, image_id).json()), 60,
                "the copy was not taken over")
            took = time.time() - started
            print("copy taken over and finished %.1f s after the second "
                  "server started" % took)
            assert done["status"] == "active"
            assert done["os_glance_failed_import"] == ""
            assert done["stores"] == "fast,cold"
            # Both copies read back identical (each store on its own).
            resp = requests.delete(
                second.url + "/v2/stores/fast/%s" % image_id,
                headers=ADMIN, timeout=30)
            assert resp.status_code == 204, resp.text
            body = requests.get(second.url + "/v2/images/%s/file" % image_id,
                                headers=ADMIN, timeout=60).content
            assert body == DATA
        job = _job(url, image_id)
        assert (job["status"], job["attempts"]) == ("done", 2)
        assert job["holder"] != killed_holder
        # Taken over one lease after the last heartbeat (plus the runner's
        # poll and the copy itself), not after stale_upload_seconds.
        assert took < 30, took
        # The killed copy's multipart upload was aborted (recovery, by the
        # upload id noted in its write record): only the finished copy.
        objects = s3_server.objects(admin, bucket)
        assert len(objects) == 1 and objects[0].startswith(image_id)
        assert "multipart" not in objects[0]
