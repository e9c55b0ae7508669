"""Tasks: durable records of asynchronous work and of what became of it.

``Tasks`` is the engine's collaborator for work that is asked for in one
request and done outside it (``engine.tasks``); the Image API shows the
records as Glance's tasks.  A task is one ``tasks`` row: its ``type``,
``input`` (JSON), the artifact it works on, who asked (owner, user, request
id), ``status`` (pending -> processing -> success | failure; pending ->
failure), ``result`` (JSON) and ``message``.  Its contract:

* **create** writes the row.  For a type with a ``task_lock`` property
  (images: ``os_glance_import_task``) the row is written in one transaction
  with that property set to the task's id, and creation is refused
  (``Conflict``) while the property names a task that is still pending or
  processing: one data operation per artifact at a time.  ``also(conn)``
  runs in the same transaction (the data jobs of a copy).
* **run**: a task with a ``handler`` (a function registered with
  ``register``) is run by any worker's runner thread (``run_one``, called
  by ``artifacts.jobs``): claimed with a compare-and-swap (pending, or
  processing with a heartbeat older than the stale limit, or held by a
  process of this host that is proven dead -- ``artifacts.instance``, the
  same proof as for uploads and data jobs, so a killed worker's import is
  taken over in seconds, not a lease later), run while heartbeating, then
  finished.  A task that keeps killing
  its workers fails after ``MAX_ATTEMPTS``.  ``run_now`` runs a task the
  request just created in the request's own thread, claimed the same way,
  so a crash leaves it to the runners.  A task without a runnable handler
  (created ``processing`` with no heartbeat) is finished by whoever does
  its work: the data jobs of a copy or of a registration call
  ``batch_done``.
* **finish** records the outcome, sets ``expires_at`` to now plus the time
  to live, and frees the artifact's lock property if it still names the
  task.
* **events**: each step is told to ``engine.events`` after its commit, as
  ``task_create`` (the task as asked for: pending), ``task_processing``
  (claimed by a worker), ``task_run`` (handed to whoever runs it: right
  after creation for runners and data jobs, after the work for ``run_now``,
  with the task as it was created) and ``task_success`` or
  ``task_failure``; details ``task`` (the row), ``atype`` may be None.
  Finishing also tells ``update`` of the artifact whose lock it freed.
* **read**: an admin sees every task, others their project's (and
  ownerless) tasks; any other task is NotFound, as is an expired one.
  Expired tasks are deleted by ``purge_expired`` (the runner calls it).

Handlers are ``fn(task, beat) -> (result, message)``; ``beat(total)``
heartbeats (call it as work progresses); raising an ``ArtifactError``
fails the task with its message, anything else with ``INTERNAL_ERROR``.
"""

import datetime
import json
import logging
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, instance, jobs, types
from artifacts.db import api as db
from artifacts.db.models import tasks as T
from artifacts.db.session import read, transaction

LOG = logging.getLogger(__name__)

STATUSES = ("pending", "processing", "success", "failure")
LIVE = ("pending", "processing")
HEARTBEAT_SECONDS = 30
MAX_ATTEMPTS = 3
INTERNAL_ERROR = "Task failed due to Internal Error"
# Columns a list may filter on (equality) and sort by.
COLUMNS = ("id", "type", "status", "owner", "artifact_id", "request_id",
           "user_id", "expires_at", "created_at", "updated_at")


def _json(value):
    return None if value is None else json.dumps(value)


def _task(row):
    task = dict(row._mapping)
    for key in ("input", "result"):
        task[key] = json.loads(task[key]) if task[key] else None
    return task


