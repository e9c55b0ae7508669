"""Locks and quota reservations of a process killed with SIGKILL.

A child process takes an artifact lock and an upload's byte reservation
and is killed with ``kill -9``, as a crash would.  Then:

* when the child ran on **this host**, a restarting ``glare serve`` (its
  crash recovery) deletes both at once, and the next acquirer of a lock
  takes it over at once, without waiting for the lease;
* when the child posed as a process of **another host** (a different host
  tag, so it cannot be proven dead here), the restart leaves both alone:
  the lock stays held and the bytes stay reserved until their lease ends;
  after that the lock is taken over and the bytes no longer count.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from artifacts import locking
from artifacts.db import session
from artifacts.db.models import artifact_locks, upload_reservations
from artifacts.locking import Locks
from artifacts.quotas import Quotas
from tests.conftest import ROOT, glare_server, migrated_database, \
    selected_databases

pytestmark = pytest.mark.integration

PROJECT_BYTES = 5 * 1024 * 1024

# The child: take the lock and reserve bytes, say so, then wait to be
# killed.  ``elsewhere`` gives it another host's tag: its instance id then
# names a host this one cannot check.
CHILD = r"""
import sys, time
from artifacts import instance
if sys.argv[2] == "elsewhere":
    instance.host_tag = lambda: "0123456789abcdef"
from artifacts.db import session
from artifacts.locking import Locks
from artifacts.quotas import Meter, Quotas
engine = session.make_engine(sys.argv[1])
lease = float(sys.argv[5])
Locks(engine, lease_seconds=lease).acquire(("image", sys.argv[3]), "upload")
quotas = Quotas(engine, reservation_seconds=lease)
Meter(quotas, sys.argv[4], "images", sys.argv[3])._grow(%d)
print(instance.current(), flush=True)
time.sleep(600)
""" % PROJECT_BYTES


@pytest.fixture(params=selected_databases())
def db(request, tmp_path):
    with migrated_database(request.param, tmp_path) as db:
        yield db


def crashed_holder(url, where, lease):
    """Run the child until it holds the lock and the reservation, then
    SIGKILL it; returns (artifact id, project id, its instance id)."""
    artifact_id, project = str(uuid.uuid4()), "p-" + uuid.uuid4().hex[:8]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, where, artifact_id, project,
         str(lease)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT))
    owner = child.stdout.readline().strip()
    assert owner, "the child did not take the lock"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    return artifact_id, project, owner


def lock_held(engine, artifact_id):
    try:
        Locks(engine).acquire(("image", artifact_id), "probe",
                              wait_seconds=0).release()
    except locking.Locked:
        return True
    return False


def reserved(engine, project):
    return session.read(engine, lambda conn: Quotas(engine).reserved(
        conn, project)).get("images", 0)


def rows(engine, table, owner):
    return session.read(engine, lambda conn: conn.execute(
        sa.select(sa.func.count()).select_from(table)
        .where(table.c.owner == owner)).scalar())


def test_restart_releases_this_hosts_dead_owner_not_another_hosts(
        db, tmp_path):
    url, engine = db
    here = crashed_holder(url, "here", lease=300)
    there = crashed_holder(url, "elsewhere", lease=300)
    for artifact_id, project, owner in (here, there):
        assert rows(engine, artifact_locks, owner) == 1
        assert reserved(engine, project) >= PROJECT_BYTES
    assert here[2].split("/")[1] != there[2].split("/")[1]

    with glare_server(tmp_path, url) as server:
        assert "Crash recovery: released" in server.log_text()
        # This host's dead process: gone at the restart.
        assert rows(engine, artifact_locks, here[2]) == 0
        assert rows(engine, upload_reservations, here[2]) == 0
        assert reserved(engine, here[1]) == 0
        assert not lock_held(engine, here[0])
        # Another host's: cannot be proven dead, so its lease decides.
        assert rows(engine, artifact_locks, there[2]) == 1
        assert lock_held(engine, there[0])
        assert reserved(engine, there[1]) >= PROJECT_BYTES


def test_another_hosts_dead_owner_expires_with_its_lease(db):
    url, engine = db
    lease = 3.0
    artifact_id, project, owner = crashed_holder(url, "elsewhere", lease)
    assert lock_held(engine, artifact_id)
    assert reserved(engine, project) >= PROJECT_BYTES
    time.sleep(lease + 0.5)
    # The lease ran out on the database's clock: the lock is taken over
    # and the reservation no longer counts; scrub's purges delete them.
    assert not lock_held(engine, artifact_id)
    assert reserved(engine, project) == 0
    Quotas(engine).purge_expired()
    assert rows(engine, upload_reservations, owner) == 0


def test_next_acquirer_takes_a_dead_local_owners_lock_at_once(db):
    url, engine = db
    artifact_id, _, owner = crashed_holder(url, "here", lease=300)
    started = time.monotonic()
    lease = Locks(engine).acquire(("image", artifact_id), "update",
                                  wait_seconds=0)
    assert time.monotonic() - started < 2.0
    try:
        assert rows(engine, artifact_locks, owner) == 0
    finally:
        lease.release()
