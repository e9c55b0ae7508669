"""Engine operations on artifact data: upload, stage, import, download.

Part of the engine (mixed into ``artifacts.engine.Engine``): the same
policy → lock → validate → quota → db → store order applies.  The lock for
data is the status itself: initial → saving (or uploading) is a conditional
UPDATE, so exactly one concurrent upload wins.
"""

import datetime
import logging
import time
import uuid

from artifacts import errors
from artifacts.db import api as db
from artifacts.db.session import transaction
from artifacts.quotas import releases_reservations
from artifacts.stores import streaming

LOG = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30


class Uploads:
    def upload(self, ctx, atype, artifact_id, chunks, field="image"):
        """Stream ``chunks`` into the artifact's blob field.

        The status goes initial → saving → active; on any failure the data is
        discarded and the status returns to the initial one.
        """
        self._receive(ctx, atype, artifact_id, chunks, field=field,
                      key=artifact_id if atype.name == "images" else
                      "%s/%s" % (artifact_id, uuid.uuid4().hex),
                      via="saving", to=atype.active_status, record=True)

    def stage(self, ctx, atype, artifact_id, chunks, field="staging"):
        """Receive data to be imported later (Glance's ``glance-direct``).

        initial → uploading, where it stays until ``import_staged``; only
        the size is recorded now, as Glance does.
        """
        self._receive(ctx, atype, artifact_id, chunks, field=field,
                      key="staging/%s" % artifact_id, via="uploading",
                      to="uploading", record=False)

    @releases_reservations
    def _receive(self, ctx, atype, artifact_id, chunks, field, key, via, to,
                 record):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("upload"),
                              self._target(artifact, ctx, membership))
        initial = atype.initial_status
        status = artifact["status"]
        if status == via == "saving" and self._stale(artifact):
            LOG.warning("Upload to %s %s stalled since %s; resetting it",
                        atype.noun, artifact_id, artifact["updated_at"])
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            status = initial
        if status != initial:
            raise errors.Conflict("%s status transition from %s to %s is "
                                  "not allowed" % (atype.noun.capitalize(),
                                                   status, via))
        if record:
            for hook in atype.hooks.get("pre_upload", ()):
                hook(ctx, artifact)
        meter = self.quotas.meter(atype, artifact)
        with self._locked(atype, artifact_id, "upload"):
            started = transaction(self.db, lambda c: db.set_status(
                c, artifact_id, initial, via))
        if not started:
            raise errors.Conflict("%s status transition from %s to %s is not "
                                  "allowed" % (atype.noun.capitalize(),
                                               via, via))
        algorithm = self.limits.hashing_algorithm
        algorithms = ("md5",) if algorithm == "md5" else ("md5", algorithm)
        beat = {"at": time.monotonic()}
        states = []
        if record:
            chunks, states = self._filter(ctx, atype, artifact, chunks)

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(
                    db.A.update().where(db.A.c.id == artifact_id,
                                        db.A.c.status == via)
                    .values(updated_at=db.utcnow())))
        store = self.store_for(atype, field)
        try:
            result = streaming.write_stream(
                store, key, chunks, algorithms=algorithms,
                max_size=self.limits.max_blob_size,
                on_chunk=meter.wrap(heartbeat))
        except BaseException:
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            raise
        try:
            values = self._data_values(ctx, atype, artifact, result, states) \
                if record else {"size": result.size}
        except BaseException:
            # A hook refused the data (e.g. its format): nothing may stay.
            store.delete(result.location)
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            raise

        def finish(conn):
            if not db.set_status(conn, artifact_id, via, to):
                return False
            meter.settle(conn)
            db.set_properties(conn, artifact_id, values)
            db.insert_blob(conn, artifact_id, field, {
                "status": "active", "size": result.size,
                "md5": result.digests.get("md5"),
                "sha512": result.digests.get("sha512"),
                "sha256": result.digests.get("sha256"),
                "sha1": result.digests.get("sha1"),
                "store": store.name, "location": result.location,
                "location_metadata": "{}", "external": False})
            return True
        try:
            with self._locked(atype, artifact_id, "upload"):
                done = transaction(self.db, finish)
        except BaseException:
            store.delete(result.location)
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            raise
        if not done:
            store.delete(result.location)
            raise errors.Gone("%s %s could not be found after upload. The %s "
                              "may have been deleted during the upload."
                              % (atype.noun.capitalize(), artifact_id,
                                 atype.noun))
        LOG.info("Received %d bytes for %s %s (%s)", result.size, atype.noun,
                 artifact_id, field)

    def _filter(self, ctx, atype, artifact, chunks):
        """Pass the stream through the type's upload filters (which may
        observe or transform it); returns (chunks, their states)."""
        states = []
        for hook in atype.hooks.get("upload_filter", ()):
            chunks, state = hook(ctx, artifact, chunks)
            states.append(state)
        return chunks, states

    def _data_values(self, ctx, atype, artifact, result, states=()):
        values = {}
        for hook in atype.hooks.get("post_upload", ()):
            values.update(hook(ctx, artifact, result=result,
                               algorithm=self.limits.hashing_algorithm,
                               states=states) or {})
        return values

    def _inspect_stored(self, ctx, atype, artifact, blob):
        """Run the upload filters over data already in the store."""
        reader = self.store_of(blob).open(blob["location"])
        try:
            chunks, states = self._filter(ctx, atype, artifact,
                                          iter(lambda: reader.read(1 << 20),
                                               b""))
            for _ in chunks:
                pass
        finally:
            reader.close()
        return states

    def import_staged(self, ctx, atype, artifact_id, staged="staging",
                      field="image", properties=None):
        """Make staged data the artifact's data: uploading → importing →
        active.  The bytes were hashed while they were staged, so this is
        a metadata change, not a copy.  ``properties`` are set with it."""
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("update"),
                              self._target(artifact, ctx, membership))
        blobs = [b for b in artifact["blobs"] if b["field"] == staged]
        if artifact["status"] != "uploading" or not blobs:
            raise errors.Conflict("%s needs to be staged before "
                                  "'glance-direct' method can be used"
                                  % atype.noun.capitalize())
        for name in ("container_format", "disk_format"):
            if name in atype.fields and not artifact["properties"].get(name):
                raise errors.Conflict("'%s' needs to be set before import"
                                      % name)
        blob = blobs[0]
        if not transaction(self.db, lambda c: db.set_status(
                c, artifact_id, "uploading", "importing")):
            raise errors.Conflict("New operation on %s '%s' is not permitted "
                                  "as prior operation is still in progress"
                                  % (atype.noun, artifact_id))
        result = streaming.WriteResult(
            location=blob["location"], size=blob["size"],
            digests={a: blob[a] for a in ("md5", "sha1", "sha256", "sha512")
                     if blob[a]})
        try:
            states = self._inspect_stored(ctx, atype, artifact, blob)
            values = dict(properties or {}, **self._data_values(
                ctx, atype, artifact, result, states))
        except errors.ArtifactError:
            # The staged data is refused: drop it, the image is queued again
            # (as after a failed import in Glance) and can be staged anew.
            def reset(conn):
                db.set_status(conn, artifact_id, "importing",
                              atype.initial_status)
                db.set_properties(conn, artifact_id, {"size": None})
                return db.retire_blobs(conn, artifact_id, staged)
            self._remove_data(transaction(self.db, reset))
            raise
        except BaseException:
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, "importing", "uploading"))
            raise

        def finish(conn):
            if not db.set_status(conn, artifact_id, "importing",
                                 atype.active_status):
                return False
            db.set_properties(conn, artifact_id, values)
            db.move_blob(conn, blob["id"], field)
            return True
        if not transaction(self.db, finish):
            raise errors.Gone("%s %s was deleted during the import."
                              % (atype.noun.capitalize(), artifact_id))
        LOG.info("Imported staged data into %s %s", atype.noun, artifact_id)

    def reset_stale_uploads(self, atypes):
        """Put artifacts whose upload died (no heartbeat for
        ``stale_upload_seconds``: a killed worker or host) back to their
        initial status so they can be uploaded again.  Returns how many."""
        cutoff = db.utcnow() - datetime.timedelta(
            seconds=self.limits.stale_upload_seconds)
        total = 0
        for atype in atypes:
            def run(conn, atype=atype):
                return conn.execute(db.A.update().where(
                    db.A.c.type_name == atype.name,
                    db.A.c.status == "saving",
                    db.A.c.updated_at < cutoff).values(
                    status=atype.initial_status, updated_at=db.utcnow(),
                    revision=db.A.c.revision + 1)).rowcount
            count = transaction(self.db, run)
            if count:
                LOG.warning("Reset %d stalled %s upload(s) to %s", count,
                            atype.noun, atype.initial_status)
            total += count
        return total

    def _stale(self, artifact):
        age = datetime.datetime.utcnow() - artifact["updated_at"]
        return age.total_seconds() > self.limits.stale_upload_seconds

    def open_data(self, ctx, atype, artifact_id, field="image"):
        """(artifact, blob or None) for a download the caller may make."""
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("download"),
                              self._target(artifact, ctx, membership))
        if artifact["status"] == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden("The requested %s has been deactivated. "
                                   "%s data download is forbidden."
                                   % (atype.noun, atype.noun.capitalize()))
        blobs = [b for b in artifact["blobs"] if b["field"] == field
                 and b["status"] == "active"]
        return artifact, (blobs[0] if blobs else None)
