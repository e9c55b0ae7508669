"""Crash recovery: work owned by a process, and its release when it died.

What a process starts and may not finish is recorded with its owner (its
``artifacts.instance`` id) before it starts:

* an upload's or import's **claim**: the ``saving`` row in
  ``artifact_blobs`` (``holder``);
* every **store write**: a ``store_writes`` row naming the store and key,
  committed before the first byte is written (``Writes.record``/``start``),
  and removed in the transaction that makes the data a blob location, or
  once a failed write's data is gone (``Writes.abandon``);
* a running **data job** (``data_jobs.holder``);
* an artifact **lock** (``artifact_locks.owner``) and an upload's quota
  **reservation** (``upload_reservations.owner``): both are leases that
  expire by themselves (another host's dead process holds them until
  then); those of this host's dead processes are deleted by ``recover``
  at once, so a restarted server does not wait for them.

``recover`` releases the work of dead owners: a process of this host that
is gone (``instance.is_dead``: released at once, so a restarted server
frees its predecessor's work within its first second), or any owner whose
heartbeat (``updated_at``) is older than ``[glare] stale_upload_seconds``
(another host's crash).  A dead claim goes and its artifact's status goes
back (an upload: to the initial status; an import: to the staged status,
the staged data kept); a dead write's data is removed from its store,
committed or partial (``discard(key)``), then its record; a dead job is
pending again.  Runs at ``glare serve`` start, every minute in every worker
(``artifacts.jobs``), before a claim takes over a blocked slot, and in
``glare scrub``.
"""

import datetime
import logging

import sqlalchemy as sa

from artifacts import errors, instance
from artifacts.db import api as db
from artifacts.db.models import (artifact_blobs, artifact_locks, data_jobs,
                                 store_writes, upload_reservations)
from artifacts.db.session import read, transaction

LOG = logging.getLogger(__name__)

B = artifact_blobs
W = store_writes
J = data_jobs


class Writes:
    """Records of store writes in progress (see the module docstring)."""

    def __init__(self, db_engine, stores):
        self.db = db_engine
        self.stores = stores

    @staticmethod
    def record(conn, store, key, artifact_id=None):
        """Record a write in the caller's transaction; returns its id."""
        now = db.utcnow()
        return conn.execute(W.insert().values(
            store=store, key=key, artifact_id=artifact_id,
            holder=instance.current(), created_at=now,
            updated_at=now)).inserted_primary_key[0]

    def start(self, store, key, artifact_id=None):
        """Record a write in a transaction of its own (committed before
        the first byte goes to the store); returns its id."""
        return transaction(self.db, lambda conn: self.record(
            conn, store, key, artifact_id))

    @staticmethod
    def finish(conn, ids):
        """Drop the records of writes whose data is now a blob location, in
        the caller's transaction; False when one is gone (recovery took a
        stalled write away and removed its data)."""
        ids = list(ids)
        if not ids:
            return True
        return conn.execute(W.delete().where(W.c.id.in_(ids))).rowcount \
            == len(ids)

    @staticmethod
    def touch(conn, ids):
        if ids:
            conn.execute(W.update().where(W.c.id.in_(list(ids))).values(
                updated_at=db.utcnow()))

    def abandon(self, writes):
        """Remove the data of failed writes (``[(id, store, key)]``) and
        then their records; a write whose data cannot be removed now keeps
        its record, for recovery to retry.  Returns how many are gone."""
        done = []
        for write_id, store, key in writes:
            if self.discard(store, key):
                done.append(write_id)
        if done:
            transaction(self.db, lambda c: c.execute(
                W.delete().where(W.c.id.in_(done))))
        return len(done)

    def discard(self, store_id, key):
        """Remove a key's data from a store; True once it is gone (or can
        never be removed: the store is no longer configured or read-only,
        which is logged)."""
        try:
            driver = self.stores.driver(store_id)
        except errors.ArtifactError:
            LOG.warning("Store %s of an interrupted write of %s is not "
                        "configured; its data cannot be removed", store_id,
                        key)
            return True
        if driver.read_only:
            LOG.warning("Store %s is read-only; the interrupted write of %s "
                        "stays there", store_id, key)
            return True
        try:
            driver.discard(key)
        except Exception:  # noqa: BLE001 - retried by the next recovery
            LOG.exception("Could not remove the data of the interrupted "
                          "write of %s in store %s; will retry", key,
                          store_id)
            return False
        return True


def _dead_holders(conn):
    holders = set()
    for query in (sa.select(B.c.holder).where(B.c.status == "saving"),
                  sa.select(W.c.holder),
                  sa.select(J.c.holder).where(J.c.status == "running")):
        holders.update(r[0] for r in conn.execute(query.distinct()))
    return instance.dead(holders)


def _dead(table, dead, cutoff):
    """Rows of ``table`` whose holder is dead or whose heartbeat is stale."""
    condition = table.c.updated_at < cutoff
    if dead:
        condition = sa.or_(condition, table.c.holder.in_(sorted(dead)))
    return condition


def reset_status(conn, atype, artifact_id, field):
    """Put back the status of an artifact whose claim on ``field`` died:
    an upload's ``via`` goes back to the initial status, an import's
    ``importing`` to the staged status (its staged data kept).  Both are
    compare-and-swaps: at most one matches the artifact's status (an
    import holds the claim of the field it fills, so no upload's claim can
    be live beside it)."""
    if atype is None:
        return
    for flow_field, flow in atype.data_flows.items():
        if flow_field == field and not (flow.staging and _has_data(
                conn, artifact_id, field)):
            # (A replacement of staged data that died -- import plugins'
            # output -- leaves the staged data it was replacing, and the
            # staged status with it.)
            db.set_status(conn, artifact_id, flow.via, atype.initial_status)
        if flow.importing and db.set_status(conn, artifact_id,
                                            flow.importing, flow.to):
            _fail_import_tasks(conn, atype, artifact_id)


