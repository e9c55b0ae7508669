"""Durable data work: copies of a blob into more stores, outside the request.

``DataJobs`` is the engine's collaborator for work that must outlive the
request that asked for it and the worker that runs it (``engine.jobs``).
Its contract:

* ``submit_copies`` writes one ``data_jobs`` row per target store, in one
  transaction with the properties the caller wants set (the Image API's
  ``os_glance_importing_to_stores``), and returns; the request answers
  202.
* Every worker runs a ``runner`` thread that claims a job with a
  compare-and-swap (``pending``, or ``running`` with a heartbeat older than
  the stale limit: its worker died), copies the data through the data
  service (every byte checked against the blob's digests) while
  heartbeating, and marks the job ``done`` or ``failed``.  A job that keeps
  killing its workers is failed after ``MAX_ATTEMPTS``.
* With ``must_succeed``, a failure fails the batch's other pending jobs.
* The type's ``data_job_done`` hooks turn each outcome into property
  values (the images type keeps Glance's progress properties), applied with
  a compare-and-swap update like any change.
* The same thread releases stale uploads and imports every
  ``RECOVER_SECONDS`` (``DataService.recover_stale_uploads``), so a crashed
  worker's claims are released without waiting for a restart.
* A batch may belong to a task (``artifacts.tasks``: the batch id is the
  task's id); when its last job ends, ``Tasks.batch_done`` finishes it.
* ``start`` also runs a second thread for tasks (``Tasks.run_one``, and
  the purge of expired tasks), so a long import never holds up copies.
"""

import datetime
import logging
import threading
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, types
from artifacts.context import RequestContext
from artifacts.db import api as db
from artifacts.db.models import data_jobs
from artifacts.db.session import read, transaction

LOG = logging.getLogger(__name__)

J = data_jobs
HEARTBEAT_SECONDS = 30
MAX_ATTEMPTS = 3
RECOVER_SECONDS = 60
IDLE_SECONDS = 1.0

# Jobs act for nobody: visibility and policy were checked when the work was
# asked for.
SYSTEM = RequestContext(project_id=None, user_id="glare-jobs",
                        roles=("admin", "member", "reader"))


