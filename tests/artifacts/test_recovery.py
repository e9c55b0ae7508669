"""Crash recovery (artifacts/recovery.py): the work of a process that died
-- an upload's claim, its store writes, an import, a copy job -- is released
at once when the process is proven dead (same host), after its lease
otherwise, and no byte of what it wrote stays in any store.

A "dead process" here is the instance id of a child process that exited:
its claims and write records are given that holder while an upload is held
mid-stream in a thread, exactly the state a kill -9 leaves (the real kill
-9 of a server is in tests/reliability/test_crash_recovery.py)."""

import datetime
import os
import subprocess
import sys
import threading
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors, instance, recovery, stores, types
from artifacts.context import RequestContext
from artifacts.db import api as db_api
from artifacts.db import migrate
from artifacts.db.models import (artifact_blobs, artifact_locks, data_jobs,
                                 store_objects, store_writes,
                                 upload_reservations)
from artifacts.db.session import make_engine, transaction
from artifacts.engine import Engine, Limits
from artifacts.jobs import DataJobs
from artifacts.locking import Locks
from artifacts.policy import Enforcer
from artifacts.stores.placement import StoreSet
from artifacts.types.artifact_policies import RULES as ARTIFACT_RULES
from artifacts.types.base import Field, artifact_type
from artifacts.types.image_policies import RULES as IMAGE_RULES
from artifacts.types.images import IMAGES
from glare import config
from tests.conftest import ROOT, database_url, selected_databases

MiB = 1024 * 1024
FILES = types.get("files")
ANOTHER_HOST = "elsewhere/0123456789abcdef/4242/1"

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"),
                                reason="needs Linux /proc")


