"""Durable tasks (artifacts/tasks.py): created with an artifact's lock
property, run by any worker (taken over when their worker died), finished
once, shown to their project only, expired and purged."""

import datetime
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts.context import RequestContext
from artifacts.db import api as db_api
from artifacts.db.models import tasks as T
from artifacts.db.session import transaction
from artifacts.tasks import INTERNAL_ERROR, MAX_ATTEMPTS, Tasks
from artifacts.types.images import IMAGES, IMPORT_TASK
from tests.artifacts.test_data import admin, eng, image  # noqa: F401
from tests.artifacts.test_recovery import dead_holder


def member(project):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=("member", "reader"))


def props(eng, ctx, art):  # noqa: F811
    return eng.get(ctx, IMAGES, art["id"])["properties"]


def age(eng, task_id, **delta):  # noqa: F811
    """Make a task look as if its heartbeat (or expiry) was long ago."""
    then = db_api.utcnow() - datetime.timedelta(**delta)
    transaction(eng.db, lambda c: c.execute(T.update().where(
        T.c.id == task_id).values(heartbeat_at=then)))


def test_create_records_who_asked_and_holds_the_lock(eng):  # noqa: F811
    ctx = admin()
    art = image(eng, ctx)
    task = eng.tasks.create(ctx, "api_image_import", {"a": [1]},
                            atype=IMAGES, artifact_id=art["id"],
                            handler=None, properties={"x_prop": "1"})
    assert (task["status"], task["owner"], task["user_id"],
            task["request_id"], task["input"], task["result"],
            task["message"], task["expires_at"]) == (
        "pending", ctx.project_id, "admin", ctx.request_id, {"a": [1]},
        None, "", None)
    assert props(eng, ctx, art)[IMPORT_TASK] == task["id"]
    assert props(eng, ctx, art)["x_prop"] == "1"
    with pytest.raises(errors.Conflict) as exc:
        eng.tasks.create(ctx, "api_image_import", {}, atype=IMAGES,
                         artifact_id=art["id"], busy="busy!")
    assert exc.value.message == "busy!"
    # Finishing frees the lock; the next task may start.
    assert eng.tasks.finish(task, "failure", message="no")
    assert not eng.tasks.finish(task, "success")     # once only
    assert IMPORT_TASK not in props(eng, ctx, art)
    done = eng.tasks.get(ctx, task["id"])
    assert done["status"] == "failure" and done["message"] == "no"
    assert done["expires_at"] - done["updated_at"] == datetime.timedelta(
        hours=48)
    eng.tasks.create(ctx, "api_image_import", {}, atype=IMAGES,
                     artifact_id=art["id"])


def test_runners_run_pending_tasks_and_record_the_outcome(eng):  # noqa
    ctx = admin()
    seen = []

    def works(task, beat):
        beat(10)
        seen.append(task["id"])
        return {"done": True}, "all good"

    def breaks(task, beat):
        raise errors.Invalid("bad input")

    def crashes(task, beat):
        raise RuntimeError("internal detail")
    runner = Tasks(eng)
    for name, fn in (("works", works), ("breaks", breaks),
                     ("crashes", crashes)):
        runner.register(name, run=fn)
    made = {name: eng.tasks.create(ctx, "import", {}, handler=name)
            for name in ("works", "breaks", "crashes")}
    eng.tasks.create(ctx, "import", {}, handler="not-here")
    while runner.run_one():
        pass
    got = {n: eng.tasks.get(ctx, t["id"]) for n, t in made.items()}
    assert (got["works"]["status"], got["works"]["result"],
            got["works"]["message"]) == ("success", {"done": True},
                                         "all good")
    assert (got["breaks"]["status"], got["breaks"]["message"]) == (
        "failure", "bad input")
    assert (got["crashes"]["status"], got["crashes"]["message"]) == (
        "failure", INTERNAL_ERROR)
    assert seen == [made["works"]["id"]]


def test_a_task_whose_worker_died_is_taken_over_then_given_up(eng):  # noqa
    ctx = admin()
    runs = []
    other = Tasks(eng)
    name = uuid.uuid4().hex
    other.register(name, run=lambda task, beat: (runs.append(
        task["attempts"]), (None, "ok"))[1])
    task = eng.tasks.create(ctx, "import", {}, handler=name, claim=True)
    assert task["status"] == "processing"
    assert not other.run_one()        # alive: its holder heartbeats
    age(eng, task["id"], hours=1)     # ... the holder died
    assert other.run_one() and runs == [2]
    assert eng.tasks.get(ctx, task["id"])["status"] == "success"
    doomed = eng.tasks.create(ctx, "import", {}, handler=name)
    transaction(eng.db, lambda c: c.execute(T.update().where(
        T.c.id == doomed["id"]).values(attempts=MAX_ATTEMPTS)))
    assert other.run_one()
    got = eng.tasks.get(ctx, doomed["id"])
    assert got["status"] == "failure" and "Gave up" in got["message"]
    assert runs == [2]


