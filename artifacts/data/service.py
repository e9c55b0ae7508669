"""``DataService``, the engine's collaborator for data (``engine.data``):
the checks every data operation makes, the upload (claim, heartbeat,
release, finish), the download, and the verified copy that imports and
store copies stream through.  See the package docstring for the contract;
the other operations live in ``imports``, ``copies`` and ``removal``."""

import datetime
import logging
import sys
import threading
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, instance, paths, recovery
from artifacts.data import common, copies, imports, removal
from artifacts.data.common import (B, DIGEST_COLUMNS, HEARTBEAT_SECONDS,
                                   TAKEN_OVER)
from artifacts.db import api as db
from artifacts.db.session import is_unavailable, read, transaction
from artifacts.quotas import releases_reservations
from artifacts.recovery import Writes
from artifacts.stores import streaming
from artifacts.stores.placement import Download, open_locations

LOG = logging.getLogger(__name__)


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
            raise common.transition(atype, status, flow.via)
        for hook in atype.hooks.get("pre_upload", ()):
            hook(ctx, artifact, field=field, path=path)
        common.refuse_twin(field, path, common.case_twin(
            field, path, artifact["blobs"]))
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
            [write_id] = [w[0] for w in work.writes if w[2] == key]
            result = streaming.write_stream(
                target, key, chunks, algorithms=self.digests_of(atype),
                max_size=limit, on_chunk=meter.wrap(self._heartbeat(work)),
                too_large_message=too_large,
                note=self.writes.noter(write_id))
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
            recording = common.Recording(self, target, artifact_id, work)
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
                return common.gone_or_taken_over(conn, artifact_id)
        elif flow is not None:
            # The status compare-and-swap also fails on a deleted one.
            if not db.set_status(conn, artifact_id, flow.via, flow.to):
                return common.gone_or_taken_over(conn, artifact_id)
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
        common.refuse_twin(field, path, self._live_twin(
            conn, artifact_id, field, path))
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
        return common.case_twin(field, path, [
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
        Returns the upload's ``common.Work``."""
        slot = common.claim_slot(field, path)
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
                    raise common.transition(atype, status, flow.via)
            work = common.Work(conn.execute(B.insert().values(
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
                raise common.transition(atype, flow.via, flow.via)
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

    # ------------------------------------------------ the verified copy

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
                    common.blocks(reader))
                result = streaming.write_stream(
                    target, key, chunks,
                    algorithms=tuple(expected) or ("md5",),
                    expected_digests=expected, max_size=blob["size"],
                    on_chunk=on_chunk, note=self.writes.noter(write[0]))
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

    # ----------------------------- imports, copies, removal (modules)

    def import_staged(self, ctx, atype, artifact_id, staged="staging",
                      field="image", properties=None, stores=None,
                      all_must_succeed=True):
        """Make staged data the artifact's data in ``stores``; returns the
        failed store ids (``imports.import_staged``)."""
        return imports.import_staged(
            self, ctx, atype, artifact_id, staged, field=field,
            properties=properties, stores=stores,
            all_must_succeed=all_must_succeed)

    def discard_staged(self, atype, artifact_id, staged="staging"):
        """Drop staged data that will not be imported
        (``imports.discard_staged``)."""
        return imports.discard_staged(self, atype, artifact_id, staged)

    def register_external(self, ctx, atype, artifact_id, field, url, path="",
                          size=None, digests=None):
        """Make ``url`` a blob's data without copying it
        (``copies.register_external``)."""
        return copies.register_external(self, ctx, atype, artifact_id, field,
                                        url, path=path, size=size,
                                        digests=digests)

    def copy_to_store(self, ctx, atype, artifact_id, field, store_id,
                      rule="copy", on_chunk=None):
        """Copy a blob's data into one more store
        (``copies.copy_to_store``)."""
        return copies.copy_to_store(self, ctx, atype, artifact_id, field,
                                    store_id, rule=rule, on_chunk=on_chunk)

    def remove_from_store(self, ctx, atype, artifact_id, field, store_id,
                          rule="delete_location"):
        """Delete one copy of a blob's data, never the last
        (``copies.remove_from_store``)."""
        return copies.remove_from_store(self, ctx, atype, artifact_id, field,
                                        store_id, rule=rule)

    def remove_data(self, blobs):
        """Delete retired blobs' data (``removal.remove_data``)."""
        return removal.remove_data(self, blobs)

    def remove_locations(self, blob, locations):
        """Delete the data of pending locations of a live blob
        (``removal.remove_locations``)."""
        return removal.remove_locations(self, blob, locations)

    def scrub(self, batch=100):
        """Finish deletions that left data behind (``removal.scrub``)."""
        return removal.scrub(self, batch)

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