def _has_data(conn, artifact_id, field):
    return conn.execute(sa.select(B.c.id).where(
        B.c.artifact_id == artifact_id, B.c.field == field,
        B.c.status == "active").limit(1)).first() is not None


def _fail_import_tasks(conn, atype, artifact_id):
    """The import of ``artifact_id`` died with its process: its live task
    fails (its staged data is kept, so it can be imported again) and no
    longer holds the artifact's import lock."""
    from artifacts.tasks import LIVE, T
    now = db.utcnow()
    ids = [r.id for r in conn.execute(sa.select(T.c.id).where(
        T.c.artifact_id == artifact_id, T.c.status.in_(LIVE)))]
    if not ids:
        return
    conn.execute(T.update().where(T.c.id.in_(ids)).values(
        status="failure", holder=None, updated_at=now,
        message="The process running the import died; the staged data is "
                "kept and can be imported again."))
    lock = atype.task_lock
    if lock and db.get_property(conn, artifact_id, lock) in ids:
        db.set_properties(conn, artifact_id, {lock: None})


def recover(data, atypes, artifact_id=None):
    """Release the work of dead processes (see the module docstring);
    ``artifact_id`` limits it to one artifact's claims and writes.  Returns
    how many claims, writes, statuses and jobs were released."""
    cutoff = db.utcnow() - datetime.timedelta(
        seconds=data.limits.stale_upload_seconds)
    by_name = {t.name: t for t in atypes}
    dead = read(data.db, _dead_holders)

    claims = sa.select(B.c.id, B.c.artifact_id, B.c.field,
                       db.A.c.type_name).join(
        db.A, db.A.c.id == B.c.artifact_id).where(
        B.c.status == "saving", _dead(B, dead, cutoff))
    if artifact_id is not None:
        claims = claims.where(B.c.artifact_id == artifact_id)

    def release_claims(conn):
        count = 0
        for row in conn.execute(claims).all():
            db.forget_blob(conn, row.id)
            reset_status(conn, by_name.get(row.type_name), row.artifact_id,
                         row.field)
            count += 1
        if artifact_id is None:
            count += _release_orphan_statuses(conn, atypes, cutoff)
            if dead:
                count += conn.execute(J.update().where(
                    J.c.status == "running",
                    J.c.holder.in_(sorted(dead))).values(
                    status="pending", holder=None, heartbeat_at=None,
                    updated_at=db.utcnow())).rowcount
        return count
    count = 0
    # One artifact's recovery (a claim that found its slot taken, a
    # delete) writes only when there is something to release.
    if artifact_id is None or read(data.db, lambda c: c.execute(
            claims.limit(1)).first()):
        count = transaction(data.db, release_claims)

    query = sa.select(W.c.id, W.c.store, W.c.key).where(
        _dead(W, dead, cutoff)).order_by(W.c.id)
    if artifact_id is not None:
        query = query.where(W.c.artifact_id == artifact_id)
    writes = read(data.db, lambda c: [tuple(r) for r in c.execute(query)])
    count += data.writes.abandon(writes)
    if artifact_id is None:
        count += release_dead_leases(data.db)
    if count:
        LOG.warning("Released %d interrupted upload(s), write(s) or job(s)%s",
                    count, " of %s" % artifact_id if artifact_id else "")
    return count


def release_dead_leases(db_engine):
    """Delete the locks and upload reservations whose owner is a process
    of this host proven dead; returns how many.  Other hosts' leases run
    out by themselves (``expires_at``, on the database's clock)."""
    count = 0
    for table in (artifact_locks, upload_reservations):
        owners = read(db_engine, lambda conn: [
            r[0] for r in conn.execute(sa.select(table.c.owner).distinct()
                                       .where(table.c.owner.is_not(None)))])
        dead = sorted(instance.dead(owners))
        if dead:
            count += transaction(db_engine, lambda conn: conn.execute(
                table.delete().where(table.c.owner.in_(dead))).rowcount)
    return count


def _release_orphan_statuses(conn, atypes, cutoff):
    """Artifacts left in an upload's or import's status without any claim
    (data from before claims had owners) and not touched for the stale
    limit: back to their initial (or staged) status."""
    claimed = sa.union(
        sa.select(B.c.artifact_id).where(B.c.status == "saving"),
        # A data job works on it (a registration being checked): the
        # job's own takeover finishes or undoes it.
        sa.select(J.c.artifact_id).where(
            J.c.status.in_(("pending", "running"))))
    count = 0
    for atype in atypes:
        back = {f.via: atype.initial_status
                for f in atype.data_flows.values() if f.via != f.to}
        back.update({f.importing: f.to for f in atype.data_flows.values()
                     if f.importing})
        for status, initial in back.items():
            count += conn.execute(db.A.update().where(
                db.A.c.type_name == atype.name, db.A.c.status == status,
                db.A.c.updated_at < cutoff,
                db.A.c.id.not_in(claimed)).values(
                status=initial, updated_at=db.utcnow(),
                revision=db.A.c.revision + 1)).rowcount
    return count


def holder_is_dead(holder, updated_at, stale_seconds):
    """Whether one claim's owner is dead (proven, or its lease ran out)."""
    cutoff = db.utcnow() - datetime.timedelta(seconds=stale_seconds)
    return updated_at < cutoff or instance.is_dead(holder)
