"""The one data path: every type's bytes, images included, go through here.

``DataService`` is the engine's collaborator for data (``engine.data``).
Its contract:

* **Upload** (``upload``): exactly one upload into a blob (or folder path)
  at a time.  It first *claims* the slot: a ``saving`` row in
  ``artifact_blobs`` whose claim slot is unique (a second upload gets 409),
  and, for a field with a ``DataFlow`` (images' ``image`` and ``staging``),
  moves the artifact from its initial status to the flow's ``via`` status in
  the same transaction.  The bytes stream into a store under a fresh key
  while the claim heartbeats; the type's hooks filter and judge them; the
  *finish* transaction makes the claim the live blob with its digests and
  its first location, retires what it replaces and moves the status on.
  Any failure before that cancels the write, deletes what was stored and
  releases the claim (the status goes back): nothing half-written stays.
* **Locations**: a blob's data may sit in several places (``locations``,
  ordered); reads try them in store-weight order and fall through to the
  next on a store error.  Retiring a blob (re-upload, delete) marks it and
  all its locations ``pending_delete`` in the caller's transaction; the data
  is removed afterwards (``remove_data``), or by ``glare scrub``.
* **Download** (``open``): a ``Download`` with the blob's size and digests
  and ``read(offset, length)``; faces never call a store driver.
* **Recovery** (``recover_stale_uploads``): claims and imports that
  stopped heartbeating (a killed worker) are released and their
  artifacts' status reset (an import keeps its staged data), so the work
  can start again.

What is Glance's (messages, field names) lives in the images type's
declaration and hooks or in ``glance_compat``, never here.
"""

import datetime
import hashlib
import logging
import sys
import threading
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, external, instance, paths, recovery
from artifacts.db import api as db
from artifacts.db.models import artifact_blobs
from artifacts.db.session import is_unavailable, read, transaction
from artifacts.quotas import releases_reservations
from artifacts.recovery import Writes
from artifacts.stores import redact, streaming
from artifacts.stores.placement import Download, open_locations

LOG = logging.getLogger(__name__)

B = artifact_blobs
HEARTBEAT_SECONDS = 30
DIGEST_COLUMNS = ("md5", "sha1", "sha256", "sha512")
TAKEN_OVER = ("The upload made no progress for longer than the stale limit "
              "and was released; upload the data again.")


def _claim_slot(field, path):
    # Folded: two uploads of names that differ only by case or Unicode
    # normalisation race for one claim, so they cannot both land.
    return hashlib.sha1(("claim\x00%s\x00%s" % (
        field, paths.fold(path))).encode("utf-8")).hexdigest()


def _case_twin(field, path, blobs):
    """The path of another live file of folder ``field`` that is the same
    file as ``path`` on a case-insensitive or normalising file system."""
    if not path:
        return None
    key = paths.fold(path)
    for blob in blobs:
        if blob["field"] == field and blob["path"] != path and \
                blob["status"] == "active" and paths.fold(blob["path"]) == key:
            return blob["path"]
    return None


def _refuse_twin(field, path, twin):
    if twin is not None:
        raise errors.Conflict(
            "Folder '%s' already holds %r, which differs from %r only by "
            "case or Unicode normalisation; names in a folder must be "
            "unique." % (field, twin, path))


class _Work:
    """What one upload, import or copy holds until it ends: its claim (an
    ``artifact_blobs`` id, or None) and its recorded store writes
    (``[(record id, store id, key)]``)."""

    def __init__(self, claim=None):
        self.claim = claim
        self.writes = []

    @property
    def write_ids(self):
        return [w[0] for w in self.writes]


class _Recording:
    """A store whose ``writer(key)`` first records the write in the
    operation's ``_Work`` (in its own committed transaction), so data that
    hooks write (derived files) is as findable after a crash as the
    upload's own."""

    def __init__(self, data, store, artifact_id, work):
        self._data = data
        self._store = store
        self._artifact_id = artifact_id
        self._work = work

    def writer(self, key):
        write_id = self._data.writes.start(self._store.name, key,
                                           self._artifact_id)
        self._work.writes.append((write_id, self._store.name, key))
        return self._store.writer(key)

    def __getattr__(self, name):
        if name.startswith("__") or "_store" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self._store, name)


class _InPlace:
    """The meter of staged data that becomes an artifact's data where it
    is (no copy streams through a meter): its bytes are checked against
    the stored-bytes quota in the transaction that makes them count."""

    def __init__(self, meter, size):
        self.meter = meter
        self.size = size

    def settle(self, conn):
        self.meter.settle(conn, unmetered=self.size)