def test_a_task_whose_process_is_proven_dead_is_taken_over_at_once(
        eng):  # noqa: F811
    """A fresh heartbeat does not protect a task whose holder is a process
    of this host that has exited; a holder that cannot be proven dead
    (another host's) keeps its task until the stale limit."""
    ctx = admin()
    runs = []
    name = uuid.uuid4().hex
    eng.tasks.register(name, run=lambda task, beat: (runs.append(
        task["id"]), (None, "ok"))[1])
    dead = eng.tasks.create(ctx, "import", {}, handler=name, claim=True)
    remote = eng.tasks.create(ctx, "import", {}, handler=name, claim=True)
    transaction(eng.db, lambda c: (
        c.execute(T.update().where(T.c.id == dead["id"]).values(
            holder=dead_holder())),
        c.execute(T.update().where(T.c.id == remote["id"]).values(
            holder="other-host/%s/42/7" % ("b" * 32)))))
    assert eng.tasks.run_one() and runs == [dead["id"]]
    assert eng.tasks.get(ctx, dead["id"])["status"] == "success"
    assert not eng.tasks.run_one()
    assert eng.tasks.get(ctx, remote["id"])["status"] == "processing"


def test_waiting_tasks_are_finished_by_their_batch(eng):  # noqa: F811
    ctx = admin()
    runner = Tasks(eng)
    name = uuid.uuid4().hex
    runner.register(name, run=lambda t, b: (None, ""),
                    batch_done=lambda task, failed: (
                        "failure" if failed else "success",
                        {"failed": failed}, "copied"))
    task = eng.tasks.create(ctx, "api_image_import", {}, handler=name,
                            waiting=True)
    assert not runner.run_one()       # never claimed by a runner
    runner.batch_done(task["id"], ["cold"])
    got = eng.tasks.get(ctx, task["id"])
    assert (got["status"], got["result"], got["message"]) == (
        "failure", {"failed": ["cold"]}, "copied")


def test_projects_see_their_own_tasks_only(eng):  # noqa: F811
    a, b = member("pa-" + uuid.uuid4().hex[:6]), member(
        "pb-" + uuid.uuid4().hex[:6])
    mine = eng.tasks.create(a, "import", {"secret": 1})
    theirs = eng.tasks.create(b, "import", {})
    assert eng.tasks.get(a, mine["id"])["input"] == {"secret": 1}
    for probe in (theirs["id"], str(uuid.uuid4()), "not-a-uuid" * 9,
                  mine["id"] + "x"):
        with pytest.raises(errors.NotFound):
            eng.tasks.get(a, probe)
    ids = [t["id"] for t in eng.tasks.list(a, limit=1000)]
    assert mine["id"] in ids and theirs["id"] not in ids
    admin_ids = [t["id"] for t in eng.tasks.list(admin(), limit=1000)]
    assert {mine["id"], theirs["id"]} <= set(admin_ids)
    with pytest.raises(errors.Invalid):
        eng.tasks.list(a, marker=theirs["id"])


def test_lists_filter_sort_and_page(eng):  # noqa: F811
    ctx = member("pl-" + uuid.uuid4().hex[:6])
    made = [eng.tasks.create(ctx, "import", {"n": n}) for n in range(5)]
    eng.tasks.finish(made[1], "success")
    newest_first = [t["id"] for t in reversed(made)]
    assert [t["id"] for t in eng.tasks.list(ctx)] == newest_first
    pages, marker = [], None
    while True:
        page = eng.tasks.list(ctx, limit=2, marker=marker)
        if not page:
            break
        pages.append([t["id"] for t in page])
        marker = page[-1]["id"]
    assert sum(pages, []) == newest_first and len(pages) == 3
    assert [t["id"] for t in eng.tasks.list(
        ctx, filters={"status": "success"})] == [made[1]["id"]]
    by_status = eng.tasks.list(ctx, sort_key="status", sort_dir="asc")
    assert [t["status"] for t in by_status] == ["pending"] * 4 + ["success"]
    assert [t["id"] for t in eng.tasks.list(
        ctx, sort_key="expires_at", sort_dir="asc", limit=2,
        marker=by_status[0]["id"])] == [by_status[1]["id"],
                                        by_status[2]["id"]]
    with pytest.raises(errors.Invalid):
        eng.tasks.list(ctx, sort_key="input")


