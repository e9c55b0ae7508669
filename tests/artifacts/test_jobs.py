"""Durable data jobs (artifacts/jobs.py): copies queued by one request and
run by any worker, taken over when their worker died, failed together when
one store of a must-succeed batch fails."""

import datetime
import threading
import time

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts.db import api as db_api
from artifacts.db.models import artifacts as A
from artifacts.db.models import data_jobs as J
from artifacts.db.session import transaction
from artifacts import stores
from artifacts.jobs import DataJobs, LeaseLost, MAX_ATTEMPTS
from artifacts.types.images import FAILED_IMPORT, IMAGES, IMPORTING
from tests.artifacts.test_data import (DATA, admin, eng, image,  # noqa
                                       locations, read_all)


def uploaded(eng, ctx):
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    return art


def jobs_of(eng, art):
    with eng.db.connect() as conn:
        return {r.store: r for r in conn.execute(sa.select(J).where(
            J.c.artifact_id == art["id"]))}


def run_all(runner):
    while runner.run_one():
        pass


def test_a_queued_copy_runs_and_reports_progress(eng):
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"],
                           properties={IMPORTING: "cold", FAILED_IMPORT: ""})
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["properties"][IMPORTING] == "cold"
    # Another worker (its own runner) does the work.
    run_all(DataJobs(eng))
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["properties"][IMPORTING] == ""
    assert got["properties"][FAILED_IMPORT] == ""
    assert sorted(loc["store"] for loc in locations(eng, ctx, art["id"])) \
        == ["cold", "fast"]
    assert jobs_of(eng, art)["cold"].status == "done"


def test_a_job_whose_worker_died_is_taken_over(eng):
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"])
    dead = DataJobs(eng)
    job = dead._claim()                      # ... and then its worker died
    assert job["status"] == "running"
    other = DataJobs(eng)
    assert other.run_one() is False          # a live claim is left alone
    old = db_api.utcnow() - datetime.timedelta(
        seconds=eng.limits.job_lease_seconds + 5)
    transaction(eng.db, lambda c: c.execute(J.update().values(
        heartbeat_at=old)))
    assert other.run_one() is True
    row = jobs_of(eng, art)["cold"]
    assert (row.status, row.holder, row.attempts) == ("done", other.holder,
                                                      2)
    assert read_all(eng, ctx, art["id"]) == DATA


def test_one_failure_fails_a_must_succeed_batch(eng):
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["broken", "cold"],
                           must_succeed=True,
                           properties={IMPORTING: "broken,cold",
                                       FAILED_IMPORT: ""})
    run_all(DataJobs(eng))
    rows = jobs_of(eng, art)
    assert (rows["broken"].status, rows["cold"].status) == ("failed",
                                                           "failed")
    props = eng.get(ctx, IMAGES, art["id"])["properties"]
    assert props[IMPORTING] == ""
    assert sorted(props[FAILED_IMPORT].split(",")) == ["broken", "cold"]
    assert [loc["store"] for loc in locations(eng, ctx, art["id"])] == [
        "fast"]


def test_other_stores_go_on_when_not_all_must_succeed(eng):
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["broken", "cold"],
                           must_succeed=False,
                           properties={IMPORTING: "broken,cold",
                                       FAILED_IMPORT: ""})
    run_all(DataJobs(eng))
    props = eng.get(ctx, IMAGES, art["id"])["properties"]
    assert (props[IMPORTING], props[FAILED_IMPORT]) == ("", "broken")
    assert sorted(loc["store"] for loc in locations(eng, ctx, art["id"])) \
        == ["cold", "fast"]


def test_a_job_that_keeps_killing_its_workers_is_failed(eng):
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"])
    transaction(eng.db, lambda c: c.execute(J.update().values(
        attempts=MAX_ATTEMPTS)))
    assert DataJobs(eng).run_one() is True
    row = jobs_of(eng, art)["cold"]
    assert row.status == "failed" and "gave up" in row.error


def test_an_import_whose_worker_died_is_released(eng):
    """Recovery puts an image stuck in 'importing' back to 'uploading',
    its staged data kept, so the import can be tried again."""
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [DATA])
    old = db_api.utcnow() - datetime.timedelta(
        seconds=eng.limits.stale_upload_seconds + 5)
    transaction(eng.db, lambda c: c.execute(A.update().where(
        A.c.id == art["id"]).values(status="importing", updated_at=old)))
    assert eng.data.recover_stale_uploads([IMAGES]) == 1
    assert eng.get(ctx, IMAGES, art["id"])["status"] == "uploading"
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert read_all(eng, ctx, art["id"]) == DATA


