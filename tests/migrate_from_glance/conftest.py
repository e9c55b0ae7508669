"""Fixtures of the migration tests: a real Glance schema and a Glare target.

``glance_db(kind)``: a Glance database made by real Glance 33's
``glance-manage db sync`` (its venv: ``$GLANCE_VENV``, ./.cache/glance-venv
or the main checkout's) on SQLite, PostgreSQL or MariaDB.  The SQLite file
is made once and cached under .cache/ (copied per test); without the venv
the SQLite tests use tests/migrate_from_glance/glance33_schema.sql, the
schema glance-manage made, dumped (``make_schema_dump``), and the
PostgreSQL/MariaDB ones are skipped with that reason.

``GlanceRows`` writes images the way Glance's database API does (rows in
images, image_properties, image_tags, image_members, image_locations).
"""

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid

import pytest
import sqlalchemy as sa

from artifacts.db import migrate
from glare import config
from glare.app import build_engine
from tests.conftest import ROOT, database_url

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DUMP = os.path.join(HERE, "glance33_schema.sql")
CACHE = os.path.join(ROOT, ".cache")


def glance_venv():
    for path in (os.environ.get("GLANCE_VENV"),
                 os.path.join(ROOT, ".cache", "glance-venv")):
        if path and os.access(os.path.join(path, "bin", "glance-manage"),
                              os.X_OK):
            return path
    return None


def db_sync(url, tmp_path):
    """Run real ``glance-manage db sync`` against ``url``."""
    venv = glance_venv()
    conf = tmp_path / ("glance-%s.conf" % uuid.uuid4().hex[:6])
    conf.write_text("[database]\nconnection = %s\n" % url)
    subprocess.run([os.path.join(venv, "bin", "glance-manage"),
                    "--config-file", str(conf), "db", "sync"],
                   check=True, capture_output=True, timeout=300)


def make_schema_dump(sqlite_path):
    with sqlite3.connect(sqlite_path) as conn:
        return "\n".join(conn.iterdump())


def cached_glance_sqlite(tmp_path):
    """Path of a pristine synced Glance SQLite database (made once)."""
    cached = os.path.join(CACHE, "glance33-schema.sqlite")
    if not os.path.exists(cached):
        os.makedirs(CACHE, exist_ok=True)
        part = cached + ".%d" % os.getpid()
        if glance_venv():
            db_sync("sqlite:///%s" % part, tmp_path)
        else:
            with open(SCHEMA_DUMP) as f, sqlite3.connect(part) as conn:
                conn.executescript(f.read())
        os.replace(part, cached)
    return cached


@contextlib.contextmanager
def glance_db(kind, tmp_path):
    """A Glance database of ``kind`` with Glance 33's schema (its URL)."""
    if kind == "sqlite":
        path = tmp_path / ("glance-%s.sqlite" % uuid.uuid4().hex[:6])
        shutil.copy(cached_glance_sqlite(tmp_path), path)
        yield "sqlite:///%s" % path
        return
    if glance_venv() is None:
        pytest.skip("real Glance venv (make glance-venv) is not built")
    with database_url(kind, tmp_path) as url:
        db_sync(url, tmp_path)
        yield url


def glare_engine(tmp_path, db_url, extra="", glance_datadir=None,
                 sections=""):
    """A migrated Glare database and its engine (as `glare` builds it);
    ``glance_datadir``: a filesystem store ``glance`` reading Glance's
    image directory where it is."""
    if glance_datadir:
        sections += ("\n[store:glance]\ndriver = filesystem\ndatadir = %s\n"
                     % glance_datadir)
    datadir = tmp_path / "glare-images"
    path = tmp_path / ("glare-%s.conf" % uuid.uuid4().hex[:6])
    path.write_text("[DEFAULT]\n%s\n[database]\nconnection = %s\n"
                    "[glance_store]\nfilesystem_store_datadir = %s\n"
                    "[oslo_policy]\npolicy_file = /nonexistent/policy.yaml\n"
                    "%s" % (extra, db_url, datadir, sections))
    conf = config.load(str(path))
    engine = build_engine(conf)
    migrate.upgrade(engine.db)
    engine.config_path = str(path)
    return engine