@pytest.fixture(scope="module", params=selected_databases())
def database(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recovery-%s" % request.param)
    with database_url(request.param, tmp) as url:
        db = make_engine(url)
        migrate.upgrade(db)
        yield db
        db.dispose()


@pytest.fixture(scope="module")
def enforcer():
    return Enforcer(config.load(overrides={
        "oslo_policy.policy_file": "/nonexistent/policy.yaml"}),
        IMAGE_RULES + ARTIFACT_RULES)


@pytest.fixture
def eng(database, enforcer, tmp_path):
    def fs(name):
        return stores.create("filesystem", name,
                             {"datadir": str(tmp_path / name)})
    drivers = {"fs": fs("fs"), "cold": fs("cold"),
               "db": stores.create("database", "db", {"engine": database})}
    store_set = StoreSet(drivers=drivers, default="fs", staging=fs("staging"))
    engine = Engine(database, drivers["fs"], enforcer,
                    Limits(stale_upload_seconds=600),
                    locks=Locks(database, wait_seconds=1), stores=store_set)
    engine.tmp_path = tmp_path
    return engine


def admin():
    return RequestContext(project_id="p-" + uuid.uuid4().hex[:8],
                          user_id="admin", roles=("admin", "member",
                                                  "reader"))


def dead_holder():
    """The instance id of a process that has exited."""
    out = subprocess.run(
        [sys.executable, "-c",
         "from artifacts import instance; print(instance.current())"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), check=True,
        capture_output=True, text=True)
    return out.stdout.strip()


def files(eng, art_id=None):
    """Every file of every filesystem store (temp files included), or
    those whose name holds the artifact's id or a temp file."""
    found = []
    for root, _dirs, names in os.walk(eng.tmp_path):
        found.extend(os.path.join(root, n) for n in names)
    return found


def db_objects(eng, art_id):
    with eng.db.connect() as conn:
        return conn.execute(sa.select(store_objects.c.id).where(
            store_objects.c.key.like(art_id + "%"))).all()


def records(eng, art_id):
    with eng.db.connect() as conn:
        return conn.execute(sa.select(store_writes).where(
            store_writes.c.artifact_id == art_id)).all()


def claims(eng, art_id):
    with eng.db.connect() as conn:
        return conn.execute(sa.select(artifact_blobs).where(
            artifact_blobs.c.artifact_id == art_id,
            artifact_blobs.c.status == "saving")).all()


def hand_over(eng, art_id, holder, age=0):
    """Give the artifact's claims and write records to ``holder`` (and
    make their heartbeat ``age`` seconds old)."""
    when = db_api.utcnow() - datetime.timedelta(seconds=age)

    def run(conn):
        conn.execute(artifact_blobs.update().where(
            artifact_blobs.c.artifact_id == art_id,
            artifact_blobs.c.status == "saving").values(
            holder=holder, updated_at=when))
        conn.execute(store_writes.update().where(
            store_writes.c.artifact_id == art_id).values(
            holder=holder, updated_at=when))
    transaction(eng.db, run)


class Held:
    """Upload ``before`` bytes, then wait until released (as a process
    that stops mid-stream), then ``after`` bytes; runs in a thread."""

    def __init__(self, call, before=3 * MiB, after=MiB):
        self.before, self.after = before, after
        self.reached, self.go = threading.Event(), threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(call,))
        self.thread.start()
        assert self.reached.wait(30), self.error

    def chunks(self):
        for _ in range(self.before // MiB):
            yield b"x" * MiB
        self.reached.set()
        self.go.wait(60)
        yield b"y" * self.after

    def _run(self, call):
        try:
            call(self.chunks())
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            self.error = exc
        finally:
            self.reached.set()

    def finish(self):
        self.go.set()
        self.thread.join(60)
        return self.error


def new_image(eng, ctx):
    return eng.create(ctx, IMAGES, {"name": "i", "properties": {
        "disk_format": "raw", "container_format": "bare"}})


def status(eng, ctx, art):
    return eng.get(ctx, IMAGES, art["id"])["status"]


@pytest.mark.parametrize("store", ["fs", "db"])
def test_an_upload_of_a_dead_process_is_released_at_once(eng, store):
    ctx = admin()
    art = new_image(eng, ctx)
    held = Held(lambda chunks: eng.data.upload(ctx, IMAGES, art["id"],
                                               "image", chunks, store=store))
    assert status(eng, ctx, art) == "saving"
    assert files(eng) or db_objects(eng, art["id"])    # partial data
    assert len(records(eng, art["id"])) == 1            # recorded first
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([IMAGES]) == 2
    assert status(eng, ctx, art) == "queued"
    assert files(eng) == [] and db_objects(eng, art["id"]) == []
    assert records(eng, art["id"]) == [] and claims(eng, art["id"]) == []
    # The held upload goes on, then finds it was released: it fails and
    # leaves nothing, and does not touch the status.
    assert isinstance(held.finish(), (errors.Conflict,
                                      errors.StoreUnavailable))
    assert status(eng, ctx, art) == "queued"
    assert files(eng) == [] and db_objects(eng, art["id"]) == []
    eng.data.upload(ctx, IMAGES, art["id"], "image", [b"z" * 10],
                    store=store)
    assert status(eng, ctx, art) == "active"
    eng.delete(ctx, IMAGES, art["id"])
    assert files(eng) == [] and db_objects(eng, art["id"]) == []


def test_a_new_upload_takes_a_dead_processes_slot_without_waiting(eng):
    ctx = admin()
    art = new_image(eng, ctx)
    held = Held(lambda chunks: eng.data.upload(ctx, IMAGES, art["id"],
                                               "image", chunks))
    with pytest.raises(errors.Conflict):      # alive: one upload at a time
        eng.data.upload(ctx, IMAGES, art["id"], "image", [b"new"])
    hand_over(eng, art["id"], dead_holder())
    eng.data.upload(ctx, IMAGES, art["id"], "image", [b"new"])
    assert status(eng, ctx, art) == "active"
    held.finish()
    [data_file] = files(eng)
    with open(data_file, "rb") as f:
        assert f.read() == b"new"


def test_another_hosts_upload_is_released_when_its_lease_runs_out(eng):
    ctx = admin()
    art = new_image(eng, ctx)
    held = Held(lambda chunks: eng.data.upload(ctx, IMAGES, art["id"],
                                               "image", chunks))
    hand_over(eng, art["id"], ANOTHER_HOST)
    assert recovery.recover(eng.data, [IMAGES], art["id"]) == 0
    with pytest.raises(errors.Conflict):
        eng.data.upload(ctx, IMAGES, art["id"], "image", [b"new"])
    hand_over(eng, art["id"], ANOTHER_HOST,
              age=eng.limits.stale_upload_seconds + 5)
    assert recovery.recover(eng.data, [IMAGES], art["id"]) == 2
    assert status(eng, ctx, art) == "queued" and files(eng) == []
    held.finish()


def test_blob_and_folder_uploads_of_a_dead_process(eng):
    ctx = admin()
    art = eng.create(ctx, FILES, {"name": "f", "version": "1.0.0"})
    blob = Held(lambda chunks: eng.data.upload(ctx, FILES, art["id"],
                                               "file", chunks))
    folder = Held(lambda chunks: eng.data.upload(
        ctx, FILES, art["id"], "files", chunks, path="a/b.bin"))
    assert len(claims(eng, art["id"])) == 2
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([FILES]) == 4
    assert claims(eng, art["id"]) == [] and files(eng) == []
    blob.finish(), folder.finish()
    eng.data.upload(ctx, FILES, art["id"], "file", [b"1"])
    eng.data.upload(ctx, FILES, art["id"], "files", [b"2"], path="a/b.bin")
    got = eng.get(ctx, FILES, art["id"])
    assert sorted((b["field"], b["path"]) for b in got["blobs"]
                  if b["status"] == "active") == [("file", ""),
                                                  ("files", "a/b.bin")]
    eng.delete(ctx, FILES, art["id"])
    assert files(eng) == []


def test_staging_of_a_dead_process_is_unstaged(eng):
    ctx = admin()
    art = new_image(eng, ctx)
    held = Held(lambda chunks: eng.data.upload(ctx, IMAGES, art["id"],
                                               "staging", chunks))
    assert status(eng, ctx, art) == "uploading"
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([IMAGES]) == 2
    assert status(eng, ctx, art) == "queued" and files(eng) == []
    held.finish()
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [b"staged"])
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert status(eng, ctx, art) == "active"