class DataJobs:
    """Submit and run durable copies; see the module docstring."""

    def __init__(self, engine):
        self.engine = engine
        self.holder = uuid.uuid4().hex
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._task_wake = threading.Event()

    @property
    def db(self):
        return self.engine.db

    def _stale_before(self):
        return db.utcnow() - datetime.timedelta(
            seconds=self.engine.limits.stale_upload_seconds)

    # -------------------------------------------------------------- submit

    def submit_copies(self, atype, artifact_id, field, stores,
                      must_succeed=True, properties=None):
        """Queue a copy of the blob into each store (with ``properties``
        set in the same transaction); returns the batch id."""
        batch = str(uuid.uuid4())
        now = db.utcnow()

        def run(conn):
            self.insert_copies(conn, atype, artifact_id, field, stores,
                               must_succeed, batch)
            if properties:
                db.set_properties(conn, artifact_id, properties)
                conn.execute(db.A.update().where(db.A.c.id == artifact_id)
                             .values(updated_at=now,
                                     revision=db.A.c.revision + 1))
        transaction(self.db, run)
        self._wake.set()    # this worker's runner starts at once
        return batch

    def insert_copies(self, conn, atype, artifact_id, field, stores,
                      must_succeed, batch):
        """The rows of ``submit_copies`` in the caller's transaction
        (``batch``: a task's id, so that its end finishes the task)."""
        now = db.utcnow()
        conn.execute(J.insert(), [
            {"artifact_id": artifact_id, "type_name": atype.name,
             "field": field, "store": store, "batch": batch,
             "must_succeed": must_succeed, "status": "pending",
             "attempts": 0, "created_at": now, "updated_at": now}
            for store in stores])

    # ----------------------------------------------------------------- run

    def run_one(self):
        """Claim and run one job; False when there was none to claim."""
        job = self._claim()
        if job is None:
            return False
        self._run(job)
        return True

    def _claim(self):
        stale = self._stale_before()
        claimable = sa.or_(J.c.status == "pending", sa.and_(
            J.c.status == "running", J.c.heartbeat_at < stale))

        def run(conn):
            ids = [r.id for r in conn.execute(sa.select(J.c.id).where(
                claimable).order_by(J.c.id).limit(5))]
            for job_id in ids:
                claimed = conn.execute(J.update().where(
                    J.c.id == job_id, claimable).values(
                    status="running", holder=self.holder,
                    heartbeat_at=db.utcnow(), attempts=J.c.attempts + 1,
                    updated_at=db.utcnow())).rowcount
                if claimed:
                    return dict(conn.execute(sa.select(J).where(
                        J.c.id == job_id)).first()._mapping)
            return None
        return transaction(self.db, run)

    def _run(self, job):
        atype = types.all_types().get(job["type_name"])
        if atype is None:
            self._finish(job, "failed", "type %s is not loaded here"
                         % job["type_name"])
            return
        error = None
        if job["attempts"] > MAX_ATTEMPTS:
            error = "gave up after %d attempts" % (job["attempts"] - 1)
        else:
            try:
                self.engine.data.copy_to_store(
                    SYSTEM, atype, job["artifact_id"], job["field"],
                    job["store"], rule="get",
                    on_chunk=self._heartbeat(job["id"]))
            except errors.Conflict as exc:
                if "already in store" not in exc.message:
                    error = exc.message
            except (errors.NotFound, errors.Gone):
                self._finish(job, "failed", "the artifact is gone")
                return
            except Exception as exc:  # noqa: BLE001 - recorded on the job
                LOG.exception("Copy of %s %s into store %s failed",
                              job["type_name"], job["artifact_id"],
                              job["store"])
                error = getattr(exc, "message", None) or type(exc).__name__
        cancelled = self._finish(job, "failed" if error else "done", error)
        for store in [job["store"]] + cancelled:
            self._report(atype, job["artifact_id"], store,
                         failed=bool(error))
        self._batch_ended(job["batch"])

    def _batch_ended(self, batch):
        """When no job of the batch is left, tell the task it belongs to
        (if any) which stores failed."""
        rows = read(self.db, lambda c: c.execute(sa.select(
            J.c.store, J.c.status).where(J.c.batch == batch)).all())
        if rows and all(r.status in ("done", "failed") for r in rows):
            self.engine.tasks.batch_done(
                batch, [r.store for r in rows if r.status == "failed"])

    def _heartbeat(self, job_id):
        beat = {"at": time.monotonic()}

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(J.update().where(
                    J.c.id == job_id, J.c.holder == self.holder).values(
                    heartbeat_at=db.utcnow())))
        return heartbeat

    def _finish(self, job, status, error):
        """Record the outcome; with ``must_succeed`` a failure also fails
        the batch's pending jobs, whose stores are returned."""
        def run(conn):
            conn.execute(J.update().where(
                J.c.id == job["id"], J.c.holder == self.holder).values(
                status=status, error=error, updated_at=db.utcnow()))
            if status != "failed" or not job["must_succeed"]:
                return []
            rest = conn.execute(sa.select(J.c.id, J.c.store).where(
                J.c.batch == job["batch"], J.c.status == "pending")).all()
            if rest:
                conn.execute(J.update().where(
                    J.c.id.in_([r.id for r in rest]),
                    J.c.status == "pending").values(
                    status="failed", error="another store of the batch "
                    "failed", updated_at=db.utcnow()))
            return [r.store for r in rest]
        if error:
            LOG.warning("Copy of %s %s into store %s failed: %s",
                        job["type_name"], job["artifact_id"], job["store"],
                        error)
        return transaction(self.db, run)

    def _report(self, atype, artifact_id, store, failed):
        """Let the type record the outcome (its ``data_job_done`` hooks
        return property values)."""
        hooks = atype.hooks.get("data_job_done", ())
        if not hooks:
            return

        def mutate(artifact):
            for hook in hooks:
                artifact["properties"].update(hook(
                    SYSTEM, artifact, store=store, failed=failed) or {})
        try:
            self.engine.update(SYSTEM, atype, artifact_id, mutate)
        except (errors.NotFound, errors.Gone):
            pass

    # -------------------------------------------------------------- runner

    def start(self, atypes):
        """Run jobs and recover stale uploads in a daemon thread of this
        process, and tasks (``engine.tasks``: imports, which may take long)
        in another, until ``stop()``."""
        atypes = list(atypes)
        tasks = self.engine.tasks
        threads = [
            threading.Thread(target=runner_loop, name="glare-data-jobs",
                             daemon=True, args=(
                                 self.run_one, lambda: self.engine.data
                                 .recover_stale_uploads(atypes),
                                 self._stop, self._wake)),
            threading.Thread(target=runner_loop, name="glare-tasks",
                             daemon=True, args=(
                                 tasks.run_one, tasks.purge_expired,
                                 self._stop, self._task_wake))]
        for thread in threads:
            thread.start()
        return threads

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._task_wake.set()

    def wake(self):
        """New work was written: this worker's runners look at once."""
        self._wake.set()
        self._task_wake.set()


def runner_loop(step, periodic, stop, wake):
    """Call ``step()`` while it finds work, ``periodic()`` every
    ``RECOVER_SECONDS``; when idle, poll every ``IDLE_SECONDS`` (other
    workers' work) or wake at once (``wake`` set for our own)."""
    last = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last > RECOVER_SECONDS:
                last = time.monotonic()
                periodic()
            if step():
                continue
        except Exception:  # noqa: BLE001 - the loop must go on
            LOG.exception("Runner error (%s); retrying", step.__qualname__)
        wake.wait(IDLE_SECONDS)
        wake.clear()