class Tasks:
    """Create, run, finish and read tasks; see the module docstring."""

    def __init__(self, engine, ttl_hours=48):
        self.engine = engine
        self.ttl = datetime.timedelta(hours=ttl_hours)
        self.handlers = {}
        self.batch_handlers = {}

    @property
    def holder(self):
        """This process's instance id: a worker forked after the engine
        was built holds its tasks under its own id, which
        ``instance.is_dead`` can prove dead."""
        return instance.current()

    @property
    def db(self):
        return self.engine.db

    def register(self, name, run=None, batch_done=None):
        """``run(task, beat) -> (result, message)`` runs tasks created with
        ``handler=name``; ``batch_done(task, failed) -> (status, result,
        message)`` finishes one whose data-job batch ended (``failed``: the
        stores whose copy failed)."""
        if run is not None:
            self.handlers[name] = run
        if batch_done is not None:
            self.batch_handlers[name] = batch_done

    def _stale_before(self):
        return db.utcnow() - datetime.timedelta(
            seconds=self.engine.limits.stale_upload_seconds)

    # ------------------------------------------------------------ create

    def create(self, ctx, task_type, task_input, atype=None,
               artifact_id=None, handler=None, claim=False, waiting=False,
               properties=None, busy="Another operation on this artifact is "
               "in progress.", also=None):
        """Write a task (see the module docstring) and return it.

        ``claim``: created processing and held by this worker, to be run
        at once with ``run_now``.  ``waiting``: created processing with no
        heartbeat, finished by ``batch_done``.  ``properties`` are set on
        the artifact in the same transaction (under its lock property, if
        the type has one)."""
        now = db.utcnow()
        processing = claim or waiting
        row = self._new_row(ctx, task_type, task_input, atype, artifact_id,
                            handler, claim, processing=processing)
        task_id = row["id"]
        lock = atype.task_lock if atype is not None else None

        def run(conn):
            values = dict(properties or {})
            if lock and artifact_id:
                holder = db.get_property(conn, artifact_id, lock)
                # A live task or a live batch of data jobs (a location
                # registration) holds the lock.
                if holder and jobs.batch_running(conn, holder):
                    raise errors.Conflict(busy)
                values[lock] = task_id
            conn.execute(T.insert().values(**row))
            if values and artifact_id:
                db.set_properties(conn, artifact_id, values)
                conn.execute(db.A.update().where(db.A.c.id == artifact_id)
                             .values(updated_at=now,
                                     revision=db.A.c.revision + 1))
            if also is not None:
                also(conn, task_id)
        if lock and artifact_id:
            with self.engine._locked(atype, artifact_id, "task"):
                transaction(self.db, run)
        else:
            transaction(self.db, run)
        # As written, not as a runner may already have changed it.
        task = dict(row, input=json.loads(row["input"] or "null"))
        # Told as asked for (pending), then claimed, as Glance tells it.
        self._tell("create", dict(task, status="pending"), atype)
        if processing:
            self._tell("processing", task, atype)
        if artifact_id and (lock or properties) and not claim:
            # The lock and progress properties are a change others see
            # (Glance's image.update of its import task; an import run in
            # the request, glance-direct, announces none).
            self.engine.events.emit("update", None, atype, artifact_id)
        if not claim and (handler or waiting):
            self._tell("run", dict(task, status="pending"), atype)
        self.engine.jobs.wake()
        return task

    def _tell(self, name, task, atype=None):
        """Tell ``task_<name>`` to the engine's listeners (committed)."""
        if atype is None:
            atype = types.all_types().get(task.get("type_name") or "")
        self.engine.events.emit("task_" + name, None, atype,
                                task.get("artifact_id"), task=task)

    def _new_row(self, ctx, task_type, task_input, atype, artifact_id,
                 handler=None, claim=False, processing=False):
        now = db.utcnow()
        return {"id": str(uuid.uuid4()), "type": task_type,
                "status": "processing" if processing else "pending",
                "owner": ctx.project_id, "artifact_id": artifact_id,
                "type_name": atype.name if atype else None,
                "request_id": (ctx.request_id or "")[:64] or None,
                "user_id": (ctx.user_id or "")[:64] or None,
                "input": _json(task_input), "result": None, "message": "",
                "handler": handler, "holder": self.holder if claim else None,
                "heartbeat_at": now if claim else None,
                "attempts": 1 if claim else 0, "expires_at": None,
                "created_at": now, "updated_at": now}

    # -------------------------------------------------------------- read

    def _get(self, task_id):
        row = read(self.db, lambda c: c.execute(
            sa.select(T).where(T.c.id == task_id)).first())
        return _task(row) if row is not None else None

    @staticmethod
    def _visible(ctx):
        """The condition of the tasks ``ctx`` may see (not expired)."""
        alive = sa.or_(T.c.expires_at.is_(None),
                       T.c.expires_at > db.utcnow())
        if ctx.is_admin:
            return alive
        return sa.and_(alive, sa.or_(T.c.owner.is_(None),
                                     T.c.owner == ctx.project_id))

    def get(self, ctx, task_id):
        """A task ``ctx`` may see; NotFound otherwise."""
        row = None if len(str(task_id)) > 36 else read(
            self.db, lambda c: c.execute(sa.select(T).where(
                T.c.id == str(task_id), self._visible(ctx))).first())
        if row is None:
            raise errors.NotFound("Could not find task %s" % task_id)
        return _task(row)

    def for_artifact(self, ctx, artifact_id):
        """The visible tasks that worked on an artifact, oldest first."""
        rows = read(self.db, lambda c: c.execute(sa.select(T).where(
            T.c.artifact_id == artifact_id, self._visible(ctx)).order_by(
            T.c.created_at, T.c.id)).all())
        return [_task(r) for r in rows]

    def list(self, ctx, filters=None, marker=None, limit=25,
             sort_key="created_at", sort_dir="desc"):
        """A page of the visible tasks: ``filters`` map columns of
        ``COLUMNS`` to values (equality); sorted by ``sort_key`` then
        created_at and id, after the task ``marker`` (Invalid if it is not
        one the caller can see)."""
        for key in [sort_key] + list(filters or {}):
            if key not in COLUMNS:
                raise errors.Invalid("Sort key supplied was not valid.")
        desc = sort_dir == "desc"
        keys = [k for k in (sort_key, "created_at", "id")]
        keys = [k for i, k in enumerate(keys) if k not in keys[:i]]
        exprs = [_sortable(k) for k in keys]

        def run(conn):
            query = sa.select(T).where(self._visible(ctx))
            for key, value in (filters or {}).items():
                query = query.where(getattr(T.c, key) == value)
            if marker is not None:
                mark = conn.execute(sa.select(*exprs).where(
                    T.c.id == marker, self._visible(ctx))).first()
                if mark is None:
                    raise errors.Invalid("Task with the given id %s was not "
                                         "found" % marker)
                query = query.where(_after(exprs, list(mark), desc))
            order = [e.desc() if desc else e.asc() for e in exprs]
            return conn.execute(query.order_by(*order).limit(limit)).all()
        return [_task(r) for r in read(self.db, run)]

    # --------------------------------------------------------------- run

    def run_one(self):
        """Claim and run one task; False when there was none."""
        task = self._claim()
        if task is None:
            return False
        self._execute(task)
        return True

    def _claim(self):
        if not self.handlers:
            return None
        handled = T.c.handler.in_(list(self.handlers))

        def run(conn):
            # Holders of running tasks that are proven dead (their process
            # of this host is gone): their tasks are claimable at once.
            dead = instance.dead(r.holder for r in conn.execute(
                sa.select(T.c.holder).where(
                    handled, T.c.status == "processing",
                    T.c.holder.is_not(None)).distinct()))
            taken_over = T.c.heartbeat_at < self._stale_before()
            if dead:
                taken_over = sa.or_(taken_over, T.c.holder.in_(sorted(dead)))
            claimable = sa.and_(handled, sa.or_(
                T.c.status == "pending", sa.and_(
                    T.c.status == "processing", taken_over)))
            ids = [r.id for r in conn.execute(sa.select(T.c.id).where(
                claimable).order_by(T.c.created_at).limit(5))]
            for task_id in ids:
                now = db.utcnow()
                if conn.execute(T.update().where(
                        T.c.id == task_id, claimable).values(
                        status="processing", holder=self.holder,
                        heartbeat_at=now, updated_at=now,
                        attempts=T.c.attempts + 1)).rowcount:
                    return _task(conn.execute(sa.select(T).where(
                        T.c.id == task_id)).first())
            return None
        task = transaction(self.db, run)
        if task is not None:
            self._tell("processing", task)
        return task

    def run_now(self, task):
        """Run a task created with ``claim=True`` in this thread and return
        it as finished; a failure is recorded, then re-raised."""
        try:
            self._execute(task, reraise=True)
        finally:
            # Glance's task.run: once its executor returned, with the
            # task as it was handed over.
            self._tell("run", dict(task, status="pending"))
        return self._get(task["id"])

    def _execute(self, task, reraise=False):
        handler = self.handlers.get(task["handler"])
        if handler is None:
            self.finish(task, "failure", message=INTERNAL_ERROR)
            return
        if task["attempts"] > MAX_ATTEMPTS:
            self.finish(task, "failure", message="Gave up after %d attempts "
                        "whose workers stopped." % (task["attempts"] - 1))
            return
        if task["attempts"] > 1:
            LOG.warning("Task %s (%s) taken over from a worker that "
                        "stopped (attempt %d)", task["id"], task["type"],
                        task["attempts"])
        try:
            result, message = handler(task, self._heartbeat(task["id"]))
        except errors.ArtifactError as exc:
            LOG.warning("Task %s failed: %s", task["id"], exc.message)
            self.finish(task, "failure", message=exc.message)
            if reraise:
                raise
        except Exception:  # noqa: BLE001 - recorded on the task
            LOG.exception("Task %s failed", task["id"])
            self.finish(task, "failure", message=INTERNAL_ERROR)
            if reraise:
                raise
        else:
            self.finish(task, "success", result=result, message=message)

    def _heartbeat(self, task_id):
        beat = {"at": time.monotonic()}

        def heartbeat(_total=0):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(T.update().where(
                    T.c.id == task_id, T.c.holder == self.holder).values(
                    heartbeat_at=db.utcnow())))
        return heartbeat

    def progress(self, task_id, message):
        """Show how far a running task got (``message``)."""
        transaction(self.db, lambda c: c.execute(T.update().where(
            T.c.id == task_id, T.c.status == "processing").values(
            message=message, updated_at=db.utcnow())))

    def finish(self, task, status, result=None, message=None):
        """Record the outcome of a live task (once: a finished task stays
        as it is); frees the artifact's lock property.  True if this call
        finished it."""
        now = db.utcnow()
        values = {"status": status, "result": _json(result),
                  "holder": None, "updated_at": now,
                  "expires_at": now + self.ttl}
        if message is not None:
            values["message"] = message
        atype = types.all_types().get(task.get("type_name") or "")
        lock = atype.task_lock if atype is not None else None

        freed = []

        def run(conn):
            done = conn.execute(T.update().where(
                T.c.id == task["id"], T.c.status.in_(LIVE)).values(
                **values)).rowcount
            if done and lock and task.get("artifact_id") and \
                    db.get_property(conn, task["artifact_id"], lock) \
                    == task["id"]:
                db.set_properties(conn, task["artifact_id"], {lock: None})
                conn.execute(db.A.update().where(
                    db.A.c.id == task["artifact_id"]).values(
                    revision=db.A.c.revision + 1))
                freed.append(True)
            return bool(done)
        done = transaction(self.db, run)
        if freed:
            # The lock property let go (Glance's last image.update, sent
            # before its task.success).
            self.engine.events.emit("update", None, atype,
                                    task["artifact_id"])
        if done:
            self._tell(status, dict(task, **values), atype)
        return done

    def batch_done(self, batch, failed):
        """The data-job batch ``batch`` (a task's id) has ended; finish the
        task through its handler's ``batch_done``."""
        task = self._get(batch)
        if task is None or task["status"] not in LIVE:
            return
        done = self.batch_handlers.get(task["handler"])
        if done is None:
            status, result, message = ("failure" if failed else "success",
                                       None, None)
        else:
            status, result, message = done(task, failed)
        self.finish(task, status, result=result, message=message)

    def purge_expired(self):
        """Delete tasks whose time to live has passed; returns how many."""
        count = transaction(self.db, lambda c: c.execute(T.delete().where(
            T.c.expires_at <= db.utcnow())).rowcount)
        if count:
            LOG.info("Purged %d expired task(s)", count)
        return count


_LOW_TIME = datetime.datetime(1, 1, 1)


def _sortable(key):
    """A sort expression without NULLs (keyset paging compares values)."""
    column = getattr(T.c, key)
    if key in ("id", "type", "status", "created_at", "updated_at"):
        return column
    low = _LOW_TIME if key == "expires_at" else ""
    return sa.func.coalesce(column, low)


def _after(exprs, values, desc):
    """Rows after the marker whose sort values are ``values``."""
    clauses = []
    for i, expr in enumerate(exprs):
        beyond = expr < values[i] if desc else expr > values[i]
        clauses.append(sa.and_(*[exprs[j] == values[j] for j in range(i)],
                               beyond))
    return sa.or_(*clauses)
