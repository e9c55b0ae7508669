"""Crash recovery with real servers: the whole server (gunicorn master and
workers) killed with SIGKILL while data streams, then started again on the
same database and data directory.

Within a few seconds of the restart the image (or artifact) takes data
again: never stuck ``saving``/``importing``, no byte of the interrupted
write left in any store, a new upload succeeds and deleting the image
leaves the store empty -- for Image API uploads, Artifact API blob and
folder uploads, staging, and an import running when the server dies.  Also:
a store that fills up mid-write (a real 8 MiB tmpfs) is Glance's 413 and
leaves nothing; a database that goes away mid-request (a throwaway
PostgreSQL started by the test, never the shared one) is a 503 with
Retry-After, the health check says so, and the service recovers by itself
when the database is back.

The figures (seconds from restart to a released upload, from the database
going away to a 503, from its return to service) are printed as
``FIGURE ...`` lines (``pytest -s``).
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import (ROOT, database_url, free_port, selected_databases,
                            stop_process_group, write_config)
from tests.integration.helpers import ADMIN, create_image, get_image, unique

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
OCTETS = dict(ADMIN, **{"Content-Type": "application/octet-stream"})
TEXT = dict(ADMIN, Accept="text/plain")
FULL = ("Image storage media is full: There is not enough disk space on "
        "the image storage media.")


def figure(name, seconds):
    print("\nFIGURE %s: %.2f s" % (name, seconds), flush=True)


# -- a server that can be killed and started again ----------------------------

class Glare:
    """``glare serve`` on one configuration, database and data directory,
    killed with SIGKILL and restarted at will."""

    def __init__(self, tmp, db_url, extra="", sections=""):
        self.tmp = tmp
        self.db_url = db_url
        self.datadir = tmp / "images"
        self.staging = tmp / "staging"
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config = write_config(
            tmp / "glare.conf", db_url, self.datadir, self.port, extra,
            "\n[os_glance_staging_store]\nfilesystem_store_datadir = %s\n%s"
            % (self.staging, sections))
        self.command = [sys.executable, "-m", "glare.cli", "--config",
                        self.config]
        subprocess.run(self.command + ["db", "upgrade"], check=True, cwd=ROOT,
                       capture_output=True)
        self.log = tmp / "server.log"
        self.proc = None

    def start(self):
        """Start and wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                self.command + ["serve"], cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(self.url + "/healthcheck", timeout=1).ok:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("Glare did not start:\n"
                                   + self.log.read_text()[-5000:])
            time.sleep(0.05)

    def kill(self):
        """SIGKILL the master and every worker at once (a power cut for
        the service)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # Workers are reparented and reaped by init; wait until they are.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process_group(self.proc)


@contextlib.contextmanager
def glare(tmp, db_url, **kwargs):
    server = Glare(tmp, db_url, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=selected_databases())
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash-%s" % request.param)
    with database_url(request.param, tmp) as url:
        with glare(tmp, url) as server:
            yield server


def stored(*dirs):
    """Every file under the data directories, temp files included."""
    found = []
    for d in dirs:
        for root, _dirs, names in os.walk(d):
            found.extend(os.path.join(root, n) for n in names)
    return sorted(found)


def partial_bytes(directory):
    """Bytes in the temp files of unfinished writes of a filesystem store."""
    return sum(os.path.getsize(p) for p in stored(directory / ".tmp"))


class Streaming:
    """A chunked PUT that sends ``first`` MiB and then keeps the request
    open, sending nothing more, until the server goes away."""

    def __init__(self, url, headers=OCTETS, first=8):
        self.first = first
        self.hold = threading.Event()
        self.outcome = None
        self.thread = threading.Thread(target=self._run,
                                       args=(url, headers), daemon=True)
        self.thread.start()

    def _body(self):
        for _ in range(self.first):
            yield b"\x00" * MiB
        self.hold.wait(120)
        yield b"\x00" * MiB

    def _run(self, url, headers):
        try:
            self.outcome = requests.put(url, data=self._body(),
                                        headers=headers, timeout=120)
        except requests.RequestException as exc:
            self.outcome = exc

    def end(self):
        self.hold.set()
        self.thread.join(30)
        return self.outcome


def wait_for(check, timeout=30, step=0.02):
    """Poll ``check()`` until it is true; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out after %ss" % timeout)
        time.sleep(step)
    return time.monotonic() - started