@contextlib.contextmanager
def migration_env(kind, tmp_path, fill):
    """A Glance database of ``kind`` with the rows ``fill(conn)`` writes
    (in one transaction) and an empty Glare database of the same kind;
    yields (an engine on Glance's, its URL, Glare's ``glare_engine``)."""
    with glance_db(kind, tmp_path) as src, \
            database_url(kind, tmp_path) as dst:
        source = sa.create_engine(src)
        with source.begin() as conn:
            fill(conn)
        engine = glare_engine(tmp_path, dst)
        try:
            yield source, src, engine
        finally:
            source.dispose()
            engine.db.dispose()


T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456)


class GlanceRows:
    """Writes Glance rows with SQL (as glance.db.sqlalchemy.api stores
    them), with microsecond timestamps where the database keeps them."""

    def __init__(self, url, datadir=None):
        self.url = url
        self.engine = sa.create_engine(url)
        self.meta = sa.MetaData()
        self.meta.reflect(self.engine, only=(
            "images", "image_properties", "image_tags", "image_members",
            "image_locations"))
        self.t = self.meta.tables
        self.datadir = datadir
        self.clock = T0

    def tick(self):
        self.clock += datetime.timedelta(seconds=1, microseconds=1001)
        return self.clock

    def image(self, image_id=None, data=None, properties=None, tags=(),
              members=(), locations=None, **fields):
        """An image row with its children; ``data``: bytes written to a
        file location under ``datadir`` (size and hashes set)."""
        image_id = image_id or str(uuid.uuid4())
        now = fields.pop("created_at", None) or self.tick()
        row = dict(id=image_id, name="img-" + image_id[:8], size=None,
                   status="queued", created_at=now,
                   updated_at=fields.pop("updated_at", now), deleted_at=None,
                   deleted=False, disk_format=None, container_format=None,
                   checksum=None, owner="project-a", min_disk=0, min_ram=0,
                   protected=False, virtual_size=None, visibility="shared",
                   os_hidden=False, os_hash_algo=None, os_hash_value=None)
        locations = list(locations or [])
        if data is not None:
            path = os.path.join(self.datadir, image_id)
            with open(path, "wb") as f:
                f.write(data)
            locations.insert(0, ("file://" + path, {}))
            row.update(size=len(data), status="active", disk_format="raw",
                       container_format="bare",
                       checksum=hashlib.md5(data).hexdigest(),
                       os_hash_algo="sha512",
                       os_hash_value=hashlib.sha512(data).hexdigest())
        row.update(fields)
        with self.engine.begin() as conn:
            conn.execute(self.t["images"].insert(), row)
            self._children(conn, image_id, properties or {}, tags, members,
                           locations, now)
        return image_id

    def _children(self, conn, image_id, properties, tags, members,
                  locations, now):
        common = dict(image_id=image_id, created_at=now, updated_at=now,
                      deleted_at=None, deleted=False)
        if properties:
            conn.execute(self.t["image_properties"].insert(), [
                dict(common, name=k, value=v) for k, v in properties.items()])
        if tags:
            conn.execute(self.t["image_tags"].insert(), [
                dict(common, value=v) for v in tags])
        for member in members:
            member, status = (member if isinstance(member, tuple)
                              else (member, "pending"))
            conn.execute(self.t["image_members"].insert(), dict(
                common, member=member, status=status, can_share=False))
        for loc in locations:
            url, meta = loc[0], loc[1]
            status = loc[2] if len(loc) > 2 else "active"
            conn.execute(self.t["image_locations"].insert(), dict(
                common, value=url, meta_data=json.dumps(meta),
                status=status))

    def execute(self, sql, **params):
        with self.engine.begin() as conn:
            return conn.execute(sa.text(sql), params)

    def dispose(self):
        self.engine.dispose()
