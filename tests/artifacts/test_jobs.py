"""Durable data jobs (artifacts/jobs.py): copies queued by one request and
run by any worker, taken over when their worker died, failed together when
one store of a must-succeed batch fails."""

import datetime

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts.db import api as db_api
from artifacts.db.models import artifacts as A
from artifacts.db.models import data_jobs as J
from artifacts.db.session import transaction
from artifacts.jobs import DataJobs, MAX_ATTEMPTS
from artifacts.types.images import (FAILED_IMPORT, IMAGES, IMPORT_LOCK,
                                    IMPORTING)
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
        seconds=eng.limits.stale_upload_seconds + 5)
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


def test_a_batch_holds_its_lock_until_its_last_job_ends(eng):
    """The lock property (the Image API's os_glance_import_task) names the
    batch while any of its jobs is to run; a second batch is refused, and
    once the last job ended the lock is gone (a failed batch too)."""
    ctx = admin()
    art = uploaded(eng, ctx)
    batch = eng.jobs.submit_copies(IMAGES, art["id"], "image",
                                   ["cold", "broken"], must_succeed=False,
                                   lock=IMPORT_LOCK)
    assert eng.get(ctx, IMAGES, art["id"])["properties"][IMPORT_LOCK] == \
        batch
    with pytest.raises(errors.Conflict):
        eng.jobs.submit_copies(IMAGES, art["id"], "image", ["cold"],
                               lock=IMPORT_LOCK)
    runner = DataJobs(eng)
    assert runner.run_one()
    # One job of the batch is left: still locked.
    assert eng.get(ctx, IMAGES, art["id"])["properties"][IMPORT_LOCK] == \
        batch
    run_all(runner)
    assert IMPORT_LOCK not in eng.get(ctx, IMAGES, art["id"])["properties"]
    # Free again.
    eng.jobs.submit_copies(IMAGES, art["id"], "image", ["broken"],
                           lock=IMPORT_LOCK)
