"""migrate_from_glance.tasks: Glance's task rows (written with SQL into a
real Glance 33 schema, as Glance's db API writes them) moved into Glare's
tasks table by ``run.migrate``, replaced by id on a re-run, compared by
``verify``, never claimed by Glare's runner; on every database."""

import datetime
import json

import pytest
import sqlalchemy as sa

from artifacts.db.models import tasks as T
from migrate_from_glance import compare, run
from tests.conftest import selected_databases
from tests.migrate_from_glance.conftest import migration_env

pytestmark = pytest.mark.integration

T0 = datetime.datetime(2024, 6, 1, 9, 0, 0)
IMAGE = "0b9a4c1e-3f9c-4c2e-9d2a-1a2b3c4d5e6f"


@pytest.fixture(params=selected_databases())
def env(request, tmp_path):
    with migration_env(request.param, tmp_path, _three_tasks) as env:
        yield env


def _three_tasks(conn):
    for n, status in enumerate(("success", "processing", "failure")):
        _task(conn, "1111111%d-0000-4000-8000-000000000000" % n, status,
              deleted=(n == 2))


def _task(conn, task_id, status, deleted=False):
    conn.execute(sa.text(
        "INSERT INTO tasks (id, type, status, owner, expires_at, "
        "created_at, updated_at, deleted, image_id, request_id, user_id) "
        "VALUES (:id, 'api_image_import', :s, 'project-a', :exp, :t, :t, "
        ":d, :img, 'req-1', 'user-1')"), {
            "id": task_id, "s": status, "exp": T0 + datetime.timedelta(
                days=2), "t": T0, "d": deleted, "img": IMAGE})
    conn.execute(sa.text(
        "INSERT INTO task_info (task_id, input, result, message) VALUES "
        "(:id, :i, :r, 'ünicode message')"), {
            "id": task_id, "i": json.dumps({"image_id": IMAGE}),
            "r": json.dumps({"stores": ["fast"]})})


def test_tasks_move_and_reruns_are_idempotent(env):
    source, url, engine = env
    options = run.Options(show_progress=False)
    report = run.migrate(url, engine, options)
    assert report.tasks == {"tasks": 2, "running": 1}
    assert "Tasks written: 2 (1 still running in Glance)." in \
        report.render()
    assert compare.verify(url, engine, options) == []
    with engine.db.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(T))}
    done = rows["11111110-0000-4000-8000-000000000000"]
    assert (done.status, done.artifact_id, done.type_name, done.owner,
            done.message, done.handler, done.created_at) == (
        "success", IMAGE, "images", "project-a", "ünicode message", None,
        T0)
    assert json.loads(done.result) == {"stores": ["fast"]}
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE tasks SET status = 'success' WHERE "
                             "status = 'processing'"))
    assert len(compare.verify(url, engine, options)) == 1
    again = run.migrate(url, engine, options)
    assert again.tasks == {"tasks": 2, "running": 0}
    assert compare.verify(url, engine, options) == []


def _rows(engine):
    with engine.db.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(T))}


RUNNING = "11111111-0000-4000-8000-000000000000"


def test_a_rerun_updates_changed_tasks_and_duplicates_none(env):
    source, url, engine = env
    options = run.Options(show_progress=False)
    run.migrate(url, engine, options)
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE tasks SET status = 'failure', "
                             "updated_at = :t WHERE id = :id"),
                     {"t": T0 + datetime.timedelta(hours=1), "id": RUNNING})
        conn.execute(sa.text("UPDATE task_info SET message = 'it broke', "
                             "result = NULL WHERE task_id = :id"),
                     {"id": RUNNING})
    diffs = compare.verify(url, engine, options)
    assert diffs == [
        "task %s: status is 'processing' in Glare, 'failure' in Glance."
        % RUNNING,
        "task %s: result is '{\"stores\": [\"fast\"]}' in Glare, None in "
        "Glance." % RUNNING,
        "task %s: message is 'ünicode message' in Glare, 'it broke' in "
        "Glance." % RUNNING,
        "task %s: updated_at is %r in Glare, %r in Glance."
        % (RUNNING, T0, T0 + datetime.timedelta(hours=1))]
    again = run.migrate(url, engine, options)
    assert again.tasks == {"tasks": 2, "running": 0}
    assert compare.verify(url, engine, options) == []
    rows = _rows(engine)
    assert sorted(rows) == ["11111110-0000-4000-8000-000000000000", RUNNING]
    assert (rows[RUNNING].status, rows[RUNNING].message,
            rows[RUNNING].result) == ("failure", "it broke", None)
    run.migrate(url, engine, options)
    assert len(_rows(engine)) == 2


def test_dry_run_writes_no_tasks(env):
    source, url, engine = env
    dry = run.Options(show_progress=False, dry_run=True)
    report = run.migrate(url, engine, dry)
    assert report.tasks == {"tasks": 2, "running": 1}
    assert "Tasks would write: 2 (1 still running in Glance)." in \
        report.render()
    assert _rows(engine) == {}
    assert compare.verify(url, engine, dry) == [
        "task 11111110-0000-4000-8000-000000000000: missing in Glare.",
        "task %s: missing in Glare." % RUNNING]
    # After a real run, a dry run leaves Glance's later change unwritten.
    run.migrate(url, engine, run.Options(show_progress=False))
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE tasks SET status = 'success' WHERE "
                             "id = :id"), {"id": RUNNING})
    run.migrate(url, engine, dry)
    assert _rows(engine)[RUNNING].status == "processing"
    assert len(compare.verify(url, engine, dry)) == 1
