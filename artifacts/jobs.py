"""Durable data work outside the request: copies of a blob into more
stores, and registrations of data by URL (``artifacts.registration``).

``DataJobs`` is the engine's collaborator for work that must outlive the
request that asked for it and the worker that runs it (``engine.jobs``).
Its contract:

* ``submit_copies`` writes one ``data_jobs`` row per target store, in one
  transaction with the properties the caller wants set (the Image API's
  ``os_glance_importing_to_stores``), and returns; the request answers
  202.
* Every worker runs a ``runner`` thread that claims a job with a
  compare-and-swap (``pending``, or ``running`` with a heartbeat older than
  the lease: its worker died), copies the data through the data service
  (every byte checked against the blob's digests) and marks the job
  ``done`` or ``failed``.  A job that keeps killing its workers is failed
  after ``MAX_ATTEMPTS``.
* The lease (``lease_seconds``, ``[glare] job_lease_seconds``, default
  30) is kept by a heartbeat thread of the running job every third of the
  lease, whether or not bytes move (a slow store does not lose its job),
  on the database's clock (workers on hosts whose clocks disagree still
  agree on when a lease is stale).  A worker that was frozen past its
  lease and finds its job taken over stops copying (``LeaseLost``) and
  records nothing: the new holder does.  So a killed worker's copy is
  taken over one lease after its last heartbeat.
* With ``must_succeed``, a failure fails the batch's other pending jobs.
* A job's ``kind`` says what it does: ``copy`` (above) or ``register``
  (data registered by URL, read and checked: ``artifacts.registration``,
  whose ``run`` the runner calls with the same claim, lease, takeover
  and attempt limit).
* The type's ``data_job_done`` hooks turn each outcome into property
  values (the images type keeps Glance's progress properties), applied with
  a compare-and-swap update like any change.
* The same thread runs crash recovery every ``RECOVER_SECONDS`` and when
  it starts (``artifacts.recovery``: uploads, imports, store writes and
  jobs of a process proven dead are released at once, other hosts' after
  their lease), so a crashed worker's work is released without waiting for
  a restart, and retries releases that failed while the database was away
  (``DataService.retry_releases``).
* A batch may belong to a task (``artifacts.tasks``: the batch id is the
  task's id); when its last job ends, ``Tasks.batch_done`` finishes it.
* ``start`` also runs a second thread for tasks (``Tasks.run_one``, and
  the purge of expired tasks), so a long import never holds up copies.
* A runner's ``holder`` is its process's instance id
  (``artifacts.instance``), so a job whose process died on this host is
  pending again at the next recovery instead of after its lease.
"""

import logging
import threading
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, instance, types
from artifacts.context import RequestContext
from artifacts.db import api as db
from artifacts.db.models import data_jobs
from artifacts.db.session import is_unavailable, read, transaction
from artifacts.locking import _now as db_clock

LOG = logging.getLogger(__name__)

J = data_jobs
LEASE_SECONDS = 30
MAX_ATTEMPTS = 3
RECOVER_SECONDS = 60
IDLE_SECONDS = 1.0

# Jobs act for nobody: visibility and policy were checked when the work was
# asked for.
SYSTEM = RequestContext(project_id=None, user_id="glare-jobs",
                        roles=("admin", "member", "reader"))


class LeaseLost(Exception):
    """Another worker took this job over (this one was frozen past its
    lease): stop copying, record nothing."""