def crash_and_restart(srv, name, released):
    """Kill the server mid-write, start it again and measure how long
    until ``released()`` holds; returns the seconds from the restarted
    server's first answer (the figures also give them from the start)."""
    srv.kill()
    started = time.monotonic()
    up = srv.start()
    wait_for(released, timeout=60)
    took = time.monotonic() - started
    figure("%s: restart to released" % name, took)
    figure("%s: answering to released" % name, took - up)
    return took - up


def status_of(srv, image_id):
    return get_image(srv.url, image_id).json()["status"]


# -- SIGKILL while data streams ---------------------------------------------

def test_image_upload_killed_mid_stream(srv):
    image = create_image(srv.url, name=unique("crash"))
    url = srv.url + "/v2/images/%s/file" % image["id"]
    stream = Streaming(url)
    wait_for(lambda: partial_bytes(srv.datadir) >= 4 * MiB)
    assert status_of(srv, image["id"]) == "saving"
    # Released before the restarted server answers its first request.
    took = crash_and_restart(srv, "image upload",
                             lambda: status_of(srv, image["id"]) == "queued")
    assert took < 2
    stream.end()
    assert stored(srv.datadir, srv.staging) == []    # no partial byte left
    resp = requests.put(url, data=b"after the crash", headers=OCTETS,
                        timeout=30)
    assert resp.status_code == 204, resp.text
    got = requests.get(url, headers=ADMIN, timeout=30)
    assert got.content == b"after the crash"
    assert requests.delete(srv.url + "/v2/images/" + image["id"],
                           headers=ADMIN, timeout=30).status_code == 204
    assert stored(srv.datadir, srv.staging) == []


def _holders(srv, artifact_id):
    """Instance ids holding the artifact's claims (read from the database
    the server uses)."""
    from artifacts.db.models import artifact_blobs as B
    engine = sa.create_engine(srv.db_url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(B.c.holder).where(
                B.c.artifact_id == artifact_id, B.c.status == "saving"))]
    finally:
        engine.dispose()


def test_a_killed_worker_is_replaced_and_its_upload_released(srv):
    """Only the worker streaming the upload dies (the OOM killer): the
    master starts another, whose runner releases the dead worker's upload
    as it starts -- no restart, no stale timeout."""
    image = create_image(srv.url, name=unique("crash-worker"))
    url = srv.url + "/v2/images/%s/file" % image["id"]
    stream = Streaming(url)
    wait_for(lambda: partial_bytes(srv.datadir) >= 4 * MiB)
    [holder] = _holders(srv, image["id"])
    worker = int(holder.rsplit("/", 2)[1])
    assert worker != srv.proc.pid           # a worker, not the master
    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: _answers(srv) and
             status_of(srv, image["id"]) == "queued", timeout=60)
    figure("worker killed: upload released after", time.monotonic() - killed)
    stream.end()
    assert stored(srv.datadir, srv.staging) == []
    assert requests.put(url, data=b"again", headers=OCTETS,
                        timeout=30).status_code == 204
    requests.delete(srv.url + "/v2/images/" + image["id"], headers=ADMIN,
                    timeout=30)


def _answers(srv):
    try:
        return requests.get(srv.url + "/healthcheck", timeout=5).ok
    except requests.RequestException:
        return False


