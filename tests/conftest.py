"""Shared fixtures: databases of the matrix and a real Glare server.

``database_url(kind)`` makes a fresh, empty database on a real server
(SQLite file, PostgreSQL or MariaDB on 127.0.0.1) and drops it afterwards;
``migrated_database(kind)`` is one with Glare's schema and an engine on it.
Which kinds run is ``GLARE_TEST_DATABASES`` (default: all three).  A server
that cannot be reached skips its tests locally but fails them in CI
(``CI=true``), so the matrix cannot silently shrink there.

``glare_server(...)`` starts ``glare serve`` (gunicorn, several workers) on a
free port of 127.0.0.1 and stops it at the end.

``s3_endpoint`` is a real S3-protocol server (moto, tests/s3_server.py) for
the whole test process.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_DATABASES = ("sqlite", "postgresql", "mysql")
ADMIN_URLS = {
    "postgresql": os.environ.get(
        "GLARE_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get(
        "GLARE_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def selected_databases():
    names = os.environ.get("GLARE_TEST_DATABASES", ",".join(ALL_DATABASES))
    return [n.strip() for n in names.split(",") if n.strip()]


def _unreachable(kind, err):
    message = "%s is not reachable: %s" % (kind, err)
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def database_url(kind, tmp_path):
    """A fresh database of ``kind``; yields its SQLAlchemy URL."""
    if kind == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "glare.sqlite")
        return
    name = "glare_test_%s" % uuid.uuid4().hex[:12]
    admin_url = ADMIN_URLS[kind]
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE %s" % name))
    except Exception as err:  # noqa: BLE001
        _unreachable(kind, err)
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text("DROP DATABASE IF EXISTS %s" % name))
        admin.dispose()


@contextlib.contextmanager
def migrated_database(kind, tmp_path):
    """A fresh database of ``kind`` whose schema the migrations built (never
    ``create_all``); yields (its URL, an engine on it), disposed after."""
    from artifacts.db import migrate, session
    with database_url(kind, tmp_path) as url:
        engine = session.make_engine(url)
        migrate.upgrade(engine)
        try:
            yield url, engine
        finally:
            engine.dispose()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path, db_url, datadir, port, extra="", sections=""):
    """``extra`` goes under [DEFAULT]; ``sections`` (whole sections, raw
    INI text) is appended at the end."""
    path.write_text(
        "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 2\n"
        "%s\n[database]\nconnection = %s\n[glance_store]\n"
        "filesystem_store_datadir = %s\n%s" % (port, extra, db_url, datadir,
                                               sections))
    return str(path)


class Server:
    def __init__(self, url, config, datadir, db_url, process, log):
        self.url = url
        self.config = config
        self.datadir = datadir
        self.db_url = db_url
        self.process = process
        self.log = log

    def log_text(self):
        with open(self.log) as f:
            return f.read()


@contextlib.contextmanager
def glare_server(tmp_path, db_url, extra_conf="", extra_sections=""):
    """Run a real Glare (gunicorn, 2 workers) until the block ends."""
    port = free_port()
    datadir = tmp_path / "images"
    config = write_config(tmp_path / "glare.conf", db_url, datadir, port,
                          extra_conf, extra_sections)
    glare = [sys.executable, "-m", "glare.cli", "--config", config]
    subprocess.run(glare + ["db", "upgrade"], check=True, cwd=ROOT,
                   capture_output=True)
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(glare + ["serve"], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(url + "/healthcheck", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("Glare did not start:\n" + log.read_text())
            time.sleep(0.1)
        yield Server(url, config, datadir, db_url, proc, log)
    finally:
        stop_process_group(proc)


def stop_process_group(proc, timeout=15):
    """SIGTERM a server started with ``start_new_session`` and all its
    workers; SIGKILL what is still there after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module", params=selected_databases())
def db_kind(request):
    return request.param


@pytest.fixture(scope="module")
def server(db_kind, tmp_path_factory):
    """One real Glare per test module and database kind."""
    tmp = tmp_path_factory.mktemp("glare-%s" % db_kind)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url) as srv:
            yield srv


@pytest.fixture(scope="session")
def s3_endpoint():
    """The URL of an S3-protocol server on 127.0.0.1 (moto in server
    mode, tests/s3_server.py) shared by this test process."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    from tests import s3_server
    with s3_server.moto_server() as endpoint:
        yield endpoint