class DataService:
    """Data operations of every type; see the module docstring.

    Uses the engine for what every operation shares: loading an artifact
    the caller may see (``_fetch``), policy targets, locks, hooks, quotas
    and limits."""

    def __init__(self, engine, stores):
        self.engine = engine
        self.stores = stores
        self.writes = Writes(engine.db, stores)
        # Releases that failed (the database was away): retried by the
        # runner thread (``retry_releases``) until they succeed.
        self._retry = []
        self._retry_lock = threading.Lock()

    @property
    def db(self):
        return self.engine.db

    @property
    def limits(self):
        return self.engine.limits

    # ---------------------------------------------------------- the checks

    def _data_field(self, atype, field, path, for_write):
        """(field declaration, path): a folder's path normalised and
        checked by the rule archive members obey (``artifacts.paths``)."""
        flow = atype.data_flows.get(field)
        fdef = atype.field(field)
        if flow is not None and (fdef is None or fdef.kind == "blob"):
            if path:
                raise errors.NotFound("Field '%s' is a single blob; it has "
                                      "no path '%s'." % (field, path))
            return fdef, path
        if fdef is None or not fdef.is_data:
            raise errors.NotFound("%s has no blob or folder field '%s'."
                                  % (atype.name, field))
        if fdef.kind == "folder":
            if not path:
                raise errors.Invalid("Field '%s' is a folder: name a file "
                                     "inside it (%s/<path>)." % (field,
                                                                 field))
            path = paths.check(path, "Folder path")
        elif path:
            raise errors.NotFound("Field '%s' is a single blob; it has no "
                                  "path '%s'." % (field, path))
        if for_write and fdef.system:
            raise errors.Forbidden("Field '%s' is filled by the service."
                                   % field)
        return fdef, path

    def _writable_status(self, atype, fdef, status):
        return status == atype.initial_status or (
            fdef is not None and fdef.mutable
            and status == atype.active_status)

    def _size_limit(self, fdef, artifact, field, path):
        """Bytes this upload may take, and a check of the folder's count."""
        limit = self.limits.max_blob_size
        if fdef is None or fdef.kind == "blob":
            if fdef is not None and fdef.max_size is not None:
                limit = fdef.max_size if limit is None else min(
                    limit, fdef.max_size)
            return limit
        others = [b for b in artifact["blobs"]
                  if b["field"] == field and b["path"] != path
                  and b["status"] == "active"]
        if fdef.max_items is not None and len(others) >= fdef.max_items:
            raise errors.RequestTooLarge(
                "Folder '%s' already holds %d files, its maximum."
                % (field, len(others)))
        if fdef.max_size is not None:
            room = fdef.max_size - sum(b["size"] or 0 for b in others)
            limit = room if limit is None else min(limit, room)
        return limit

    def digests_of(self, atype):
        return tuple(dict.fromkeys(
            self.limits.hashing_algorithm if d == "configured" else d
            for d in atype.digests))

    # -------------------------------------------------------------- upload

    @releases_reservations
    def upload(self, ctx, atype, artifact_id, field, chunks, path="",
               store=None, restage=None):
        """Stream ``chunks`` into a blob field, a folder path or a flow
        field (images' ``image`` and ``staging``); ``store`` names the
        store to write to (None: the type's or the default one).

        ``restage``: properties to set with new staged data that replaces
        the staged data of a staging flow field (import plugins' output):
        the artifact stays in the flow's staged status throughout, the old
        staged data is retired when the new one is committed."""
        engine = self.engine
        fdef, path = self._data_field(atype, field, path, for_write=True)
        flow = atype.data_flows.get(field)
        artifact, membership = engine._fetch(ctx, atype, artifact_id)
        engine.enforcer.enforce(ctx, atype.rule(flow.rule if flow else
                                                "upload"),
                                engine._target(artifact, ctx, membership))
        status = artifact["status"]
        keep = None
        if restage is not None:
            if flow is None or not flow.staging or status != flow.to:
                raise errors.Conflict("%s %s has no staged data to replace."
                                      % (atype.noun.capitalize(),
                                         artifact_id))
            keep, flow = flow, None
        if flow is None and keep is None and \
                not self._writable_status(atype, fdef, status):
            raise errors.Forbidden(
                "Field '%s' cannot change once the %s is %s."
                % (field, atype.noun, status))
        if flow is not None and status not in (atype.initial_status,
                                               flow.via):
            raise _transition(atype, status, flow.via)
        for hook in atype.hooks.get("pre_upload", ()):
            hook(ctx, artifact, field=field, path=path)
        _refuse_twin(field, path, _case_twin(field, path, artifact["blobs"]))
        limit = self._size_limit(fdef, artifact, field, path)
        staging = bool((flow or keep) and (flow or keep).staging)
        target = self.stores.for_new(atype, field, requested=store,
                                     staging=staging)
        meter = engine.quotas.meter(atype, artifact, staging=staging)
        too_large = flow.too_large if flow and flow.too_large else (
            "The data is larger than field '%s' allows (%s bytes)."
            % (field, limit))
        key = self._new_key(artifact_id, field)
        work = self._claim(atype, artifact_id, field, path, flow,
                           target.name, key, artifact.get("owner"))
        engine.events.emit("upload_start", ctx, atype, artifact_id, dict(
            artifact, status=flow.via) if flow else artifact, field=field,
            path=path, store=target.name)
        try:
            chunks, states = self._filter(ctx, atype, artifact, chunks, field)
            result = streaming.write_stream(
                target, key, chunks, algorithms=self.digests_of(atype),
                max_size=limit, on_chunk=meter.wrap(self._heartbeat(work)),
                too_large_message=too_large)
        except BaseException:
            self._release(atype, artifact_id, work, flow and flow.via)
            self._upload_failed(ctx, atype, artifact_id, field)
            raise
        try:
            values = dict(restage or {})
            for hook in atype.hooks.get("post_upload", ()):
                values.update(hook(ctx, artifact, result=result, field=field,
                                   path=path, states=states,
                                   algorithm=self.limits.hashing_algorithm)
                              or {})
            # Hooks may derive more files from the data (vnf_packages
            # unpacks its CSAR into a folder); a refusal leaves nothing,
            # and so does a crash: their writes are recorded too.
            # ``reserve(n)``: a hook about to write n more bytes asks the
            # quota first (413 before a byte of them is written).
            derived = []
            recording = _Recording(self, target, artifact_id, work)
            for hook in atype.hooks.get("blob_uploaded", ()):
                derived.extend(hook(ctx, artifact, field=field, path=path,
                                    result=result, store=recording,
                                    reserve=meter.cover) or ())
            with engine._locked(atype, artifact_id, "upload"):
                retired = transaction(self.db, lambda conn: self._finish(
                    conn, atype, artifact_id, field, path, fdef, flow, work,
                    target, result, values, derived, meter, keep))
        except BaseException:
            self._release(atype, artifact_id, work, flow and flow.via)
            self._upload_failed(ctx, atype, artifact_id, field)
            raise
        if retired is None:
            gone = errors.Gone("%s %s could not be found after upload. The %s "
                               "may have been deleted during the upload."
                               % (atype.noun.capitalize(), artifact_id,
                                  atype.noun))
            self._release(atype, artifact_id, work, flow and flow.via)
            self._upload_failed(ctx, atype, artifact_id, field, gone)
            raise gone
        engine.events.emit("upload_done", ctx, atype, artifact_id,
                           field=field, path=path, store=target.name)
        self.remove_data(retired)
        LOG.info("Stored %d bytes in %s %s field %s%s (store %s)",
                 result.size, atype.noun, artifact_id, field,
                 "/" + path if path else "", target.name)

    @staticmethod
    def _new_key(artifact_id, field):
        """The one key scheme of every type's data: the artifact, the field
        and a fresh name, so a new upload never meets an old object.  Flat
        (no directory per artifact): a filesystem store then creates and
        syncs no directory per upload, which halves the cost of a small
        write, and the file still starts with the artifact's id, as
        Glance's do."""
        return "%s.%s.%s" % (artifact_id, field, uuid.uuid4().hex)

    def _finish(self, conn, atype, artifact_id, field, path, fdef, flow,
                work, target, result, values, derived, meter, keep=None):
        """The transaction that makes the upload live; None if the artifact
        is gone.  ``keep``: the staging flow whose staged status must still
        hold (a restage)."""
        claim = work.claim
        if keep is not None:
            if not db.set_status(conn, artifact_id, keep.to, keep.to):
                return _gone_or_taken_over(conn, artifact_id)
        elif flow is not None:
            # The status compare-and-swap also fails on a deleted one.
            if not db.set_status(conn, artifact_id, flow.via, flow.to):
                return _gone_or_taken_over(conn, artifact_id)
        else:
            row = conn.execute(sa.select(db.A.c.status).where(
                db.A.c.id == artifact_id,
                db.A.c.deleted == sa.false())).first()
            if row is None:
                return None
            if not self._writable_status(atype, fdef, row.status):
                # Activated while the bytes were streaming: too late.
                raise errors.Conflict(
                    "The %s became %s during the upload; field '%s' can no "
                    "longer change." % (atype.noun, row.status, field))
            conn.execute(db.A.update().where(db.A.c.id == artifact_id)
                         .values(updated_at=db.utcnow()))
        # A twin that finished after this upload began (its claim freed
        # before ours was taken) is caught here, in the same transaction.
        _refuse_twin(field, path, self._live_twin(conn, artifact_id, field,
                                                  path))
        retired = db.retire_blobs(conn, artifact_id, field, path)
        if fdef is not None and fdef.kind == "folder":
            self._check_folder(conn, artifact_id, field, fdef, result.size)
        if not Writes.finish(conn, work.write_ids) or not conn.execute(
                B.update().where(B.c.id == claim, B.c.status == "saving")
                .values(slot=db.blob_slot(field, path), status="active",
                        size=result.size, holder=None,
                        updated_at=db.utcnow(),
                        **{a: result.digests.get(a)
                           for a in DIGEST_COLUMNS})).rowcount:
            # Recovery released this upload (no heartbeat for the stale
            # limit) and removed its data: nothing of it may become live.
            raise errors.Conflict(TAKEN_OVER)
        db.add_locations(conn, claim, [{"store": target.name,
                                        "url": result.location}], first=True)
        for derived_field in {d[0] for d in derived}:
            retired.extend(db.retire_blobs(conn, artifact_id, derived_field))
        for derived_field in {d[0] for d in derived}:
            db.insert_folder(conn, artifact_id, derived_field, [
                (derived_path, dict(
                    status="active", size=made.size, external=False,
                    **{a: made.digests.get(a) for a in DIGEST_COLUMNS}),
                 {"store": target.name, "url": made.location})
                for d_field, derived_path, made in derived
                if d_field == derived_field])
        if values:
            db.set_properties(conn, artifact_id, values)
        meter.settle(conn, unmetered=sum(d[2].size for d in derived))
        return retired

    @staticmethod
    def _check_folder(conn, artifact_id, field, fdef, size):
        """A folder's ``max_items`` and ``max_size`` once more, with what
        is committed now: concurrent uploads each checked the folder when
        they started, and together they may not fit.  Finishes of one
        artifact run under its lock, so this check and the insert that
        follows are not raced."""
        count, used = conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(B.c.size), 0))
            .where(B.c.artifact_id == artifact_id, B.c.field == field,
                   B.c.status == "active", B.c.slot.is_not(None))).one()
        if fdef.max_items is not None and count >= fdef.max_items:
            raise errors.RequestTooLarge(
                "Folder '%s' already holds %d files, its maximum."
                % (field, count))
        if fdef.max_size is not None and used + size > fdef.max_size:
            raise errors.RequestTooLarge(
                "Folder '%s' holds %d bytes; %d more would exceed its "
                "maximum of %d bytes." % (field, used, size, fdef.max_size))

    @staticmethod
    def _live_twin(conn, artifact_id, field, path):
        if not path:
            return None
        rows = conn.execute(sa.select(B.c.path).where(
            B.c.artifact_id == artifact_id, B.c.field == field,
            B.c.status == "active", B.c.slot.isnot(None))).all()
        return _case_twin(field, path, [
            {"field": field, "path": r.path, "status": "active"}
            for r in rows])

    def _filter(self, ctx, atype, artifact, chunks, field):
        """Pass the stream through the type's upload filters (which may
        observe or transform it); returns (chunks, their states)."""
        states = []
        for hook in atype.hooks.get("upload_filter", ()):
            chunks, state = hook(ctx, artifact, chunks, field=field)
            states.append(state)
        return chunks, states

    def _heartbeat(self, work, also=None):
        """``on_chunk`` that renews the lease of ``work`` (its claim and
        its writes) every ``HEARTBEAT_SECONDS`` (a quarter of the stale
        limit when that is shorter), then calls ``also``.  A heartbeat the
        database refuses is logged, not fatal: the lease is long, and the
        finish will tell whether the work was released meanwhile."""
        every = min(HEARTBEAT_SECONDS,
                    max(0.5, self.limits.stale_upload_seconds / 4.0))
        beat = {"at": time.monotonic()}

        def touch(conn):
            if work.claim is not None:
                conn.execute(B.update().where(B.c.id == work.claim).values(
                    updated_at=db.utcnow()))
            Writes.touch(conn, work.write_ids)

        def heartbeat(total):
            if time.monotonic() - beat["at"] > every:
                beat["at"] = time.monotonic()
                try:
                    transaction(self.db, touch)
                except sa.exc.SQLAlchemyError:
                    LOG.warning("Heartbeat of an upload failed; going on",
                                exc_info=True)
            if also is not None:
                also(total)
        return heartbeat

    def _claim(self, atype, artifact_id, field, path, flow, store=None,
               key=None, owner=None):
        """Insert the ``saving`` row (owned by this process) that makes
        this upload the only one, record the store write it is about to
        make (``store``, ``key``) in the same transaction -- before any
        byte is written -- and, for a flow, move the status (under the
        artifact's lock, as every status change).  Only when that fails
        are the artifact's dead uploads released (``recovery.recover``:
        an owner proven dead, or no heartbeat for the stale limit) and the
        claim tried once more, so the common path is three statements.
        Returns the upload's ``_Work``."""
        slot = _claim_slot(field, path)
        holder = instance.current()

        def run(conn, retry):
            now = db.utcnow()
            if flow is not None and not db.set_status(
                    conn, artifact_id, atype.initial_status, flow.via):
                row = db.get(conn, artifact_id, details=False)
                status = row["status"] if row else flow.via
                # Stuck in ``via`` with no claim at all and no heartbeat
                # (left by a version without owned claims): take it over.
                stale = now - datetime.timedelta(
                    seconds=self.limits.stale_upload_seconds)
                orphan = retry and row is not None and \
                    status == flow.via and row["updated_at"] < stale and \
                    not conn.execute(sa.select(B.c.id).where(
                        B.c.artifact_id == artifact_id,
                        B.c.status == "saving")).first()
                if not orphan:
                    raise _transition(atype, status, flow.via)
            work = _Work(conn.execute(B.insert().values(
                artifact_id=artifact_id, field=field, path=path, position=0,
                slot=slot, status="saving", external=False, holder=holder,
                created_at=now, updated_at=now)).inserted_primary_key[0])
            if key is not None:
                work.writes.append((Writes.record(conn, store, key,
                                                  artifact_id), store, key))
            self.engine.quotas.check_uploading(conn, atype, owner)
            return work

        def attempt(retry):
            if flow is None:
                return transaction(self.db, lambda c: run(c, retry))
            with self.engine._locked(atype, artifact_id, "upload"):
                return transaction(self.db, lambda c: run(c, retry))
        try:
            try:
                return attempt(retry=False)
            except (sa.exc.IntegrityError, errors.Conflict):
                if recovery.recover(self, [atype], artifact_id):
                    LOG.warning("Released a dead upload into %s %s; taking "
                                "its place", atype.noun, artifact_id)
                return attempt(retry=True)
        except sa.exc.IntegrityError:
            if flow is not None:
                raise _transition(atype, flow.via, flow.via)
            raise errors.Conflict("Field '%s'%s is being uploaded by another "
                                  "request; try again when it has finished."
                                  % (field, " path '%s'" % path if path
                                     else ""))

    def _release(self, atype, artifact_id, work, via=None, back=None,
                 retrying=False):
        """Undo an upload or import: remove the data it wrote (committed or
        partial) and the records of those writes, drop its claim and move
        the status from ``via`` back to ``back`` (default: the type's
        initial status) -- only while the claim is still its own: recovery
        may have released it and a new upload may hold the status now.  If
        the database is away, the rest is retried by the runner thread
        (``retry_releases``) until it succeeds."""
        initial = back or atype.initial_status

        def run(conn):
            if work.claim is None:
                return
            gone = conn.execute(B.delete().where(
                B.c.id == work.claim, B.c.status == "saving")).rowcount
            if gone and via is not None:
                db.set_status(conn, artifact_id, via, initial)
        try:
            self.writes.abandon(work.writes)
            transaction(self.db, run)
        except Exception as exc:  # noqa: BLE001 - the database may be away
            LOG.log(logging.DEBUG if retrying else logging.WARNING,
                    "Could not release the upload into %s %s; will retry: "
                    "%s", atype.noun, artifact_id,
                    getattr(exc, "orig", None) or exc,
                    exc_info=not is_unavailable(exc))
            with self._retry_lock:
                self._retry.append((atype, artifact_id, work, via, initial))

    def _upload_failed(self, ctx, atype, artifact_id, field, error=None):
        """Say that an upload ended without data (``upload_failed`` with
        ``error``, by default the exception being handled)."""
        self.engine.events.emit("upload_failed", ctx, atype, artifact_id,
                                field=field, error=error or sys.exc_info()[1])

    def _import_failed(self, ctx, atype, artifact_id, error=None):
        self.engine.events.emit("import_failed", ctx, atype, artifact_id,
                                error=error or sys.exc_info()[1])

    def retry_releases(self):
        """Retry releases that failed (see ``_release``); returns how many
        were pending."""
        with self._retry_lock:
            pending, self._retry = self._retry, []
        for args in pending:
            self._release(*args, retrying=True)
        with self._retry_lock:
            left = len(self._retry)
        if pending and not left:
            LOG.info("Released %d upload(s) that had to wait for the "
                     "database", len(pending))
        return len(pending)

    # ------------------------------------------------------------- staging

    @releases_reservations
    def import_staged(self, ctx, atype, artifact_id, staged="staging",
                      field="image", properties=None, stores=None,
                      all_must_succeed=True):
        """Make staged data the artifact's data in ``stores`` (ids; None:
        the type's or default store).

        The staging flow's status (images: ``uploading``) moves to its
        ``importing`` status while the data is copied into each store (one
        streamed pass each, digests checked; the type's filters see the
        first), then to active with every copy as a location, in one
        transaction.  A store that fails is skipped unless
        ``all_must_succeed``.  Data the type's hooks refuse is dropped and
        the artifact is back in its initial status; any other failure (a
        store, a crash) keeps the staged data and the staging status, so
        the import can be tried again.  ``properties``: a mapping, or a
        function of the failed store ids giving one, set with the data.
        Returns the failed store ids."""
        engine = self.engine
        flow = atype.data_flows[staged]
        artifact = engine.authorize(ctx, atype, artifact_id, "update")
        blobs = [b for b in artifact["blobs"] if b["field"] == staged
                 and b["status"] == "active"]
        if artifact["status"] != flow.to or not blobs:
            raise errors.Conflict("%s %s has no staged data to import."
                                  % (atype.noun.capitalize(), artifact_id))
        blob = blobs[0]
        for hook in atype.hooks.get("pre_upload", ()):
            hook(ctx, artifact, field=field, path="")
        engine.quotas.warm(artifact.get("owner"))
        work = self._import_claim(atype, artifact_id, flow, field,
                                  artifact.get("owner"))
        engine.events.emit("import_start", ctx, atype, artifact_id,
                           dict(artifact, status=flow.importing))
        made, failed, meters = [], [], []
        try:
            targets = [self.stores.for_new(atype, field, requested=s)
                       for s in (stores or [None])]
            states, in_place = self._copy_staged(
                ctx, atype, artifact, blob, field, targets, made, failed,
                all_must_succeed, work, meters)
        except BaseException:
            self._release(atype, artifact_id, work, flow.importing, flow.to)
            self._import_failed(ctx, atype, artifact_id)
            raise
        try:
            values = dict(properties(failed) if callable(properties)
                          else properties or {})
            values.update(self._recorded(ctx, atype, artifact, blob, field,
                                         states))
        except errors.ArtifactError:
            # The type refuses the data: drop it; the artifact is back in
            # its initial status and can be staged anew.
            self._release(atype, artifact_id, work, flow.importing)

            def reset(conn):
                db.set_properties(conn, artifact_id, {"size": None}
                                  if "size" in atype.fields else {})
                return db.retire_blobs(conn, artifact_id, staged)
            self.remove_data(transaction(self.db, reset))
            self._import_failed(ctx, atype, artifact_id)
            raise
        except BaseException:
            self._release(atype, artifact_id, work, flow.importing, flow.to)
            self._import_failed(ctx, atype, artifact_id)
            raise

        def finish(conn):
            if not db.set_status(conn, artifact_id, flow.importing,
                                 atype.active_status):
                return _gone_or_taken_over(conn, artifact_id)
            if not Writes.finish(conn, work.write_ids) or not conn.execute(
                    B.delete().where(B.c.id == work.claim,
                                     B.c.status == "saving")).rowcount:
                raise errors.Conflict(TAKEN_OVER)
            db.set_properties(conn, artifact_id, values)
            db.move_blob(conn, blob["id"], field)
            for meter in meters:
                meter.settle(conn)
            if in_place:
                return []
            # The staging copy goes; the copies in the target stores stay.
            db.set_location_status(conn, [loc["id"] for loc
                                          in blob["locations"]],
                                   "pending_delete")
            db.add_locations(conn, blob["id"], [
                {"store": target.name, "url": result.location}
                for target, result in made])
            return [blob]
        try:
            stale = transaction(self.db, finish)
        except BaseException:
            self._release(atype, artifact_id, work, flow.importing, flow.to)
            self._import_failed(ctx, atype, artifact_id)
            raise
        if stale is None:
            gone = errors.Gone("%s %s was deleted during the import."
                               % (atype.noun.capitalize(), artifact_id))
            self._release(atype, artifact_id, work)
            self._import_failed(ctx, atype, artifact_id, gone)
            raise gone
        engine.events.emit("import_done", ctx, atype, artifact_id,
                           stores=[t.name for t, _ in made])
        for blob in stale:
            self._remove_locations(blob, blob["locations"])
        LOG.info("Imported staged data into %s %s (stores %s)", atype.noun,
                 artifact_id, ", ".join(t.name for t, _ in made) or
                 "staging")
        return failed

    def _import_claim(self, atype, artifact_id, flow, field, owner=None):
        """Move the staged status to ``importing`` and claim ``field`` for
        this process in one transaction: the import has an owner that can
        be proven dead, like an upload.  A project already over its
        stored bytes (or with more artifacts on their way than its
        ``uploading_count``) is refused here, before anything changes."""
        def run(conn):
            if not db.set_status(conn, artifact_id, flow.to,
                                 flow.importing):
                raise busy
            self.engine.quotas.check_not_over(conn, atype, owner)
            now = db.utcnow()
            work = _Work(conn.execute(B.insert().values(
                artifact_id=artifact_id, field=field, path="", position=0,
                slot=_claim_slot(field, ""), status="saving",
                external=False, holder=instance.current(), created_at=now,
                updated_at=now)).inserted_primary_key[0])
            self.engine.quotas.check_uploading(conn, atype, owner)
            return work
        busy = errors.Conflict("%s %s changed status; another import may be "
                               "in progress." % (atype.noun.capitalize(),
                                                 artifact_id))
        try:
            return transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise busy

    def discard_staged(self, atype, artifact_id, staged="staging"):
        """Drop staged data that will not be imported (a fetch whose
        import failed): the artifact goes from the staging flow's status
        back to its initial one and the staged data is deleted.  Nothing
        happens when the artifact is no longer in that status (another
        upload won, or it was deleted).  True if it was discarded."""
        return self._unstage(atype, artifact_id, staged,
                             atype.data_flows[staged].to)

    def _unstage(self, atype, artifact_id, staged, status):
        def run(conn):
            if not db.set_status(conn, artifact_id, status,
                                 atype.initial_status):
                return None
            db.set_properties(conn, artifact_id, {"size": None}
                              if "size" in atype.fields else {})
            return db.retire_blobs(conn, artifact_id, staged)
        retired = transaction(self.db, run)
        self.remove_data(retired or [])
        return retired is not None

    def _copy_staged(self, ctx, atype, artifact, blob, field, targets, made,
                     failed, all_must_succeed, work, meters):
        """Copy staged data into each target (appending ``(target,
        result)`` to ``made``, each write recorded in ``work``); returns
        (the type's filter states, whether the staging store is the only
        target so nothing was copied).  Staged data is not stored data
        (``artifacts.quota_usage``): every copy is metered against the
        owner's byte quotas (its meter appended to ``meters``, settled
        when the import commits); data that stays where it was staged is
        checked once, as it starts to count, when the import commits."""
        first = targets[0]
        in_place = len(targets) == 1 and any(
            loc["store"] == first.name for loc in blob["locations"])
        if in_place:
            meters.append(_InPlace(self.engine.quotas.meter(
                atype, artifact), blob["size"] or 0))
            return self._inspect_stored(ctx, atype, artifact, blob,
                                        field), True
        beat = self._heartbeat(work)
        meter = self.engine.quotas.meter(atype, artifact)
        result, states = self._copy(
            atype, artifact["id"], field, blob, first, work,
            through=lambda chunks: self._filter(ctx, atype, artifact,
                                                chunks, field),
            on_chunk=meter.wrap(beat))
        meters.append(meter)
        made.append((first, result))
        for target in targets[1:]:
            meter = self.engine.quotas.meter(atype, artifact)
            try:
                made.append((target, self._copy(
                    atype, artifact["id"], field, blob, target, work,
                    on_chunk=meter.wrap(beat))[0]))
                meters.append(meter)
            except (errors.StoreUnavailable, errors.RequestTooLarge):
                if all_must_succeed:
                    raise
                LOG.warning("Import of %s %s into store %s failed; going on "
                            "without it", atype.noun, artifact["id"],
                            target.name, exc_info=True)
                failed.append(target.name)
        return states, False

    def _recorded(self, ctx, atype, artifact, blob, field, states):
        """What the type's post_upload hooks record about staged data."""
        result = streaming.WriteResult(
            location=blob["locations"][0]["url"], size=blob["size"],
            digests={a: blob[a] for a in DIGEST_COLUMNS if blob[a]})
        values = {}
        for hook in atype.hooks.get("post_upload", ()):
            values.update(hook(ctx, artifact, result=result, field=field,
                               path="", states=states,
                               algorithm=self.limits.hashing_algorithm)
                          or {})
        return values

    def _inspect_stored(self, ctx, atype, artifact, blob, field):
        """Run the upload filters over data already stored."""
        if not atype.hooks.get("upload_filter"):
            return []
        reader = open_locations(self.stores, blob)
        try:
            chunks, states = self._filter(ctx, atype, artifact,
                                          _blocks(reader), field)
            for _ in chunks:
                pass
        finally:
            reader.close()
        return states

    def _copy(self, atype, artifact_id, field, blob, target, work,
              through=None, on_chunk=None):
        """Copy a blob's data into ``target`` in one streamed pass, every
        byte checked against the digests it was stored with (a copy that
        differs is never committed).  The write is recorded in ``work``
        before its first byte; a failed copy leaves nothing (and no
        record).  ``through(chunks) -> (chunks, states)`` lets the type's
        filters see the bytes on the way.  Returns (WriteResult, states)."""
        expected = {a: blob[a] for a in self.digests_of(atype)
                    if a in DIGEST_COLUMNS and blob.get(a)}
        key = self._new_key(artifact_id, field)
        write = (self.writes.start(target.name, key, artifact_id),
                 target.name, key)
        work.writes.append(write)
        try:
            reader = open_locations(self.stores, blob)
            try:
                chunks, states = (through or (lambda c: (c, [])))(
                    _blocks(reader))
                result = streaming.write_stream(
                    target, key, chunks,
                    algorithms=tuple(expected) or ("md5",),
                    expected_digests=expected, max_size=blob["size"],
                    on_chunk=on_chunk)
            finally:
                reader.close()
            if blob["size"] is not None and result.size != blob["size"]:
                raise errors.StoreUnavailable(
                    "The copy in store '%s' has %d bytes, not %d."
                    % (target.name, result.size, blob["size"]))
        except BaseException:
            work.writes.remove(write)
            try:
                self.writes.abandon([write])
            except Exception:  # noqa: BLE001 - its lease runs out instead
                LOG.warning("Could not drop the record of a failed copy "
                            "into %s", target.name, exc_info=True)
            raise
        return result, states

    # ------------------------------------------------------ external data

    def register_external(self, ctx, atype, artifact_id, field, url, path="",
                          size=None, digests=None):
        """Make ``url`` the data of a blob (or folder path) without copying
        it; checked against the operator's policy and never fetched by
        Glare (downloads redirect), so it cannot be used for SSRF."""
        engine = self.engine
        fdef, path = self._data_field(atype, field, path, for_write=True)
        if atype.checks_data(field):
            # Its hooks judge the bytes (a package is unpacked and
            # validated, an image's format inspected); bytes Glare never
            # sees would skip them, and the artifact could be activated
            # with nothing checked.
            raise errors.Invalid(
                "Field '%s' of %s cannot hold an external URL: its data is "
                "checked when it is uploaded; upload the data instead."
                % (field, atype.name))
        url = external.check_url(url, engine.external_policy)
        digests = external.check_digests(digests)
        if size is not None and (not isinstance(size, int)
                                 or isinstance(size, bool) or size < 0):
            raise errors.Invalid("size must be a non-negative integer.")
        artifact, membership = engine._fetch(ctx, atype, artifact_id)
        engine.enforcer.enforce(ctx, atype.rule("upload"),
                                engine._target(artifact, ctx, membership))

        def run(conn):
            row = db.get(conn, artifact_id, atype.name, details=False)
            if row is None:
                raise errors.NotFound("No %s found with ID %s"
                                      % (atype.noun, artifact_id))
            if not self._writable_status(atype, fdef, row["status"]):
                raise errors.Forbidden(
                    "Field '%s' cannot change once the %s is %s."
                    % (field, atype.noun, row["status"]))
            _refuse_twin(field, path, self._live_twin(conn, artifact_id,
                                                      field, path))
            retired = db.retire_blobs(conn, artifact_id, field, path)
            db.insert_blob(conn, artifact_id, field, dict(
                status="active", size=size, external=True,
                **{a: digests.get(a) for a in ("md5", "sha1", "sha256")}),
                path=path, locations=[{"store": None, "url": url}])
            return retired
        with engine._locked(atype, artifact_id, "upload"):
            retired = transaction(self.db, run)
        engine.events.emit("upload_done", ctx, atype, artifact_id,
                           field=field, path=path, store=None, external=True)
        self.remove_data(retired)

    # ----------------------------------------------------------- locations

    def _located_blob(self, ctx, atype, artifact_id, field, rule):
        """(artifact, live blob) after the visibility check and ``rule``."""
        artifact = self.engine.authorize(ctx, atype, artifact_id, rule)
        for blob in artifact["blobs"]:
            if blob["field"] == field and not blob["path"] and \
                    blob["status"] == "active":
                return artifact, blob
        return artifact, None

    @releases_reservations
    def copy_to_store(self, ctx, atype, artifact_id, field, store_id,
                      rule="copy", on_chunk=None):
        """Copy a blob's data into one more store, every byte checked
        against its digests; the new location is appended.  The artifact
        must be active and the store must not already hold the data.
        ``on_chunk(total)`` is called as the bytes go (heartbeats).  The
        copy takes space: it is metered against the owner's byte quotas
        like an upload (413 when it does not fit, nothing left behind)."""
        target = self.stores.for_new(atype, field, requested=store_id)
        artifact, blob = self._located_blob(ctx, atype, artifact_id, field,
                                            rule)
        if artifact["status"] != atype.active_status or blob is None:
            raise errors.Conflict("Only %ss with status %s can be copied."
                                  % (atype.noun, atype.active_status))
        if any(loc["store"] == store_id for loc in blob["locations"]):
            raise errors.Conflict("The data of %s %s is already in store "
                                  "'%s'." % (atype.noun, artifact_id,
                                             store_id))
        work = _Work()
        meter = self.engine.quotas.meter(atype, artifact)
        self.engine.events.emit("copy_start", ctx, atype, artifact_id,
                                artifact, field=field, store=store_id)
        try:
            result, _ = self._copy(
                atype, artifact_id, field, blob, target, work,
                on_chunk=meter.wrap(self._heartbeat(work, also=on_chunk)))
        except BaseException as exc:
            self.engine.events.emit("copy_failed", ctx, atype, artifact_id,
                                    field=field, store=store_id, error=exc)
            raise

        def run(conn):
            row = conn.execute(sa.select(B.c.id).where(
                B.c.id == blob["id"], B.c.status == "active")).first()
            if row is None:
                return "gone"
            if conn.execute(sa.select(db.L.c.id).where(
                    db.L.c.blob_id == blob["id"], db.L.c.store == store_id,
                    db.L.c.status == "active")).first():
                return "there"      # a concurrent copy finished first
            if not Writes.finish(conn, work.write_ids):
                raise errors.Conflict(TAKEN_OVER)
            db.add_locations(conn, blob["id"], [{"store": store_id,
                                                  "url": result.location}])
            meter.settle(conn)
            return "added"
        try:
            with self.engine._locked(atype, artifact_id, "copy"):
                outcome = transaction(self.db, run)
        except BaseException:
            self._release(atype, artifact_id, work)
            raise
        if outcome != "added":
            self._release(atype, artifact_id, work)
        if outcome == "gone":
            raise errors.Gone("%s %s changed or was deleted during the copy."
                              % (atype.noun.capitalize(), artifact_id))
        if outcome == "there":
            raise errors.Conflict("The data of %s %s is already in store "
                                  "'%s'." % (atype.noun, artifact_id,
                                             store_id))
        LOG.info("Copied %s %s (%d bytes) into store %s", atype.noun,
                 artifact_id, result.size, store_id)
        self.engine.events.emit("copy_done", ctx, atype, artifact_id,
                                field=field, store=store_id)

    def remove_from_store(self, ctx, atype, artifact_id, field, store_id,
                          rule="delete_location"):
        """Delete one copy of a blob's data held by ``store_id`` (the first
        one, in read order).  Never the last location: the data must stay
        readable somewhere."""
        artifact, blob = self._located_blob(ctx, atype, artifact_id, field,
                                            rule)
        if artifact["status"] != atype.active_status or blob is None:
            raise errors.Conflict("%s %s is not %s; its data cannot be "
                                  "removed from a store."
                                  % (atype.noun.capitalize(), artifact_id,
                                     atype.active_status))
        if len(blob["locations"]) == 1:
            raise errors.Forbidden(
                "Cannot delete the data of %s %s from the only location "
                "holding it; delete the %s instead."
                % (atype.noun, artifact_id, atype.noun))
        mine = [loc for loc in self.stores.read_order(blob["locations"])
                if loc["store"] == store_id]
        if not mine:
            raise errors.NotFound("%s %s has no data in store '%s'."
                                  % (atype.noun.capitalize(), artifact_id,
                                     store_id))
        self._retire_locations(atype, artifact_id, blob, mine[:1])
        self.engine.events.emit("location_removed", ctx, atype, artifact_id,
                                field=field, store=store_id)

    def _retire_locations(self, atype, artifact_id, blob, locations):
        ids = [loc["id"] for loc in locations]

        def run(conn):
            moved = db.set_location_status(conn, ids, "pending_delete",
                                           expected="active")
            left = conn.execute(sa.select(sa.func.count()).select_from(
                db.L).where(db.L.c.blob_id == blob["id"],
                            db.L.c.status == "active")).scalar()
            if moved != len(ids) or left == 0:
                raise errors.Conflict("The locations of %s %s changed; try "
                                      "again." % (atype.noun, artifact_id))
        with self.engine._locked(atype, artifact_id, "location"):
            transaction(self.db, run)
        self._remove_locations(blob, locations)

    # ------------------------------------------------------------ download

    def open(self, ctx, atype, artifact_id, field, path="", required=True):
        """A ``Download`` of a file the caller may read.  ``required``
        False: an artifact without data gives a Download whose blob is
        None (the Image API answers 204) instead of NotFound."""
        engine = self.engine
        _, path = self._data_field(atype, field, path, for_write=False)
        artifact, membership = engine._fetch(ctx, atype, artifact_id)
        engine.enforcer.enforce(ctx, atype.rule("download"),
                                engine._target(artifact, ctx, membership))
        if artifact["status"] == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden("The requested %s has been deactivated. "
                                   "%s data download is forbidden."
                                   % (atype.noun, atype.noun.capitalize()))
        engine._hooks(atype, "pre_download", ctx, artifact, field=field,
                      path=path)
        for blob in artifact["blobs"]:
            if blob["field"] == field and blob["path"] == path and \
                    blob["status"] == "active":
                return Download(artifact, blob, self.stores)
        if not required:
            return Download(artifact, None, self.stores)
        raise errors.NotFound("%s %s has no data in %s%s."
                              % (atype.noun.capitalize(), artifact_id, field,
                                 "/" + path if path else ""))

    # -------------------------------------------------------------- delete

    def delete(self, ctx, atype, artifact_id, field, path=""):
        """Remove one file (or the blob) of an artifact whose field may
        still change."""
        engine = self.engine
        fdef, path = self._data_field(atype, field, path, for_write=True)
        artifact, membership = engine._fetch(ctx, atype, artifact_id)
        engine.enforcer.enforce(ctx, atype.rule("upload"),
                                engine._target(artifact, ctx, membership))
        if not self._writable_status(atype, fdef, artifact["status"]):
            raise errors.Forbidden("Field '%s' cannot change once the %s is "
                                   "%s." % (field, atype.noun,
                                            artifact["status"]))
        retired = transaction(self.db, lambda conn: db.retire_blobs(
            conn, artifact_id, field, path))
        if not retired:
            raise errors.NotFound("%s %s has no data in %s%s."
                                  % (atype.noun.capitalize(), artifact_id,
                                     field, "/" + path if path else ""))
        self.remove_data(retired)

    def remove_data(self, blobs):
        """Delete retired blobs' data from every location; a blob whose
        data is all gone is forgotten (its rows with it, one transaction).
        Locations that fail stay pending_delete so that ``glare scrub``
        can finish the job."""
        for blob in blobs:
            removed, failed = self._delete_data(blob, blob["locations"])
            if not failed:
                transaction(self.db, lambda c: db.forget_blob(c, blob["id"]))
            elif removed:
                transaction(self.db, lambda c: db.set_location_status(
                    c, removed, "deleted"))

    def _remove_locations(self, blob, locations):
        """Delete the data of some pending locations of a live blob and
        mark them deleted; failures stay pending_delete for the scrub."""
        removed, _ = self._delete_data(blob, locations)
        if removed:
            transaction(self.db, lambda c: db.set_location_status(
                c, removed, "deleted"))

    def _delete_data(self, blob, locations):
        """Delete the data behind ``locations`` from their stores (never
        for an external blob: its URL is not ours); returns the ids of
        the locations whose data is gone and of those that failed."""
        removed, failed = [], []
        for loc in locations:
            if blob.get("external"):
                removed.append(loc["id"])
                continue
            store_id = loc["store"] or self.stores.owner_of(loc["url"])
            try:
                if store_id is None:
                    raise errors.StoreUnavailable("no store owns it")
                driver = self.stores.driver(store_id)
                if driver.read_only and not getattr(
                        driver, "delete_leaves_data", False):
                    # A location in a store Glare only reads (an http
                    # server, a read-only directory) was named by a
                    # client: its data is not Glare's to delete.
                    LOG.info("Data at %s is left in read-only store %s",
                             redact(loc["url"]), store_id)
                    removed.append(loc["id"])
                    continue
                driver.delete(loc["url"])
            except Exception:  # noqa: BLE001 - the scrubber retries
                LOG.exception("Could not delete data at %s (store %s); left "
                              "for scrub", loc["url"], store_id)
                failed.append(loc["id"])
                continue
            removed.append(loc["id"])
        return removed, failed

    def scrub(self, batch=100):
        """Finish deletions that left pending_delete data behind."""
        total = 0
        while True:
            rows = read(self.db, lambda c: db.pending_blobs(c, batch))
            locs = read(self.db, lambda c: db.pending_locations(c, batch))
            if not rows and not locs:
                return total
            self.remove_data(rows)
            for loc in locs:
                self._remove_locations({"external": False}, [loc])
            total += len(rows) + len(locs)
            if len(rows) < batch and len(locs) < batch:
                return total

    # ------------------------------------------------------------ recovery

    def recover_stale_uploads(self, atypes):
        """Release the uploads, imports, store writes and data jobs of dead
        processes (see ``artifacts.recovery``); returns how many."""
        return recovery.recover(self, atypes)

    def uploads_in_progress(self, artifact_id):
        return read(self.db, lambda c: c.execute(
            sa.select(sa.func.count()).select_from(B).where(
                B.c.artifact_id == artifact_id,
                B.c.status == "saving")).scalar())


def _gone_or_taken_over(conn, artifact_id):
    """Why a finishing status change found another status: the artifact
    was deleted (None: the caller answers Gone), or recovery released the
    upload as stalled and put the status back (Conflict)."""
    if db.get(conn, artifact_id, details=False) is None:
        return None
    raise errors.Conflict(TAKEN_OVER)


def _blocks(reader, size=1 << 20):
    """A reader's data as an iterator of blocks."""
    return iter(lambda: reader.read(size), b"")


def _transition(atype, status, via):
    return errors.Conflict("%s status transition from %s to %s is not "
                           "allowed" % (atype.noun.capitalize(), status, via))