class DataJobs:
    """Submit and run durable copies; see the module docstring.

    ``lease_seconds``: how long a job's heartbeat stays good (None: the
    engine's ``limits.job_lease_seconds``)."""

    def __init__(self, engine, lease_seconds=None, holder=None):
        self.engine = engine
        self._holder = holder
        self._lease = lease_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._task_wake = threading.Event()

    @property
    def holder(self):
        """This runner's process (computed when used: an engine built
        before gunicorn forks its workers must not lend them its pid)."""
        return self._holder or instance.current()

    @property
    def db(self):
        return self.engine.db

    @property
    def lease_seconds(self):
        if self._lease is not None:
            return float(self._lease)
        return float(getattr(self.engine.limits, "job_lease_seconds",
                             LEASE_SECONDS))

    def _clock(self, plus=0.0):
        """Now (plus ``plus`` seconds) on the database's clock."""
        return db_clock(self.db.dialect.name, plus)

    # -------------------------------------------------------------- submit

    def submit_copies(self, atype, artifact_id, field, stores,
                      must_succeed=True, properties=None):
        """Queue a copy of the blob into each store (with ``properties``
        set in the same transaction); returns the batch id.  A project
        already over its stored bytes, or with more artifacts on their way
        than its ``uploading_count``, is refused (413) here; each copy is
        metered when it runs.  (An import's copies are written with their
        task instead: ``Tasks.create(..., also=insert_copies)``.)"""
        batch = str(uuid.uuid4())

        def run(conn):
            owner = conn.execute(sa.select(db.A.c.owner).where(
                db.A.c.id == artifact_id)).scalar()
            self.engine.quotas.check_not_over(conn, atype, owner)
            values = dict(properties or {})
            self.insert_copies(conn, atype, artifact_id, field, stores,
                               must_succeed, batch)
            # The queued copies make the artifact one whose data is on
            # its way (uploading_count), counted with the others.
            self.engine.quotas.check_uploading(conn, atype, owner)
            if values:
                set_system(conn, artifact_id, values)
        self.engine.quotas.warm(read(self.db, lambda conn: conn.execute(
            sa.select(db.A.c.owner).where(db.A.c.id == artifact_id))
            .scalar()))
        with self.engine._locked(atype, artifact_id, "copy"):
            transaction(self.db, run)
        if properties:
            self.engine.events.emit("update", None, atype, artifact_id)
        self.wake()
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
             "attempts": 0, "kind": "copy", "payload": None,
             "created_at": now, "updated_at": now}
            for store in stores])

    def wake(self):
        """New work was written: this worker's runners look at once."""
        self._wake.set()
        self._task_wake.set()

    # ----------------------------------------------------------------- run

    def run_one(self):
        """Claim and run one job; False when there was none to claim."""
        job = self._claim()
        if job is None:
            return False
        self._run(job)
        return True

    def _claim(self):
        claimable = sa.or_(J.c.status == "pending", sa.and_(
            J.c.status == "running",
            J.c.heartbeat_at < self._clock(-self.lease_seconds)))

        def run(conn):
            ids = [r.id for r in conn.execute(sa.select(J.c.id).where(
                claimable).order_by(J.c.id).limit(5))]
            for job_id in ids:
                claimed = conn.execute(J.update().where(
                    J.c.id == job_id, claimable).values(
                    status="running", holder=self.holder,
                    heartbeat_at=self._clock(), attempts=J.c.attempts + 1,
                    updated_at=db.utcnow())).rowcount
                if claimed:
                    return dict(conn.execute(sa.select(J).where(
                        J.c.id == job_id)).first()._mapping)
            return None
        return transaction(self.db, run)

    def _run(self, job):
        if job.get("kind", "copy") != "copy":
            self._run_other(job)
            return
        atype = types.all_types().get(job["type_name"])
        if atype is None:
            self._finish(job, "failed", "type %s is not loaded here"
                         % job["type_name"])
            return
        error = None
        if job["attempts"] > MAX_ATTEMPTS:
            error = "gave up after %d attempts" % (job["attempts"] - 1)
        else:
            beat = _Heartbeat(self, job["id"])
            try:
                with beat:
                    self.engine.data.copy_to_store(
                        SYSTEM, atype, job["artifact_id"], job["field"],
                        job["store"], rule="get", on_chunk=beat.check)
            except LeaseLost:
                LOG.warning("Copy of %s %s into store %s was taken over by "
                            "another worker; stopped", job["type_name"],
                            job["artifact_id"], job["store"])
                return
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
        if cancelled is None:
            return      # taken over meanwhile: the new holder reports
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

    def _run_other(self, job):
        """A job of another kind: ``register`` (artifacts.registration)."""
        if job["kind"] != "register":
            self._finish(job, "failed", "unknown kind of job %r"
                         % job["kind"])
            return
        beat = _Heartbeat(self, job["id"])
        try:
            with beat:
                error = self.engine.registration.run(
                    job, beat.check, give_up=job["attempts"] > MAX_ATTEMPTS)
        except LeaseLost:
            LOG.warning("Registration job %s of %s %s was taken over by "
                        "another worker; stopped", job["id"],
                        job["type_name"], job["artifact_id"])
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the job
            LOG.exception("Registration job %s of %s %s failed", job["id"],
                          job["type_name"], job["artifact_id"])
            error = getattr(exc, "message", None) or type(exc).__name__
        if self._finish(job, "failed" if error else "done", error) is None:
            return      # taken over meanwhile
        # Its task, if it has one, ends with it (and frees the lock).
        self._batch_ended(job["batch"])

    def beat(self, job_id):
        """Renew the lease of a job this runner holds; False when it was
        taken over (or finished) by another."""
        return transaction(self.db, lambda c: c.execute(J.update().where(
            J.c.id == job_id, J.c.holder == self.holder,
            J.c.status == "running").values(
            heartbeat_at=self._clock())).rowcount) == 1

    def _finish(self, job, status, error):
        """Record the outcome; with ``must_succeed`` a failure also fails
        the batch's pending jobs, whose stores are returned.  None when
        the job is no longer this runner's (taken over)."""
        def run(conn):
            if not conn.execute(J.update().where(
                    J.c.id == job["id"], J.c.holder == self.holder,
                    J.c.status == "running").values(
                    status=status, error=error,
                    updated_at=db.utcnow())).rowcount:
                return None
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
            LOG.warning("%s of %s %s failed: %s",
                        "Registration" if job.get("kind") == "register"
                        else "Copy into store %s" % job["store"],
                        job["type_name"], job["artifact_id"], error)
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
        """Run jobs and crash recovery in a daemon thread of this process,
        and tasks (``engine.tasks``: imports, which may take long) in
        another, until ``stop()``."""
        tasks = self.engine.tasks
        threads = [
            threading.Thread(target=self._loop, args=(list(atypes),),
                             name="glare-data-jobs", daemon=True),
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

    def _loop(self, atypes):
        last_recovery = None
        quiet_since = -RECOVER_SECONDS
        while not self._stop.is_set():
            try:
                self.engine.data.retry_releases()
                if last_recovery is None or \
                        time.monotonic() - last_recovery > RECOVER_SECONDS:
                    last_recovery = time.monotonic()
                    self.engine.data.recover_stale_uploads(atypes)
                if self.run_one():
                    continue
            except Exception as exc:  # noqa: BLE001 - the loop must go on
                if not is_unavailable(exc):
                    LOG.exception("Data job runner error; retrying")
                elif time.monotonic() - quiet_since > RECOVER_SECONDS:
                    # The database is away: one line a minute, no trace.
                    quiet_since = time.monotonic()
                    LOG.warning("Data job runner: database unavailable "
                                "(%s); retrying", getattr(exc, "orig", exc))
            # Idle: poll for other workers' jobs, or wake for our own.
            self._wake.wait(IDLE_SECONDS)
            self._wake.clear()


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
        except Exception as exc:  # noqa: BLE001 - the loop must go on
            if not is_unavailable(exc):
                LOG.exception("Runner error (%s); retrying",
                              step.__qualname__)
        wake.wait(IDLE_SECONDS)
        wake.clear()


class _Heartbeat:
    """Keeps one running job's lease alive from a thread of its own (every
    third of the lease) while the copy runs; ``check`` (the copy's
    ``on_chunk``) raises ``LeaseLost`` once a beat found the job taken
    over.  A beat that fails on a database error is retried at the next
    period: the lease allows two misses."""

    def __init__(self, jobs, job_id):
        self.jobs = jobs
        self.job_id = job_id
        self.lost = False
        self._done = threading.Event()
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(
            target=self._run, name="glare-job-heartbeat-%s" % self.job_id,
            daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        if self.lost and exc[0] is None:
            raise LeaseLost()
        return False

    def _run(self):
        period = self.jobs.lease_seconds / 3.0
        while not self._done.wait(period):
            try:
                if not self.jobs.beat(self.job_id):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - retried at the next period
                LOG.exception("Heartbeat of data job %s failed",
                              self.job_id)

    def check(self, _total):
        if self.lost:
            raise LeaseLost()


# ------------------------------------------------------------------ locks
#
# A task's lock property (the Image API's os_glance_import_task) names the
# task that holds an artifact (``Tasks.create``); the task's id is also the
# batch of its data jobs.  A second operation that would take the lock is
# refused while that task is live or a job of its batch is still to run (a
# registration queued by a Glare older than its task holds the lock with
# its batch alone); a lock nothing live holds is stale and is taken over.


def batch_running(conn, batch):
    """Whether a data job of ``batch`` is still to run or running, or
    ``batch`` is a task (``artifacts.tasks``) that is not over."""
    from artifacts.tasks import LIVE, T
    return conn.execute(sa.select(J.c.id).where(
        J.c.batch == batch, J.c.status.in_(("pending", "running")))
        .limit(1)).first() is not None or conn.execute(
        sa.select(T.c.id).where(T.c.id == batch, T.c.status.in_(LIVE))
        .limit(1)).first() is not None


def set_system(conn, artifact_id, values):
    """System values of an artifact (None removes one), as a change others
    see (a new revision)."""
    db.set_properties(conn, artifact_id, values)
    conn.execute(db.A.update().where(db.A.c.id == artifact_id).values(
        updated_at=db.utcnow(), revision=db.A.c.revision + 1))