def test_an_import_of_a_dead_process_keeps_the_staged_data(eng):
    ctx = admin()
    art = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [b"s" * (4 * MiB)])
    staged = files(eng)
    assert len(staged) == 1
    # Hold the import mid-copy: the staged data reads slowly.
    gate = threading.Event()
    reached = threading.Event()
    original = eng.data._copy

    def slow_copy(*args, **kwargs):
        def through(chunks):
            def gen():
                for i, chunk in enumerate(chunks):
                    if i == 2:
                        reached.set()
                        gate.wait(60)
                    yield chunk
            return gen(), []
        kwargs["through"] = through
        return original(*args, **kwargs)
    eng.data._copy = slow_copy
    errors_seen = []
    thread = threading.Thread(target=lambda: errors_seen.append(
        _call(eng.data.import_staged, ctx, IMAGES, art["id"],
              stores=["cold"])))
    thread.start()
    assert reached.wait(30)
    assert status(eng, ctx, art) == "importing"
    assert len(claims(eng, art["id"])) == 1
    assert len(records(eng, art["id"])) == 1
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([IMAGES]) == 2
    assert status(eng, ctx, art) == "uploading"
    assert files(eng) == staged                 # the copy's bytes are gone
    gate.set()
    thread.join(60)
    eng.data._copy = original
    assert isinstance(errors_seen[0], (errors.Conflict,
                                       errors.StoreUnavailable))
    assert status(eng, ctx, art) == "uploading" and files(eng) == staged
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert status(eng, ctx, art) == "active"
    assert len(files(eng)) == 1 and "cold" in files(eng)[0]


def _call(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - returned to the test
        return exc
    return None


def test_a_copy_job_of_a_dead_process_runs_again(eng):
    ctx = admin()
    art = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [b"d" * 100])
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"])
    gone = dead_holder()
    job = DataJobs(eng, holder=gone)._claim()   # ... and then it died
    # What it had started to write into the store.
    write_id = eng.data.writes.start("cold", "%s.image.partial" % art["id"],
                                     art["id"])
    writer = eng.stores.driver("cold").writer("%s.image.partial" % art["id"])
    writer.write(b"partial")
    hand_over(eng, art["id"], gone)
    assert DataJobs(eng).run_one() is False     # its lease still holds
    assert eng.data.recover_stale_uploads([IMAGES]) == 2
    with eng.db.connect() as conn:
        row = conn.execute(sa.select(data_jobs).where(
            data_jobs.c.id == job["id"])).one()
        assert conn.execute(sa.select(store_writes).where(
            store_writes.c.id == write_id)).first() is None
    assert (row.status, row.holder) == ("pending", None)
    assert not os.listdir(os.path.join(eng.tmp_path, "cold", ".tmp"))
    assert DataJobs(eng).run_one() is True
    assert sorted(loc["store"] for b in eng.get(ctx, IMAGES, art["id"])[
        "blobs"] for loc in b["locations"]) == ["cold", "fs"]
    writer.cancel()


