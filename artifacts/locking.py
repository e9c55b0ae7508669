"""Locks held in the database, serializing work on one artifact.

Updates, uploads, activation and deletion of one artifact must not
interleave, whichever worker or host serves them.  The lock is a row of
``artifact_locks``, so every process that shares the database shares the
lock::

    locks = Locks(engine, lease_seconds=30, wait_seconds=5)
    with locks.hold(("image", image_id), operation="update"):
        ...                           # one short transaction's work

How it works
------------
* Acquire: ``INSERT`` the row (the usual case, a free lock, costs one
  transaction); a primary-key conflict means the row exists: read it, and
  if its lease has expired, take it over with ``UPDATE ... WHERE lock_key = :k AND
  expires_at < now`` (exactly one of several racing takers matches).  Every
  step is a short transaction of its own, committed before ``hold`` returns,
  never part of the caller's transaction.  Polls of a held lock are reads
  (a free lock is taken with one ``INSERT``; a waiter reads first, then
  inserts once the row is gone), so a waiter does not fill a database log
  with conflicts.
* Wait: the threads of one process that want the same key queue for it
  in order (first come, first served) and only the first of them polls
  the database; a release hands the turn to the next at once.  A held
  lock is polled every ``poll`` seconds (jittered ±50 % so the processes
  waiting do not move in lockstep) for up to ``wait_seconds``; then
  :class:`Locked`, an ``errors.Conflict`` (409): "Image <id> is locked by
  another operation (upload); try again."  Never a silent lost update.
  Every lock is held for one short transaction, so waiting is always
  worth it: the server waits ``[glare] lock_wait_seconds`` (30 s, the
  lease: a holder that crashed on another host is outwaited too), and 40
  concurrent PATCHes of different properties of one image all succeed
  (with a 5 s wait and every waiter polling, a loaded 2-CPU host answered
  3 of them 409 on PostgreSQL and 20 on MariaDB; Glance answers none).
  The in-process queue only orders; a thread whose turn does not come
  within the lease polls the database anyway (its predecessor may be
  stuck), so the database stays the only authority.
* Release: ``DELETE ... WHERE lock_key = :k AND holder = :me``.  The holder
  is a new uuid4 hex per acquisition, so a worker whose lease expired and
  was taken over cannot delete (or renew) its successor's lock.
* Crashed worker: the row names its process (``owner``, an
  ``artifacts.instance`` id).  A process of this host that is proven dead
  (``instance.is_dead``) loses its locks at once: the next acquirer takes
  the row over, and a restarting server deletes them all
  (``artifacts.recovery``).  A process of another host cannot be proven dead
  here: its row stays until ``expires_at`` and the next acquirer takes it
  over after that.  ``purge_expired()`` deletes rows nobody came back for
  (e.g. of artifacts that are gone), for ``glare scrub``.
* Lease: every holder does one short transaction's work, so the lease
  (``lease_seconds``) only bounds how long a holder that vanished keeps
  others out; long work (uploads, copies) is guarded by claims and job
  heartbeats instead (``artifacts.jobs``), never by holding a lock.  The
  lock is a lease, not a mutex: a worker frozen for longer than the lease
  loses it, and its release then leaves the successor's row alone.  The
  artifact row's compare-and-swap ``revision`` stays in place underneath,
  so even then no update is lost.

Clock
-----
``acquired_at``/``expires_at`` are computed *by the database*, in UTC, from
one timestamp per statement (PostgreSQL ``statement_timestamp()``,
MariaDB/MySQL ``UTC_TIMESTAMP(6)``, SQLite ``'now'``), and expiry is
compared against that same clock in the same statement.  Workers on hosts
whose clocks disagree therefore still agree on when a lease expires; only
durations (the wait deadline, renewal cadence) use the worker's monotonic
clock, where skew does not matter.  (SQLite's clock is the host's, but an
SQLite database is only ever shared by processes of one host.)

Locks are not re-entrant: a request that holds a key and asks for it again
waits for itself and gets 409.
"""

import collections
import contextlib
import hashlib
import json
import logging
import random
import threading
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, instance
from artifacts.db import session
from artifacts.db.models import artifact_locks as L

LOG = logging.getLogger(__name__)

OPERATION_WIDTH = 64


class Locked(errors.Conflict):
    """The lock stayed held by another operation for the whole wait."""

    def __init__(self, message, key=None, operation=None, held_by=None):
        super().__init__(message)
        self.key = key
        self.operation = operation
        self.held_by = held_by     # the holder's operation, when known