def test_glare_scrub_releases_what_a_killed_server_left(srv):
    image = create_image(srv.url, name=unique("crash-scrub"))
    stream = Streaming(srv.url + "/v2/images/%s/file" % image["id"])
    wait_for(lambda: partial_bytes(srv.datadir) >= 4 * MiB)
    srv.kill()
    stream.end()
    assert partial_bytes(srv.datadir) >= 4 * MiB
    out = subprocess.run(srv.command + ["scrub"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert "Released 2 interrupted" in out, out
    assert stored(srv.datadir, srv.staging) == []
    srv.start()
    assert status_of(srv, image["id"]) == "queued"


def _artifact(srv):
    resp = requests.post(srv.url + "/artifacts/files",
                         json={"name": unique("crash")}, headers=ADMIN,
                         timeout=30)
    assert resp.status_code == 201, resp.text
    return srv.url + "/artifacts/files/" + resp.json()["id"]


def test_artifact_blob_and_folder_uploads_killed_mid_stream(srv):
    art = _artifact(srv)
    blob = Streaming(art + "/file")
    folder = Streaming(art + "/files/docs/a.bin")
    wait_for(lambda: partial_bytes(srv.datadir) >= 8 * MiB)

    def saving():
        body = requests.get(art, headers=ADMIN, timeout=30).json()
        return [k for k in ("file", "files") if "saving" in str(body[k])]
    assert saving() == ["file", "files"]
    crash_and_restart(srv, "artifact blob+folder", lambda: not saving())
    blob.end(), folder.end()
    assert stored(srv.datadir, srv.staging) == []
    for path, data in (("/file", b"blob"), ("/files/docs/a.bin", b"file")):
        resp = requests.put(art + path, data=data, headers=OCTETS,
                            timeout=30)
        assert resp.status_code == 200, resp.text
        assert requests.get(art + path, headers=ADMIN,
                            timeout=30).content == data
    assert requests.delete(art, headers=ADMIN, timeout=30).status_code == 204
    assert stored(srv.datadir, srv.staging) == []


def test_staging_killed_mid_stream(srv):
    image = create_image(srv.url, name=unique("crash-stage"))
    url = srv.url + "/v2/images/%s/stage" % image["id"]
    stream = Streaming(url)
    wait_for(lambda: partial_bytes(srv.staging) >= 4 * MiB)
    assert status_of(srv, image["id"]) == "uploading"
    crash_and_restart(srv, "staging",
                      lambda: status_of(srv, image["id"]) == "queued")
    stream.end()
    assert stored(srv.datadir, srv.staging) == []
    assert requests.put(url, data=b"staged", headers=OCTETS,
                        timeout=30).status_code == 204
    resp = requests.post(srv.url + "/v2/images/%s/import" % image["id"],
                         json={"method": {"name": "glance-direct"}},
                         headers=ADMIN, timeout=30)
    assert resp.status_code == 202, resp.text
    assert status_of(srv, image["id"]) == "active"
    requests.delete(srv.url + "/v2/images/" + image["id"], headers=ADMIN,
                    timeout=30)
    assert stored(srv.datadir, srv.staging) == []


def test_import_killed_while_copying(srv):
    """glance-direct copies the staged data into the store before its
    202; kill the server in the middle of that copy."""
    image = create_image(srv.url, name=unique("crash-import"))
    size = 256 * MiB
    block = os.urandom(MiB)
    resp = requests.put(srv.url + "/v2/images/%s/stage" % image["id"],
                        data=(block for _ in range(size // MiB)),
                        headers=OCTETS, timeout=300)
    assert resp.status_code == 204, resp.text
    staged = stored(srv.staging)
    assert len(staged) == 1
    outcome = []
    thread = threading.Thread(daemon=True, target=lambda: outcome.append(
        _post_quietly(srv.url + "/v2/images/%s/import" % image["id"],
                      {"method": {"name": "glance-direct"}})))
    thread.start()
    wait_for(lambda: partial_bytes(srv.datadir) >= 8 * MiB, step=0.005)
    assert status_of(srv, image["id"]) == "importing"
    crash_and_restart(srv, "import",
                      lambda: status_of(srv, image["id"]) == "uploading")
    thread.join(30)
    # The staged data is kept (the import can run again); the partial
    # copy in the image store is gone.
    assert stored(srv.datadir) == [] and stored(srv.staging) == staged
    resp = requests.post(srv.url + "/v2/images/%s/import" % image["id"],
                         json={"method": {"name": "glance-direct"}},
                         headers=ADMIN, timeout=300)
    assert resp.status_code == 202, resp.text
    got = get_image(srv.url, image["id"]).json()
    assert (got["status"], got["size"]) == ("active", size)
    requests.delete(srv.url + "/v2/images/" + image["id"], headers=ADMIN,
                    timeout=30)
    assert stored(srv.datadir, srv.staging) == []


def _post_quietly(url, body):
    try:
        return requests.post(url, json=body, headers=ADMIN, timeout=300)
    except requests.RequestException as exc:
        return exc


# -- a store that fills up mid-write ----------------------------------------

@contextlib.contextmanager
def tmpfs(path, size):
    """A real small filesystem (needs root and a kernel that lets the
    container mount one); skips otherwise."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                           "tmpfs", str(path)], capture_output=True)
    if done.returncode:
        pytest.skip("cannot mount a tmpfs here: %s" % done.stderr.decode())
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_store_is_glances_413_and_leaves_nothing(tmp_path):
    with tmpfs(tmp_path / "small", "8m") as small, \
            database_url("sqlite", tmp_path) as db_url:
        server = Glare(tmp_path, db_url)
        server.datadir = small / "images"
        server.staging = small / "staging"
        server.config = write_config(
            tmp_path / "glare.conf", db_url, server.datadir, server.port,
            "", "\n[os_glance_staging_store]\nfilesystem_store_datadir = "
            "%s\n" % server.staging)
        server.command[-1] = server.config
        server.start()
        try:
            _fill_up(server)
        finally:
            server.stop()


def _fill_up(srv):
    big = b"\x01" * (16 * MiB)
    for kind, url in (("file", "/v2/images/%s/file"),
                      ("stage", "/v2/images/%s/stage")):
        image = create_image(srv.url, name=unique("full"))
        resp = requests.put(srv.url + url % image["id"], data=big,
                            headers=dict(OCTETS, Accept="text/plain"),
                            timeout=60)
        assert resp.status_code == 413, (kind, resp.status_code, resp.text)
        assert resp.text == ("413 Request Entity Too Large\n\n%s\n\n   "
                             % FULL), resp.text
        assert status_of(srv, image["id"]) == "queued"
        assert stored(srv.datadir, srv.staging) == []
    art = _artifact(srv)
    resp = requests.put(art + "/file", data=big, headers=OCTETS, timeout=60)
    assert resp.status_code == 413
    assert resp.json()["error"]["message"] == FULL
    assert stored(srv.datadir, srv.staging) == []
    # Nothing is stuck: data that fits is taken at once.
    image = create_image(srv.url, name=unique("fits"))
    assert requests.put(srv.url + "/v2/images/%s/file" % image["id"],
                        data=b"x" * MiB, headers=OCTETS,
                        timeout=60).status_code == 204


# -- a database that goes away ----------------------------------------------

def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("no PostgreSQL server binaries to start a throwaway one")
    return os.path.dirname(found[-1])


class ThrowawayPostgres:
    """A private PostgreSQL cluster on a free port in a temp directory
    (never the shared one on 5432), stopped and started by the test."""

    def __init__(self):
        self.bin = _pg_bin()
        self.dir = tempfile.mkdtemp(prefix="glare-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:       # initdb refuses to run as root
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.dir, 0o755)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U",
                  "postgres", "--no-sync", "-E", "UTF8")
        self.url = "postgresql+psycopg2://postgres@127.0.0.1:%d/glare" \
            % self.port

    def _run(self, tool, *args):
        command = [os.path.join(self.bin, tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, capture_output=True,
                       cwd=self.dir)

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l",
                  os.path.join(self.dir, "log"), "-w", "-o",
                  "-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off"
                  % (self.port, self.dir), "start")

    def stop(self):
        """Stop at once, cutting every connection (as a crash would)."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                  "stop")

    def create_database(self):
        admin = sa.create_engine(self.url.replace("/glare", "/postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE glare"))
        admin.dispose()

    def remove(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg():
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.remove()


class Load:
    """Clients creating, reading and listing images in a loop until
    stopped; every answer's status and duration is kept."""

    def __init__(self, url, clients=4):
        self.url = url
        self.done = threading.Event()
        self.answers = []
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self):
        session = requests.Session()
        while not self.done.is_set():
            for method, path, body in (("POST", "/v2/images",
                                        {"name": "load"}),
                                       ("GET", "/v2/images?limit=5", None)):
                started = time.monotonic()
                try:
                    resp = session.request(method, self.url + path,
                                           json=body, headers=TEXT,
                                           timeout=30)
                    answer = (resp.status_code,
                              resp.headers.get("Retry-After"), resp.text)
                except requests.RequestException as exc:
                    answer = (None, None, repr(exc))
                self.answers.append(answer + (time.monotonic() - started,))

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(60)
        return self.answers


def test_database_away_is_503_with_retry_after_and_recovers(pg, tmp_path):
    with glare(tmp_path, pg.url) as srv:
        image = create_image(srv.url, name=unique("db-away"))
        art = _artifact(srv)
        stream = Streaming(srv.url + "/v2/images/%s/file" % image["id"],
                           first=4)
        wait_for(lambda: partial_bytes(srv.datadir) >= 2 * MiB)
        load = Load(srv.url)
        time.sleep(0.5)
        pg.stop()
        away = time.monotonic()
        # Every request is a clear 503 that says when to retry, at once.
        for method, url, headers in (
                ("GET", "/v2/images", TEXT),
                ("GET", "/v2/images/" + image["id"], TEXT),
                ("POST", "/v2/images", TEXT),
                ("GET", art[len(srv.url):], ADMIN)):
            started = time.monotonic()
            resp = requests.request(method, srv.url + url, headers=headers,
                                    json={} if method == "POST" else None,
                                    timeout=30)
            assert time.monotonic() - started < 15
            assert resp.status_code == 503, (url, resp.text)
            assert resp.headers["Retry-After"] == "5"
            assert "Traceback" not in resp.text
            assert "database is unavailable" in resp.text
        assert "/artifacts" not in url or resp.json()["error"]["code"] == 503
        figure("database away: first 503 within", time.monotonic() - away)
        health = requests.get(srv.url + "/healthcheck", timeout=30)
        assert (health.status_code, health.text) == (503, "DB unavailable")
        # The upload that was streaming when the database went away ends
        # with the same 503; its partial data is gone.
        outcome = stream.end()
        assert getattr(outcome, "status_code", None) == 503, outcome
        assert outcome.headers["Retry-After"] == "5"
        assert stored(srv.datadir) == []
        pg.start()
        back = time.monotonic()
        took = wait_for(lambda: requests.get(
            srv.url + "/healthcheck", timeout=30).status_code == 200)
        figure("database back: health check OK after", took)
        # The interrupted upload is released by its worker (retried
        # release), not left 'saving'.
        wait_for(lambda: status_of(srv, image["id"]) == "queued",
                 timeout=30)
        figure("database back: interrupted upload queued after",
               time.monotonic() - back)
        assert requests.put(srv.url + "/v2/images/%s/file" % image["id"],
                            data=b"back", headers=OCTETS,
                            timeout=30).status_code == 204
        assert requests.get(art, headers=ADMIN, timeout=30).status_code \
            == 200
        time.sleep(0.5)
        answers = load.stop()
        # Under load, while the database was away and when it came back:
        # only successes and 503s that say when to retry, none slow.
        codes = {a[0] for a in answers}
        assert codes <= {200, 201, 503}, [a for a in answers
                                          if a[0] not in (200, 201, 503)]
        assert 503 in codes and answers[-1][0] in (200, 201)
        assert all(a[1] == "5" for a in answers if a[0] == 503)
        assert max(a[3] for a in answers) < 15
        figure("database away under load: slowest answer",
               max(a[3] for a in answers))
        print("FIGURE database away under load: %d answers, %d were 503"
              % (len(answers), sum(a[0] == 503 for a in answers)))
        assert "Traceback" not in srv.log.read_text()
