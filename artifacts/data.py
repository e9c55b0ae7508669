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
import time
import uuid

import sqlalchemy as sa

from artifacts import errors, external
from artifacts.db import api as db
from artifacts.db.models import artifact_blobs
from artifacts.db.session import read, transaction
from artifacts.quotas import releases_reservations
from artifacts.stores import check_key, streaming
from artifacts.stores.placement import Download, open_locations

LOG = logging.getLogger(__name__)

B = artifact_blobs
HEARTBEAT_SECONDS = 30
DIGEST_COLUMNS = ("md5", "sha1", "sha256", "sha512")


def _claim_slot(field, path):
    return hashlib.sha1(("claim\x00%s\x00%s" % (field, path)).encode(
        "utf-8")).hexdigest()


class DataService:
    """Data operations of every type; see the module docstring.

    Uses the engine for what every operation shares: loading an artifact
    the caller may see (``_fetch``), policy targets, locks, hooks, quotas
    and limits."""

    def __init__(self, engine, stores):
        self.engine = engine
        self.stores = stores

    @property
    def db(self):
        return self.engine.db

    @property
    def limits(self):
        return self.engine.limits

    # ---------------------------------------------------------- the checks

    def _data_field(self, atype, field, path, for_write):
        flow = atype.data_flows.get(field)
        fdef = atype.field(field)
        if flow is not None and (fdef is None or fdef.kind == "blob"):
            if path:
                raise errors.NotFound("Field '%s' is a single blob; it has "
                                      "no path '%s'." % (field, path))
            return fdef
        if fdef is None or not fdef.is_data:
            raise errors.NotFound("%s has no blob or folder field '%s'."
                                  % (atype.name, field))
        if fdef.kind == "folder":
            if not path:
                raise errors.Invalid("Field '%s' is a folder: name a file "
                                     "inside it (%s/<path>)." % (field,
                                                                 field))
            check_key(path)
        elif path:
            raise errors.NotFound("Field '%s' is a single blob; it has no "
                                  "path '%s'." % (field, path))
        if for_write and fdef.system:
            raise errors.Forbidden("Field '%s' is filled by the service."
                                   % field)
        return fdef

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
               store=None):
        """Stream ``chunks`` into a blob field, a folder path or a flow
        field (images' ``image`` and ``staging``); ``store`` names the
        store to write to (None: the type's or the default one)."""
        engine = self.engine
        fdef = self._data_field(atype, field, path, for_write=True)
        flow = atype.data_flows.get(field)
        artifact, membership = engine._fetch(ctx, atype, artifact_id)
        engine.enforcer.enforce(ctx, atype.rule("upload"),
                                engine._target(artifact, ctx, membership))
        status = artifact["status"]
        if flow is None and not self._writable_status(atype, fdef, status):
            raise errors.Forbidden(
                "Field '%s' cannot change once the %s is %s."
                % (field, atype.noun, status))
        if flow is not None and status not in (atype.initial_status,
                                               flow.via):
            raise _transition(atype, status, flow.via)
        for hook in atype.hooks.get("pre_upload", ()):
            hook(ctx, artifact, field=field, path=path)
        limit = self._size_limit(fdef, artifact, field, path)
        target = self.stores.for_new(atype, field, requested=store,
                                     staging=bool(flow and flow.staging))
        meter = engine.quotas.meter(atype, artifact)
        too_large = flow.too_large if flow and flow.too_large else (
            "The data is larger than field '%s' allows (%s bytes)."
            % (field, limit))
        claim = self._claim(atype, artifact_id, field, path, flow)
        try:
            chunks, states = self._filter(ctx, atype, artifact, chunks, field)
            result = streaming.write_stream(
                target, self._new_key(artifact_id, field), chunks,
                algorithms=self.digests_of(atype),
                max_size=limit, on_chunk=meter.wrap(self._heartbeat(claim)),
                too_large_message=too_large)
        except BaseException:
            self._release(atype, artifact_id, claim, flow)
            raise
        made = [result]
        try:
            values = {}
            for hook in atype.hooks.get("post_upload", ()):
                values.update(hook(ctx, artifact, result=result, field=field,
                                   path=path, states=states,
                                   algorithm=self.limits.hashing_algorithm)
                              or {})
            # Hooks may derive more files from the data (vnf_packages
            # unpacks its CSAR into a folder); a refusal leaves nothing.
            derived = []
            for hook in atype.hooks.get("blob_uploaded", ()):
                derived.extend(hook(ctx, artifact, field=field, path=path,
                                    result=result, store=target) or ())
            made.extend(d[2] for d in derived)
            with engine._locked(atype, artifact_id, "upload"):
                retired = transaction(self.db, lambda conn: self._finish(
                    conn, atype, artifact_id, field, path, fdef, flow, claim,
                    target, result, values, derived, meter))
        except BaseException:
            self._discard(target, made)
            self._release(atype, artifact_id, claim, flow)
            raise
        if retired is None:
            self._discard(target, made)
            self._release(atype, artifact_id, claim, flow)
            raise errors.Gone("%s %s could not be found after upload. The %s "
                              "may have been deleted during the upload."
                              % (atype.noun.capitalize(), artifact_id,
                                 atype.noun))
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
                claim, target, result, values, derived, meter):
        """The transaction that makes the upload live; None if the artifact
        is gone."""
        if flow is not None:
            # The status compare-and-swap also fails on a deleted one.
            if not db.set_status(conn, artifact_id, flow.via, flow.to):
                return None
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
        retired = db.retire_blobs(conn, artifact_id, field, path)
        conn.execute(B.update().where(B.c.id == claim).values(
            slot=db.blob_slot(field, path), status="active",
            size=result.size, updated_at=db.utcnow(),
            **{a: result.digests.get(a) for a in DIGEST_COLUMNS}))
        db.add_locations(conn, claim, [{"store": target.name,
                                        "url": result.location}], first=True)
        for derived_field in {d[0] for d in derived}:
            retired.extend(db.retire_blobs(conn, artifact_id, derived_field))
        for derived_field, derived_path, made in derived:
            db.insert_blob(conn, artifact_id, derived_field, dict(
                status="active", size=made.size, external=False,
                **{a: made.digests.get(a) for a in DIGEST_COLUMNS}),
                path=derived_path,
                locations=[{"store": target.name, "url": made.location}])
        if values:
            db.set_properties(conn, artifact_id, values)
        meter.settle(conn, unmetered=sum(d[2].size for d in derived))
        return retired

    def _filter(self, ctx, atype, artifact, chunks, field):
        """Pass the stream through the type's upload filters (which may
        observe or transform it); returns (chunks, their states)."""
        states = []
        for hook in atype.hooks.get("upload_filter", ()):
            chunks, state = hook(ctx, artifact, chunks, field=field)
            states.append(state)
        return chunks, states

    def _status_heartbeat(self, artifact_id, status):
        """Refresh ``updated_at`` of an artifact in ``status`` while its
        data is being worked on, so that recovery can tell a live import
        from one whose worker died."""
        beat = {"at": time.monotonic()}

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(
                    db.A.update().where(db.A.c.id == artifact_id,
                                        db.A.c.status == status)
                    .values(updated_at=db.utcnow())))
        return heartbeat

    def _heartbeat(self, claim):
        beat = {"at": time.monotonic()}

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(
                    B.update().where(B.c.id == claim).values(
                        updated_at=db.utcnow())))
        return heartbeat

    def _claim(self, atype, artifact_id, field, path, flow):
        """Insert the ``saving`` row that makes this upload the only one
        and, for a flow, move the status (under the artifact's lock, as
        every status change).  Only when that fails is a stale upload
        looked for and taken over, so the common path is two statements."""
        slot = _claim_slot(field, path)
        now = db.utcnow()
        stale = now - datetime.timedelta(
            seconds=self.limits.stale_upload_seconds)

        def run(conn, takeover):
            dead = 0
            if takeover:
                dead = conn.execute(B.delete().where(
                    B.c.artifact_id == artifact_id, B.c.slot == slot,
                    B.c.updated_at < stale)).rowcount
                if dead:
                    LOG.warning("Upload to %s %s (%s) stalled; taking it "
                                "over", atype.noun, artifact_id, field)
            if flow is not None and not db.set_status(
                    conn, artifact_id, atype.initial_status, flow.via):
                row = db.get(conn, artifact_id, details=False)
                status = row["status"] if row else flow.via
                # Stuck in ``via`` with no live upload (its claim was
                # stale, or it has none and no heartbeat): take it over.
                orphan = row is not None and status == flow.via and (
                    dead or (row["updated_at"] < stale and not conn.execute(
                        sa.select(B.c.id).where(
                            B.c.artifact_id == artifact_id,
                            B.c.status == "saving")).first()))
                if not orphan:
                    raise _transition(atype, status, flow.via)
            return conn.execute(B.insert().values(
                artifact_id=artifact_id, field=field, path=path, position=0,
                slot=slot, status="saving", external=False, created_at=now,
                updated_at=now)).inserted_primary_key[0]

        def attempt(takeover):
            if flow is None:
                return transaction(self.db, lambda c: run(c, takeover))
            with self.engine._locked(atype, artifact_id, "upload"):
                return transaction(self.db, lambda c: run(c, takeover))
        try:
            try:
                return attempt(takeover=False)
            except (sa.exc.IntegrityError, errors.Conflict):
                return attempt(takeover=True)
        except sa.exc.IntegrityError:
            if flow is not None:
                raise _transition(atype, flow.via, flow.via)
            raise errors.Conflict("Field '%s'%s is being uploaded by another "
                                  "request; try again when it has finished."
                                  % (field, " path '%s'" % path if path
                                     else ""))

    def _release(self, atype, artifact_id, claim, flow):
        """Undo a claim: drop its row, put a flow's status back."""
        def run(conn):
            db.forget_blob(conn, claim)
            if flow is not None:
                db.set_status(conn, artifact_id, flow.via,
                              atype.initial_status)
        transaction(self.db, run)

    def _discard(self, store, results):
        for made in results:
            try:
                store.delete(made.location)
            except Exception:  # noqa: BLE001 - nothing live refers to it
                LOG.exception("Could not delete unused data at %s",
                              made.location)

    # ------------------------------------------------------------- staging

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
        if not transaction(self.db, lambda c: db.set_status(
                c, artifact_id, flow.to, flow.importing)):
            raise errors.Conflict("%s %s changed status; another import may "
                                  "be in progress." % (
                                      atype.noun.capitalize(), artifact_id))
        targets = [self.stores.for_new(atype, field, requested=s)
                   for s in (stores or [None])]
        made, failed = [], []
        beat = self._status_heartbeat(artifact_id, flow.importing)
        try:
            states, in_place = self._copy_staged(ctx, atype, artifact, blob,
                                                 field, targets, made,
                                                 failed, all_must_succeed,
                                                 beat)
        except BaseException:
            self._discard_made(made)
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, flow.importing, flow.to))
            raise
        try:
            values = dict(properties(failed) if callable(properties)
                          else properties or {})
            values.update(self._recorded(ctx, atype, artifact, blob, field,
                                         states))
        except errors.ArtifactError:
            # The type refuses the data: drop it; the artifact is back in
            # its initial status and can be staged anew.
            self._discard_made(made)
            self._unstage(atype, artifact_id, staged, flow.importing)
            raise
        except BaseException:
            self._discard_made(made)
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, flow.importing, flow.to))
            raise

        def finish(conn):
            if not db.set_status(conn, artifact_id, flow.importing,
                                 atype.active_status):
                return None
            db.set_properties(conn, artifact_id, values)
            db.move_blob(conn, blob["id"], field)
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
        stale = transaction(self.db, finish)
        if stale is None:
            self._discard_made(made)
            raise errors.Gone("%s %s was deleted during the import."
                              % (atype.noun.capitalize(), artifact_id))
        for blob in stale:
            self._remove_locations(blob, blob["locations"])
        LOG.info("Imported staged data into %s %s (stores %s)", atype.noun,
                 artifact_id, ", ".join(t.name for t, _ in made) or
                 "staging")
        return failed

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
                     failed, all_must_succeed, beat):
        """Copy staged data into each target (appending to ``made``);
        returns (the type's filter states, whether the staging store is
        the only target so nothing was copied)."""
        first = targets[0]
        in_place = len(targets) == 1 and any(
            loc["store"] == first.name for loc in blob["locations"])
        if in_place:
            return self._inspect_stored(ctx, atype, artifact, blob,
                                        field), True
        result, states = self._copy(
            atype, artifact["id"], field, blob, first,
            through=lambda chunks: self._filter(ctx, atype, artifact,
                                                chunks, field),
            on_chunk=beat)
        made.append((first, result))
        for target in targets[1:]:
            try:
                made.append((target, self._copy(
                    atype, artifact["id"], field, blob, target,
                    on_chunk=beat)[0]))
            except errors.StoreUnavailable:
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

    def _discard_made(self, made):
        for target, result in made:
            self._discard(target, [result])

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

    def _copy(self, atype, artifact_id, field, blob, target, through=None,
              on_chunk=None):
        """Copy a blob's data into ``target`` in one streamed pass, every
        byte checked against the digests it was stored with (a copy that
        differs is never committed).  ``through(chunks) -> (chunks,
        states)`` lets the type's filters see the bytes on the way.
        Returns (WriteResult, states)."""
        expected = {a: blob[a] for a in self.digests_of(atype)
                    if a in DIGEST_COLUMNS and blob.get(a)}
        reader = open_locations(self.stores, blob)
        try:
            chunks, states = (through or (lambda c: (c, [])))(
                _blocks(reader))
            result = streaming.write_stream(
                target, self._new_key(artifact_id, field), chunks,
                algorithms=tuple(expected) or ("md5",),
                expected_digests=expected, max_size=blob["size"],
                on_chunk=on_chunk)
        finally:
            reader.close()
        if blob["size"] is not None and result.size != blob["size"]:
            self._discard(target, [result])
            raise errors.StoreUnavailable(
                "The copy in store '%s' has %d bytes, not %d."
                % (target.name, result.size, blob["size"]))
        return result, states

    # ------------------------------------------------------ external data

    def register_external(self, ctx, atype, artifact_id, field, url, path="",
                          size=None, digests=None):
        """Make ``url`` the data of a blob (or folder path) without copying
        it; checked against the operator's policy and never fetched by
        Glare (downloads redirect), so it cannot be used for SSRF."""
        engine = self.engine
        fdef = self._data_field(atype, field, path, for_write=True)
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
            retired = db.retire_blobs(conn, artifact_id, field, path)
            db.insert_blob(conn, artifact_id, field, dict(
                status="active", size=size, external=True,
                **{a: digests.get(a) for a in ("md5", "sha1", "sha256")}),
                path=path, locations=[{"store": None, "url": url}])
            return retired
        with engine._locked(atype, artifact_id, "upload"):
            retired = transaction(self.db, run)
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

    def copy_to_store(self, ctx, atype, artifact_id, field, store_id,
                      rule="copy", on_chunk=None):
        """Copy a blob's data into one more store, every byte checked
        against its digests; the new location is appended.  The artifact
        must be active and the store must not already hold the data.
        ``on_chunk(total)`` is called as the bytes go (heartbeats)."""
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
        result, _ = self._copy(atype, artifact_id, field, blob, target,
                               on_chunk=on_chunk)

        def run(conn):
            row = conn.execute(sa.select(B.c.id).where(
                B.c.id == blob["id"], B.c.status == "active")).first()
            if row is None:
                return "gone"
            if conn.execute(sa.select(db.L.c.id).where(
                    db.L.c.blob_id == blob["id"], db.L.c.store == store_id,
                    db.L.c.status == "active")).first():
                return "there"      # a concurrent copy finished first
            db.add_locations(conn, blob["id"], [{"store": store_id,
                                                  "url": result.location}])
            return "added"
        with self.engine._locked(atype, artifact_id, "copy"):
            outcome = transaction(self.db, run)
        if outcome != "added":
            self._discard(target, [result])
        if outcome == "gone":
            raise errors.Gone("%s %s changed or was deleted during the copy."
                              % (atype.noun.capitalize(), artifact_id))
        if outcome == "there":
            raise errors.Conflict("The data of %s %s is already in store "
                                  "'%s'." % (atype.noun, artifact_id,
                                             store_id))
        LOG.info("Copied %s %s (%d bytes) into store %s", atype.noun,
                 artifact_id, result.size, store_id)

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
        self._data_field(atype, field, path, for_write=False)
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
        fdef = self._data_field(atype, field, path, for_write=True)
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
                self.stores.driver(store_id).delete(loc["url"])
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
        """Release uploads that stopped heartbeating for
        ``stale_upload_seconds`` (a killed worker or host): their claims
        go and a flow's status returns to the initial one, so the data can
        be uploaded again.  Also resets artifacts left in a flow's ``via``
        status without any claim (older data).  Returns how many."""
        cutoff = db.utcnow() - datetime.timedelta(
            seconds=self.limits.stale_upload_seconds)
        by_name = {t.name: t for t in atypes}

        def run(conn):
            count = 0
            stale = conn.execute(sa.select(
                B.c.id, B.c.artifact_id, B.c.field, db.A.c.type_name).join(
                db.A, db.A.c.id == B.c.artifact_id).where(
                B.c.status == "saving", B.c.updated_at < cutoff)).all()
            for row in stale:
                atype = by_name.get(row.type_name)
                flow = atype.data_flows.get(row.field) if atype else None
                db.forget_blob(conn, row.id)
                if flow is not None:
                    db.set_status(conn, row.artifact_id, flow.via,
                                  atype.initial_status)
                count += 1
            claimed = sa.select(B.c.artifact_id).where(
                B.c.status == "saving")
            for atype in atypes:
                back = {f.via: atype.initial_status
                        for f in atype.data_flows.values() if f.via != f.to}
                # An import whose worker died: back to its staged status,
                # the staged data kept, so it can be imported again.
                back.update({f.importing: f.to
                             for f in atype.data_flows.values()
                             if f.importing})
                for status, initial in back.items():
                    count += conn.execute(db.A.update().where(
                        db.A.c.type_name == atype.name,
                        db.A.c.status == status,
                        db.A.c.updated_at < cutoff,
                        db.A.c.id.not_in(claimed)).values(
                        status=initial, updated_at=db.utcnow(),
                        revision=db.A.c.revision + 1)).rowcount
            return count
        count = transaction(self.db, run)
        if count:
            LOG.warning("Released %d stalled upload(s)", count)
        return count

    def uploads_in_progress(self, artifact_id):
        return read(self.db, lambda c: c.execute(
            sa.select(sa.func.count()).select_from(B).where(
                B.c.artifact_id == artifact_id,
                B.c.status == "saving")).scalar())


def _blocks(reader, size=1 << 20):
    """A reader's data as an iterator of blocks."""
    return iter(lambda: reader.read(size), b"")


def _transition(atype, status, via):
    return errors.Conflict("%s status transition from %s to %s is not "
                           "allowed" % (atype.noun.capitalize(), status, via))