def lock_key(key):
    """The ``artifact_locks.lock_key`` of a logical key: sha256 hex of its
    canonical JSON (a string, or a tuple/list of strings such as
    ``("image", image_id)``).  Fixed width, and the same on every database
    whatever the collation (MariaDB's default one ignores case)."""
    if isinstance(key, (tuple, list)):
        canonical = json.dumps([str(part) for part in key],
                               ensure_ascii=False, separators=(",", ":"))
    else:
        canonical = json.dumps(str(key), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def describe(key):
    """What a person reads for ``key``: ("image", id) → "Image <id>"."""
    if isinstance(key, (tuple, list)):
        parts = [str(part) for part in key]
        if parts:
            parts[0] = parts[0][:1].upper() + parts[0][1:]
        return " ".join(parts)
    return str(key)


# ------------------------------------------------------------ database clock

def _now(dialect_name, plus=0.0):
    """UTC now on the database's clock (plus ``plus`` seconds), evaluated
    once per statement, as a naive timestamp comparable with the columns."""
    seconds = float(plus)            # formatted into SQL: digits only
    if dialect_name == "postgresql":
        sql = "(statement_timestamp() AT TIME ZONE 'UTC')"
        if seconds:
            sql = "(%s + interval '%.6f seconds')" % (sql, seconds)
    elif dialect_name in ("mysql", "mariadb"):
        sql = "UTC_TIMESTAMP(6)"
        if seconds:
            sql = "TIMESTAMPADD(MICROSECOND, %d, %s)" % (
                round(seconds * 1e6), sql)
    elif dialect_name == "sqlite":
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff';
        # strftime's %f has milliseconds, padded to the same width so that
        # the text comparison orders correctly.
        sql = ("(strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '%+.6f seconds')"
               " || '000')" % seconds)
    else:
        raise NotImplementedError("No lock clock for %s" % dialect_name)
    return sa.literal_column(sql, L.c.expires_at.type)


class Lease:
    """One acquisition of a lock; returned by :meth:`Locks.acquire` and
    yielded by :meth:`Locks.hold`."""

    def __init__(self, locks, key, operation, holder, turn=None):
        self.locks = locks
        self.key = key
        self.lock_key = lock_key(key)
        self.operation = operation
        self.holder = holder
        self.lost = False          # found taken over at release
        self.released = False
        self._turn = turn          # this thread's place in the local queue

    @property
    def held(self):
        return not (self.lost or self.released)

    def release(self):
        """Delete the lock row if it is still ours; True if it was.  Safe
        to call twice.  A database error is logged, not raised: the lease
        then simply expires."""
        if self.released:
            return False
        self.released = True
        try:
            return self._release()
        finally:
            self.locks._leave(self.lock_key, self._turn)

    def _release(self):
        def run(conn):
            return conn.execute(
                L.delete().where(L.c.lock_key == self.lock_key,
                                 L.c.holder == self.holder)).rowcount
        try:
            mine = session.transaction(self.locks.engine, run) == 1
        except sa.exc.SQLAlchemyError:
            LOG.exception("Could not release the lock on %s; it expires in "
                          "at most %ss", describe(self.key),
                          self.locks.lease_seconds)
            return False
        if not mine:
            self.lost = True
            LOG.warning("The lock on %s (%s) had expired and was taken over "
                        "before it was released", describe(self.key),
                        self.operation)
        return mine

    def __repr__(self):
        return "<Lease %s %s holder=%s%s>" % (
            describe(self.key), self.operation, self.holder,
            " lost" if self.lost else "")


class Locks:
    """Lock service on ``db_engine`` (a ``session.make_engine`` engine
    whose schema has ``artifact_locks``).  Thread-safe; share one."""

    def __init__(self, db_engine, lease_seconds=30, wait_seconds=5,
                 poll=0.05):
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.engine = db_engine
        self.dialect = db_engine.dialect.name
        self.lease_seconds = float(lease_seconds)
        self.wait_seconds = float(wait_seconds)
        self.poll = float(poll)
        _now(self.dialect)           # fail early on an unsupported database
        self._queues = {}            # lock_key -> deque of turn Events
        self._queues_lock = threading.Lock()

    def _enter(self, k):
        """Join this process's queue for ``k``; returns the Event set when
        it is this thread's turn (at once if nobody is ahead)."""
        turn = threading.Event()
        with self._queues_lock:
            queue = self._queues.setdefault(k, collections.deque())
            queue.append(turn)
            if len(queue) == 1:
                turn.set()
        return turn

    def _leave(self, k, turn):
        """Leave the queue for ``k``; the next thread's turn comes."""
        if turn is None:
            return
        with self._queues_lock:
            queue = self._queues.get(k)
            if not queue:
                return
            if queue[0] is turn:
                queue.popleft()
                if queue:
                    queue[0].set()
            else:
                try:
                    queue.remove(turn)
                except ValueError:
                    pass
            if not queue:
                del self._queues[k]

    @contextlib.contextmanager
    def hold(self, key, operation="update", wait_seconds=None):
        """Hold the lock on ``key`` for the block; yields the :class:`Lease`.

        Raises :class:`Locked` (409) if it stays held by another operation
        for ``wait_seconds`` (default: the service's).  Released on exit,
        whether the block succeeded or raised.
        """
        lease = self.acquire(key, operation, wait_seconds)
        try:
            yield lease
        finally:
            lease.release()

    def acquire(self, key, operation="update", wait_seconds=None):
        """Take the lock on ``key`` (waiting as ``hold`` does) and return
        its :class:`Lease`; the caller must ``release()`` it."""
        operation = str(operation)[:OPERATION_WIDTH]
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + max(0.0, wait)
        k = lock_key(key)
        turn = self._enter(k)
        try:
            turn.wait(min(max(0.0, wait), self.lease_seconds))
            first = True
            while True:
                holder = uuid.uuid4().hex
                acquired, held_by = self._attempt(k, holder, operation,
                                                  insert_first=first)
                first = False
                if acquired:
                    LOG.debug("Locked %s for %s (holder %s)", describe(key),
                              operation, holder)
                    return Lease(self, key, operation, holder, turn)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                time.sleep(min(remaining,
                               self.poll * random.uniform(0.5, 1.5)))
        except BaseException:
            self._leave(k, turn)
            raise
        self._leave(k, turn)
        LOG.info("Gave up waiting %.2fs for the lock on %s (held by %s)",
                 wait, describe(key), held_by or "another operation")
        raise Locked("%s is locked by another operation%s; try again."
                     % (describe(key),
                        " (%s)" % held_by if held_by else ""),
                     key=key, operation=operation, held_by=held_by)

    def _attempt(self, k, holder, operation, insert_first=False):
        """One try: (acquired, operation of the current holder or None).
        ``insert_first``: try the ``INSERT`` before reading the row (a free
        lock is then taken in one transaction instead of two)."""
        now = _now(self.dialect)
        values = {"holder": holder, "operation": operation,
                  "owner": instance.current(), "acquired_at": now,
                  "expires_at": _now(self.dialect, self.lease_seconds)}

        def insert(conn):
            conn.execute(L.insert().values(lock_key=k, **values))
        if insert_first:
            try:
                session.transaction(self.engine, insert)
                return True, None
            except sa.exc.IntegrityError:
                pass                        # held (or expired): read it
        expired = sa.case((L.c.expires_at < now, 1), else_=0)
        row = session.read(self.engine, lambda conn: conn.execute(
            sa.select(L.c.holder, L.c.operation, L.c.owner,
                      expired.label("expired"))
            .where(L.c.lock_key == k)).first())
        dead = row is not None and not row.expired and row.owner \
            and instance.is_dead(row.owner)
        if row is not None and not row.expired and not dead:
            return False, row.operation
        if row is None:                     # (released meanwhile)
            try:
                session.transaction(self.engine, insert)
            except sa.exc.IntegrityError:
                return False, None          # another request inserted first
            return True, None

        # An expired lease, or one of a dead process of this host (then
        # only while the same holder has it: exactly one taker matches).
        gone = L.c.holder == row.holder if dead else L.c.expires_at < now

        def take_over(conn):
            return conn.execute(
                L.update().where(L.c.lock_key == k, gone)
                .values(**values)).rowcount
        if session.transaction(self.engine, take_over) == 1:
            LOG.warning("Took over the %s lock %s of holder %s (%s, %s), "
                        "for %s", "dead process's" if dead else "expired",
                        k, row.holder, row.operation,
                        row.owner or "owner unknown", operation)
            return True, None
        return False, row.operation

    def purge_expired(self, grace_seconds=0):
        """Delete locks expired for more than ``grace_seconds`` (rows of
        crashed workers that nobody came back for); returns how many."""
        cutoff = _now(self.dialect, -float(grace_seconds))

        def run(conn):
            return conn.execute(
                L.delete().where(L.c.expires_at < cutoff)).rowcount
        return session.transaction(self.engine, run)
