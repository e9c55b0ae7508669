"""Engine operations on blob and folder fields of artifact types.

Part of the engine (mixed into ``artifacts.engine.Engine``).  A blob field
holds one file; a folder field holds files under nested paths (checked by
``artifacts.stores.check_key``: no ``..``, no absolute paths, no NUL,
bounded length and depth).  Each file is one ``artifact_blobs`` row.

Exactly one concurrent upload into a blob (or folder path) wins: an upload
first inserts a ``saving`` row whose claim slot is unique, so a second one
gets 409.  The new data only replaces the old at the end, in one
transaction that retires the old row to ``pending_delete``; the old data is
then removed from the store, so re-uploading never leaks an object.  A claim
whose upload stopped heartbeating is stale and may be taken over.
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

LOG = logging.getLogger(__name__)

B = artifact_blobs
HEARTBEAT_SECONDS = 30
BLOB_DIGESTS = ("md5", "sha1", "sha256")


def _claim_slot(field, path):
    return hashlib.sha1(("claim\x00%s\x00%s" % (field, path)).encode(
        "utf-8")).hexdigest()


class Blobs:

    def _data_field(self, atype, field, path, for_write):
        fdef = atype.field(field)
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

    def _size_limit(self, fdef, artifact, field, path):
        """Bytes this upload may take, and a check of the folder's count."""
        limit = self.limits.max_blob_size
        if fdef.kind == "blob":
            if fdef.max_size is not None:
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

    @releases_reservations
    def upload_blob(self, ctx, atype, artifact_id, field, chunks, path=""):
        """Stream ``chunks`` into a blob field or a folder path."""
        fdef = self._data_field(atype, field, path, for_write=True)
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("upload"),
                              self._target(artifact, ctx, membership))
        status = artifact["status"]
        if status != atype.initial_status and not (
                fdef.mutable and status == atype.active_status):
            raise errors.Forbidden(
                "Field '%s' cannot change once the %s is %s."
                % (field, atype.noun, status))
        limit = self._size_limit(fdef, artifact, field, path)
        meter = self.quotas.meter(atype, artifact)
        claim = self._claim(artifact_id, field, path)
        store = self.store_for(atype, field)
        key = "%s/%s/%s" % (artifact_id, field, uuid.uuid4().hex)
        beat = {"at": time.monotonic()}

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(
                    B.update().where(B.c.id == claim).values(
                        updated_at=db.utcnow())))
        try:
            result = streaming.write_stream(
                store, key, chunks, algorithms=BLOB_DIGESTS,
                max_size=limit, on_chunk=meter.wrap(heartbeat),
                too_large_message="The data is larger than field '%s' "
                                  "allows (%s bytes)." % (field, limit))
        except BaseException:
            transaction(self.db, lambda c: db.forget_blob(c, claim))
            raise
        try:
            # Hooks may validate the data and derive more files from it
            # (vnf_packages unpacks its CSAR into a folder); a refusal
            # leaves nothing stored.
            derived = []
            for hook in atype.hooks.get("blob_uploaded", ()):
                derived.extend(hook(ctx, artifact, field=field, path=path,
                                    result=result, store=store) or ())
        except BaseException:
            store.delete(result.location)
            transaction(self.db, lambda c: db.forget_blob(c, claim))
            raise

        def finish(conn):
            row = conn.execute(sa.select(db.A.c.status).where(
                db.A.c.id == artifact_id,
                db.A.c.deleted == sa.false())).first()
            if row is None:
                return None
            if row.status != atype.initial_status and not (
                    fdef.mutable and row.status == atype.active_status):
                # Activated while the bytes were streaming: too late.
                raise errors.Conflict(
                    "The %s became %s during the upload; field '%s' can no "
                    "longer change." % (atype.noun, row.status, field))
            retired = db.retire_blobs(conn, artifact_id, field, path)
            conn.execute(B.update().where(B.c.id == claim).values(
                slot=db.blob_slot(field, path), status="active",
                size=result.size, md5=result.digests.get("md5"),
                sha1=result.digests.get("sha1"),
                sha256=result.digests.get("sha256"),
                store=store.name, location=result.location,
                updated_at=db.utcnow()))
            for derived_field in {d[0] for d in derived}:
                retired.extend(db.retire_blobs(conn, artifact_id,
                                               derived_field))
            for derived_field, derived_path, made in derived:
                db.insert_blob(conn, artifact_id, derived_field, {
                    "status": "active", "size": made.size,
                    "md5": made.digests.get("md5"),
                    "sha1": made.digests.get("sha1"),
                    "sha256": made.digests.get("sha256"),
                    "store": store.name, "location": made.location,
                    "location_metadata": "{}", "external": False},
                    path=derived_path)
            conn.execute(db.A.update().where(db.A.c.id == artifact_id)
                         .values(updated_at=db.utcnow()))
            meter.settle(conn, unmetered=sum(d[2].size for d in derived))
            return retired
        try:
            with self._locked(atype, artifact_id, "upload"):
                retired = transaction(self.db, finish)
        except BaseException:
            for made in [result] + [d[2] for d in derived]:
                store.delete(made.location)
            transaction(self.db, lambda c: db.forget_blob(c, claim))
            raise
        if retired is None:
            for made in [result] + [d[2] for d in derived]:
                store.delete(made.location)
            transaction(self.db, lambda c: db.forget_blob(c, claim))
            raise errors.Gone("%s %s was deleted during the upload."
                              % (atype.noun.capitalize(), artifact_id))
        self._remove_data(retired)
        LOG.info("Stored %d bytes in %s %s field %s%s", result.size,
                 atype.noun, artifact_id, field, "/" + path if path else "")
        return self.get(ctx, atype, artifact_id)

    def _claim(self, artifact_id, field, path):
        """Insert the ``saving`` row that makes this upload the only one."""
        slot = _claim_slot(field, path)
        now = db.utcnow()
        stale = now - datetime.timedelta(
            seconds=self.limits.stale_upload_seconds)

        def run(conn):
            conn.execute(B.delete().where(B.c.artifact_id == artifact_id,
                                          B.c.slot == slot,
                                          B.c.updated_at < stale))
            result = conn.execute(B.insert().values(
                artifact_id=artifact_id, field=field, path=path, position=0,
                slot=slot, status="saving", location_metadata="{}",
                external=False, created_at=now, updated_at=now))
            return result.inserted_primary_key[0]
        try:
            return transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise errors.Conflict("Field '%s'%s is being uploaded by another "
                                  "request; try again when it has finished."
                                  % (field, " path '%s'" % path if path
                                     else ""))

    def register_external(self, ctx, atype, artifact_id, field, url, path="",
                          size=None, digests=None):
        """Make ``url`` the data of a blob (or folder path) without copying
        it; checked against the operator's policy and never fetched by
        Glare (downloads redirect), so it cannot be used for SSRF."""
        fdef = self._data_field(atype, field, path, for_write=True)
        external.check_url(url, self.external_policy)
        digests = external.check_digests(digests)
        if size is not None and (not isinstance(size, int)
                                 or isinstance(size, bool) or size < 0):
            raise errors.Invalid("size must be a non-negative integer.")
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("upload"),
                              self._target(artifact, ctx, membership))

        def run(conn):
            row = db.get(conn, artifact_id, atype.name)
            if row is None:
                raise errors.NotFound("No %s found with ID %s"
                                      % (atype.noun, artifact_id))
            if row["status"] != atype.initial_status and not (
                    fdef.mutable and row["status"] == atype.active_status):
                raise errors.Forbidden(
                    "Field '%s' cannot change once the %s is %s."
                    % (field, atype.noun, row["status"]))
            retired = db.retire_blobs(conn, artifact_id, field, path)
            db.insert_blob(conn, artifact_id, field, dict(
                status="active", size=size, store=None, location=url,
                location_metadata="{}", external=True,
                **{a: digests.get(a) for a in BLOB_DIGESTS}), path=path)
            return retired
        with self._locked(atype, artifact_id, "upload"):
            retired = transaction(self.db, run)
        self._remove_data(retired)
        return self.get(ctx, atype, artifact_id)

    def open_blob(self, ctx, atype, artifact_id, field, path=""):
        """(artifact, blob row) of a file the caller may download."""
        self._data_field(atype, field, path, for_write=False)
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("download"),
                              self._target(artifact, ctx, membership))
        if artifact["status"] == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden("The %s is deactivated; its data cannot "
                                   "be downloaded." % atype.noun)
        self._hooks(atype, "pre_download", ctx, artifact, field=field,
                    path=path)
        for blob in artifact["blobs"]:
            if blob["field"] == field and blob["path"] == path and \
                    blob["status"] == "active":
                return artifact, blob
        raise errors.NotFound("%s %s has no data in %s%s."
                              % (atype.noun.capitalize(), artifact_id, field,
                                 "/" + path if path else ""))

    def delete_blob(self, ctx, atype, artifact_id, field, path=""):
        """Remove one file (or the blob) of a drafted artifact."""
        fdef = self._data_field(atype, field, path, for_write=True)
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("upload"),
                              self._target(artifact, ctx, membership))
        if artifact["status"] != atype.initial_status and not fdef.mutable:
            raise errors.Forbidden("Field '%s' cannot change once the %s is "
                                   "%s." % (field, atype.noun,
                                            artifact["status"]))

        def run(conn):
            return db.retire_blobs(conn, artifact_id, field, path)
        retired = transaction(self.db, run)
        if not retired:
            raise errors.NotFound("%s %s has no data in %s%s."
                                  % (atype.noun.capitalize(), artifact_id,
                                     field, "/" + path if path else ""))
        self._remove_data(retired)

    def drop_stale_claims(self):
        """Forget blob uploads that stopped heartbeating (a crashed worker):
        their claim no longer blocks the blob, and activation is possible
        again.  Their partial data never became visible (stores commit at
        the end); stores clean their own leftovers."""
        cutoff = db.utcnow() - datetime.timedelta(
            seconds=self.limits.stale_upload_seconds)
        count = transaction(self.db, lambda c: c.execute(
            B.delete().where(B.c.status == "saving",
                             B.c.updated_at < cutoff)).rowcount)
        if count:
            LOG.warning("Dropped %d stalled blob upload(s)", count)
        return count

    def _uploads_in_progress(self, artifact_id):
        return read(self.db, lambda c: c.execute(
            sa.select(sa.func.count()).select_from(B).where(
                B.c.artifact_id == artifact_id,
                B.c.status == "saving")).scalar())