def test_expired_tasks_vanish_and_are_purged(eng):  # noqa: F811
    ctx = member("pe-" + uuid.uuid4().hex[:6])
    art_task = eng.tasks.create(ctx, "import", {})
    eng.tasks.finish(art_task, "success")
    past = db_api.utcnow() - datetime.timedelta(seconds=1)
    transaction(eng.db, lambda c: c.execute(T.update().where(
        T.c.id == art_task["id"]).values(expires_at=past)))
    with pytest.raises(errors.NotFound):
        eng.tasks.get(ctx, art_task["id"])
    assert eng.tasks.list(ctx) == []
    assert eng.tasks.purge_expired() >= 1
    with eng.db.connect() as conn:
        assert conn.execute(sa.select(T.c.id).where(
            T.c.id == art_task["id"])).first() is None


def test_tasks_of_an_artifact(eng):  # noqa: F811
    ctx = admin()
    art = image(eng, ctx)
    first = eng.tasks.create(ctx, "api_image_import", {}, atype=IMAGES,
                             artifact_id=art["id"])
    eng.tasks.finish(first, "success")
    second = eng.tasks.create(ctx, "api_image_import", {}, atype=IMAGES,
                              artifact_id=art["id"])
    assert [t["id"] for t in eng.tasks.for_artifact(ctx, art["id"])] == [
        first["id"], second["id"]]
    assert eng.tasks.for_artifact(member("nobody"), art["id"]) == []


def test_a_copy_batch_finishes_its_task(eng):  # noqa: F811
    """copy-image: the data jobs are the task's batch; the end of the last
    one finishes the task through the handler's batch_done (success, or
    failure when a must-succeed store failed)."""
    from artifacts.jobs import DataJobs
    from tests.artifacts.test_data import DATA
    ctx = admin()
    name = uuid.uuid4().hex
    eng.tasks.register(name, batch_done=lambda task, failed: (
        "failure" if failed else "success", {"failed": failed}, "done"))
    outcomes = {}
    for stores in (["cold"], ["broken"]):
        art = image(eng, ctx)
        eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
        task = eng.tasks.create(
            ctx, "api_image_import", {}, atype=IMAGES, artifact_id=art["id"],
            handler=name, waiting=True,
            also=lambda conn, task_id: eng.jobs.insert_copies(
                conn, IMAGES, art["id"], "image", stores, True, task_id))
        assert props(eng, ctx, art)[IMPORT_TASK] == task["id"]
        runner = DataJobs(eng)
        while runner.run_one():
            pass
        outcomes[stores[0]] = eng.tasks.get(ctx, task["id"])
        assert IMPORT_TASK not in props(eng, ctx, art)
    assert (outcomes["cold"]["status"], outcomes["cold"]["result"]) == (
        "success", {"failed": []})
    assert (outcomes["broken"]["status"], outcomes["broken"]["result"]) == (
        "failure", {"failed": ["broken"]})


def test_each_step_is_told_after_it_is_recorded(eng):  # noqa: F811
    """task_create (as asked: pending), task_run (handed to the runners),
    task_processing (claimed), task_success/failure; run_now tells run
    last; finishing an import tells the artifact's update (lock freed)."""
    ctx = admin()
    told = []

    def listener(event):
        if event.name.startswith("task_") or event.name == "update":
            task = event.details.get("task") or {}
            stored = eng.tasks._get(task["id"]) if task else None
            told.append((event.name, task.get("status"),
                         stored and stored["status"]))
    eng.events.subscribe(listener)
    runner = Tasks(eng)
    runner.register("ok", run=lambda task, beat: (None, None))
    eng.tasks.create(ctx, "import", {}, handler="ok")
    assert runner.run_one()
    assert told == [("task_create", "pending", "pending"),
                    ("task_run", "pending", "pending"),
                    ("task_processing", "processing", "processing"),
                    ("task_success", "success", "success")]
    del told[:]
    art = image(eng, ctx)
    eng.tasks.register("now", run=lambda task, beat: (None, None))
    task = eng.tasks.create(ctx, "api_image_import", {}, atype=IMAGES,
                            artifact_id=art["id"], handler="now",
                            claim=True)
    eng.tasks.run_now(task)
    assert told == [("task_create", "pending", "processing"),
                    ("task_processing", "processing", "processing"),
                    ("update", None, None),
                    ("task_success", "success", "success"),
                    ("task_run", "pending", "success")]
    eng.events._listeners.remove(listener)