def test_the_lease_is_short_and_on_the_database_clock(eng):
    """A dead worker's job is claimable one lease after its last heartbeat
    (not after stale_upload_seconds), by the database's clock."""
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"])
    assert eng.limits.job_lease_seconds == 30
    assert DataJobs(eng).lease_seconds == 30
    DataJobs(eng, lease_seconds=1)._claim()   # ... and its worker died
    other = DataJobs(eng, lease_seconds=1)
    assert other.run_one() is False
    time.sleep(1.3)
    assert other.run_one() is True
    assert jobs_of(eng, art)["cold"].status == "done"


class SlowWriter:
    def __init__(self, inner, delay, started):
        self.inner, self.delay, self.started = inner, delay, started

    def write(self, chunk):
        self.started.set()
        time.sleep(self.delay)
        self.inner.write(chunk)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class SlowStore:
    """A real filesystem store whose every write takes ``delay`` seconds."""

    def __init__(self, inner, delay):
        self.inner, self.delay = inner, delay
        self.started = threading.Event()

    def writer(self, key):
        return SlowWriter(self.inner.writer(key), self.delay, self.started)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def slow_eng(eng, tmp_path):
    slow = SlowStore(stores.create("filesystem", "slow",
                                   {"datadir": str(tmp_path / "slow")}), 0.6)
    slow.datadir = tmp_path / "slow"
    eng.stores.drivers["slow"] = slow
    return eng, slow


def test_a_slow_live_copy_keeps_its_job(slow_eng):
    """Writes slower than the lease: the heartbeat thread, not the bytes,
    keeps the job, so no other worker takes a live copy over."""
    eng, slow = slow_eng
    ctx = admin()
    art = uploaded(eng, ctx)            # 3 MiB: 3 writes of 1 MiB, 1.8 s
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["slow"])
    live = DataJobs(eng, lease_seconds=0.6)
    thread = threading.Thread(target=live.run_one)
    thread.start()
    other = DataJobs(eng, lease_seconds=0.6)
    slow.started.wait(5)
    claimed = []
    while thread.is_alive():
        claimed.append(other._claim())
        time.sleep(0.1)
    thread.join()
    assert claimed and not any(claimed)
    row = jobs_of(eng, art)["slow"]
    assert (row.status, row.holder, row.attempts) == ("done", live.holder,
                                                      1)
    assert "slow" in [loc["store"] for loc in locations(eng, ctx, art["id"])]


def test_a_worker_that_lost_its_lease_stops_and_records_nothing(slow_eng):
    """A worker frozen past its lease (its heartbeats stop) finds, when it
    wakes, the job taken over: it stops copying and records nothing; the
    new holder makes the copy and reports it."""
    eng, slow = slow_eng
    ctx = admin()
    art = uploaded(eng, ctx)
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["slow"])
    frozen = DataJobs(eng, lease_seconds=0.6)
    asleep = threading.Event()
    real_beat = frozen.beat
    frozen.beat = lambda job_id: True if asleep.is_set() else real_beat(
        job_id)
    outcome = []

    def run_frozen():
        try:
            outcome.append(frozen.run_one())
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)
    first = threading.Thread(target=run_frozen)
    first.start()
    slow.started.wait(5)
    asleep.set()
    time.sleep(0.9)                     # past the lease, no heartbeat
    other = DataJobs(eng, lease_seconds=0.6)
    second = threading.Thread(target=other.run_one)
    second.start()
    time.sleep(0.3)
    asleep.clear()                      # wakes up: its next beat fails
    first.join(10)
    second.join(10)
    assert outcome == [True]
    row = jobs_of(eng, art)["slow"]
    assert (row.status, row.holder, row.attempts) == ("done", other.holder,
                                                      2)
    assert [loc["store"] for loc in locations(eng, ctx, art["id"])].count(
        "slow") == 1
    # The frozen worker's partial copy was cancelled: one file stays.
    assert len([f for f in slow.datadir.rglob("*") if f.is_file()]) == 1