def test_a_release_the_database_refused_is_retried(eng, monkeypatch):
    ctx = admin()
    art = new_image(eng, ctx)
    real = eng.data.writes.abandon
    calls = []

    def away(writes):
        calls.append(writes)
        if len(calls) == 1:
            raise sa.exc.OperationalError("DELETE", {}, Exception("gone"))
        return real(writes)
    monkeypatch.setattr(eng.data.writes, "abandon", away)

    def broken():
        yield b"x" * MiB
        raise IOError("client went away")
    with pytest.raises(IOError):
        eng.data.upload(ctx, IMAGES, art["id"], "image", broken())
    assert status(eng, ctx, art) == "saving"     # could not be released
    assert eng.data.retry_releases() == 1
    assert status(eng, ctx, art) == "queued"
    assert records(eng, art["id"]) == [] and claims(eng, art["id"]) == []
    assert files(eng) == []
    assert eng.data.retry_releases() == 0


def test_derived_files_of_a_dead_process_are_removed(eng):
    """Files a hook writes from the upload (vnf_packages unpacks its CSAR)
    are recorded before their first byte like the upload itself."""
    reached, gate = threading.Event(), threading.Event()

    def derive(ctx, artifact, field, path, result, store, **_):
        from artifacts.stores.streaming import write_stream
        made = write_stream(store, "%s/derived/one" % artifact["id"],
                            [b"derived" * 1000])
        reached.set()
        gate.wait(60)
        return [("out", "one", made)]
    atype = artifact_type("crash_derived", {
        "src": Field("blob"), "out": Field("folder", system=True)},
        noun="derived", hooks={"blob_uploaded": [derive]})
    ctx = admin()
    art = eng.create(ctx, atype, {"name": "d", "version": "1.0.0"})
    thread = threading.Thread(target=lambda: _call(
        eng.data.upload, ctx, atype, art["id"], "src", [b"source"]))
    thread.start()
    assert reached.wait(30)
    assert len(records(eng, art["id"])) == 2
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([atype]) == 3
    assert files(eng) == []
    gate.set()
    thread.join(60)
    assert files(eng) == [] and records(eng, art["id"]) == []


def test_a_restage_of_a_dead_process_keeps_the_staged_data(eng):
    """Import plugins replacing staged data die: their partial output
    goes, the staged data and status they were replacing stay."""
    ctx = admin()
    art = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [b"staged"])
    staged = files(eng)
    held = Held(lambda chunks: eng.data.upload(
        ctx, IMAGES, art["id"], "staging", chunks, restage={}))
    hand_over(eng, art["id"], dead_holder())
    assert eng.data.recover_stale_uploads([IMAGES]) == 2
    assert status(eng, ctx, art) == "uploading" and files(eng) == staged
    assert isinstance(held.finish(), (errors.Conflict,
                                      errors.StoreUnavailable))
    assert files(eng) == staged
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert status(eng, ctx, art) == "active"
def test_locks_and_reservations_of_a_dead_local_process_go_at_once(eng):
    """``recover`` deletes the locks and upload reservations whose owner
    is a process of this host proven dead; a live owner's and another
    host's stay (they run out with their lease)."""
    dead, alive = dead_holder(), instance.current()
    owners = (dead, alive, ANOTHER_HOST)
    now = db_api.utcnow()
    later = now + datetime.timedelta(seconds=300)

    def insert(conn):
        for n, owner in enumerate(owners):
            conn.execute(artifact_locks.insert().values(
                lock_key=uuid.uuid4().hex, holder=uuid.uuid4().hex,
                operation="upload", owner=owner, acquired_at=now,
                expires_at=later))
            conn.execute(upload_reservations.insert().values(
                project_id="p", type_name="images",
                artifact_id=str(uuid.uuid4()), bytes=n + 1,
                expires_at=later, owner=owner))
    transaction(eng.db, insert)
    assert recovery.release_dead_leases(eng.db) == 2

    def left(conn):
        return [sorted(r[0] for r in conn.execute(
            sa.select(t.c.owner).where(t.c.owner.in_(owners))))
            for t in (artifact_locks, upload_reservations)]
    expected = sorted([alive, ANOTHER_HOST])
    assert transaction(eng.db, left) == [expected, expected]
    transaction(eng.db, lambda conn: [conn.execute(t.delete().where(
        t.c.owner.in_(owners))) for t in (artifact_locks,
                                          upload_reservations)])
