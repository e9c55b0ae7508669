"""A web-download survives the death of the worker running it.

Every worker of a real server is killed with SIGKILL while the data is
still streaming in (gunicorn starts new ones).  The import's task is a
database row held by the worker's instance id: a new worker's task runner
finds that process dead and takes the task over at once -- well before
its heartbeat is older than ``stale_upload_seconds`` (60 s here, the
smallest allowed, the fallback for a holder on another host) -- releases
what the dead one held (its staging claim), fetches again and imports:
the image ends ``active`` with the right data and one task ``success``,
never stuck in ``uploading`` or ``importing``.
"""

import hashlib
import os
import signal
import time

import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import ADMIN, create_image, get_image, unique
from tests.web_source import web_source

pytestmark = pytest.mark.integration

DATA = os.urandom(64 * 1024 * 60)


@pytest.fixture(scope="module")
def source():
    with web_source() as src:
        src.files["slow"] = DATA
        src.slow_delay = 0.1
        yield src


@pytest.fixture(scope="module")
def server(db_kind, source, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("durable-%s" % db_kind)
    sections = ("[glare]\nstale_upload_seconds = 60\n"
                "[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
                "allowed_ports = %d\n" % source.port)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=sections) as srv:
            yield srv


def workers(master_pid):
    """Pids of the gunicorn workers (children of the master)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            found.append(int(entry))
    return found


def test_a_killed_workers_web_download_is_taken_over(server, source):
    image = create_image(server.url, name=unique("durable"))
    resp = requests.post(
        server.url + "/v2/images/%s/import" % image["id"],
        json={"method": {"name": "web-download",
                         "uri": source.url("/slow/slow")}},
        headers=ADMIN, timeout=30)
    assert resp.status_code == 202
    deadline = time.time() + 30
    while get_image(server.url, image["id"]).json()["status"] != \
            "uploading":
        assert time.time() < deadline
        time.sleep(0.1)
    time.sleep(1)                  # some data is in; most is not
    killed = workers(server.process.pid)
    assert killed
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    fetches = len(source.requests)
    killed_at = time.time()
    deadline = killed_at + 180
    while True:
        try:
            shown = get_image(server.url, image["id"]).json()
        except requests.RequestException:
            shown = {"status": "(restarting)"}
        if shown["status"] == "active":
            break
        assert shown["status"] in ("uploading", "queued", "importing",
                                   "(restarting)"), shown
        assert time.time() < deadline, shown
        time.sleep(0.5)
    # Taken over because its holder is proven dead, not after the 60 s
    # stale limit (the fetch itself takes about 6 s).
    assert time.time() - killed_at < 40
    assert not set(killed) & set(workers(server.process.pid))
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["size"] == len(DATA)
    assert "os_glance_import_task" not in shown
    assert len(source.requests) == fetches + 1      # fetched once more
    got = requests.get(server.url + "/v2/images/%s/file" % image["id"],
                       headers=ADMIN, timeout=60)
    assert got.content == DATA
    tasks = requests.get(server.url + "/v2/images/%s/tasks" % image["id"],
                         headers=ADMIN, timeout=30).json()["tasks"]
    assert [(t["status"], t["result"]) for t in tasks] == [
        ("success", {"image_id": image["id"]})]
