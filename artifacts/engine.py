"""The one place artifact operations happen.

Every operation runs in the same order: policy → lock → validate (type and
hooks) → quota → database → store.  The HTTP faces only parse requests and
render results; they never touch SQL or stores.

Locking without lost updates:

* metadata changes are compare-and-swap on the artifact's ``revision``: the
  change is computed on a fresh read, written only if nobody committed in
  between, and otherwise recomputed on the new state (so two concurrent
  PATCHes both land, neither overwrites the other);
* data uploads take the artifact from its initial status to ``saving`` with a
  conditional UPDATE, so exactly one concurrent upload wins and the others
  get 409; the winner heartbeats ``updated_at`` so a crashed upload can be
  told from a slow one.
"""

import copy
import datetime
import logging
import time
import uuid

import sqlalchemy as sa

from artifacts import errors
from artifacts.db import api as db
from artifacts.db import query as dbq
from artifacts.db.session import read, transaction
from artifacts.stores import streaming

LOG = logging.getLogger(__name__)

CAS_RETRIES = 50
HEARTBEAT_SECONDS = 30


class Limits:
    """Numbers an operator sets (Glance's names in glance_compat)."""

    def __init__(self, max_blob_size=None, max_properties=-1, max_tags=-1,
                 max_members=-1, hashing_algorithm="sha512",
                 delayed_delete=False, stale_upload_seconds=3600):
        self.max_blob_size = max_blob_size
        self.max_properties = max_properties
        self.max_tags = max_tags
        self.max_members = max_members
        self.hashing_algorithm = hashing_algorithm
        self.delayed_delete = delayed_delete
        self.stale_upload_seconds = stale_upload_seconds


class Engine:
    def __init__(self, db_engine, store, enforcer, limits=None):
        self.db = db_engine
        self.store = store
        self.enforcer = enforcer
        self.limits = limits or Limits()

    # ------------------------------------------------------------ visibility

    def _member_of(self, conn, artifact, ctx):
        if artifact["visibility"] != "shared" or not ctx.project_id \
                or artifact["owner"] == ctx.project_id:
            return None
        rows = db.members(conn, artifact["id"], ctx.project_id)
        return rows[0] if rows else None

    def _visible(self, artifact, ctx, membership):
        if ctx.is_admin or artifact["owner"] is None:
            return True
        if artifact["owner"] == ctx.project_id:
            return True
        if artifact["visibility"] in ("public", "community"):
            return True
        return membership is not None

    def _target(self, artifact, ctx, membership):
        owner = artifact["owner"]
        return {"project_id": owner, "owner": owner,
                "visibility": artifact["visibility"],
                "member_id": membership["member"] if membership else None}

    def _load(self, conn, atype, artifact_id, ctx, rule="get"):
        """Fetch a visible artifact and enforce ``rule`` on it.

        An artifact the caller may not see is NotFound, never Forbidden:
        its existence is not disclosed.
        """
        artifact = db.get(conn, artifact_id, atype.name) \
            if _plausible_id(artifact_id) else None
        if artifact is None:
            raise errors.NotFound("No %s found with ID %s"
                                  % (atype.noun, artifact_id))
        membership = self._member_of(conn, artifact, ctx)
        target = self._target(artifact, ctx, membership)
        if not self._visible(artifact, ctx, membership) or \
                not self.enforcer.check(ctx, atype.rule("get"), target):
            raise errors.NotFound("No %s found with ID %s"
                                  % (atype.noun, artifact_id))
        if rule != "get":
            self.enforcer.enforce(ctx, atype.rule(rule), target)
        return artifact, membership

    # ------------------------------------------------------------------ reads

    def _fetch(self, ctx, atype, artifact_id):
        return read(self.db, lambda conn: self._load(conn, atype,
                                                     artifact_id, ctx))

    def get(self, ctx, atype, artifact_id):
        return self._fetch(ctx, atype, artifact_id)[0]

    def list(self, ctx, atype, scope, filters=(), sort=(), limit=25,
             marker=None):
        """One page of artifacts; ``marker`` must be visible (else 400)."""
        self.enforcer.enforce(ctx, atype.rule("list"),
                              {"project_id": ctx.project_id,
                               "owner": ctx.project_id})

        def run(conn):
            if marker is not None:
                try:
                    self._load(conn, atype, marker, ctx)
                except errors.NotFound:
                    raise errors.Invalid("No %s found with ID %s"
                                         % (atype.noun, marker))
            ids = dbq.list_ids(conn, atype.name, scope, filters, sort, limit,
                               marker, atype.unlisted_statuses)
            return db.fetch_many(conn, ids)
        return read(self.db, run)

    # ----------------------------------------------------------------- create

    def create(self, ctx, atype, values, artifact_id=None):
        """Create an artifact from validated values.

        ``values``: name, owner, visibility, protected, hidden, tags and
        ``properties`` (declared fields and extra properties).
        """
        owner = values.get("owner", ctx.project_id)
        if owner != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not permitted to create %ss "
                                   "owned by '%s'." % (atype.noun, owner))
        visibility = values.get("visibility") or atype.default_visibility
        target = {"project_id": owner, "owner": owner,
                  "visibility": visibility, "member_id": None}
        self.enforcer.enforce(ctx, atype.rule("create"), target)
        self._check_visibility_policy(ctx, atype, visibility, target)
        now = db.utcnow()
        props = {n: f.default for n, f in atype.fields.items()
                 if f.default is not None and not f.is_data}
        props.update(values.get("properties", {}))
        artifact = {
            "id": artifact_id or str(uuid.uuid4()), "type_name": atype.name,
            "name": values.get("name"), "owner": owner,
            "visibility": visibility, "status": atype.initial_status,
            "protected": bool(values.get("protected", False)),
            "hidden": bool(values.get("hidden", False)),
            "version": values.get("version") or (0, 0, 0, "", ""),
            "created_at": now, "updated_at": now, "deleted_at": None,
            "properties": props, "tags": set(values.get("tags", ())),
            "revision": 0, "blobs": [], "deleted": False,
        }
        self._check_quotas(atype, artifact)

        def run(conn):
            if db.exists(conn, artifact["id"]):
                raise errors.Conflict("%s ID %s already exists!"
                                      % (atype.noun.capitalize(),
                                         artifact["id"]))
            db.insert(conn, artifact)
        try:
            transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise errors.Conflict("%s ID %s already exists!"
                                  % (atype.noun.capitalize(), artifact["id"]))
        LOG.info("Created %s %s (owner %s)", atype.noun, artifact["id"],
                 owner)
        return artifact

    def _check_visibility_policy(self, ctx, atype, visibility, target):
        if visibility == "public":
            self.enforcer.enforce(ctx, atype.rule("publicize"), target)
        elif visibility == "community":
            self.enforcer.enforce(ctx, atype.rule("communitize"), target)

    def _check_quotas(self, atype, artifact, old=None):
        limits = self.limits

        def counted(props):
            return [k for k in props
                    if k not in atype.fields and not k.startswith("os_glance")]
        extra = counted(artifact["properties"])
        old_extra = counted((old or {}).get("properties", {}))
        if limits.max_properties >= 0 and len(extra) > limits.max_properties \
                and len(extra) > len(old_extra):
            raise errors.QuotaExceeded(
                "The limit has been exceeded on the number of allowed %s "
                "properties. Attempted: %d, Maximum: %d"
                % (atype.noun, len(extra), limits.max_properties))
        tags = artifact["tags"]
        if limits.max_tags >= 0 and len(tags) > limits.max_tags \
                and len(tags) > len((old or {}).get("tags", ())):
            raise errors.QuotaExceeded(
                "The limit has been exceeded on the number of allowed %s "
                "tags. Attempted: %d, Maximum: %d"
                % (atype.noun, len(tags), limits.max_tags))

    # ----------------------------------------------------------------- update

    def update(self, ctx, atype, artifact_id, mutate, rule="update"):
        """Apply ``mutate(artifact)`` (in place) and save, without lost updates.

        ``mutate`` is called on a fresh copy each time the compare-and-swap
        loses a race, so it must derive its changes from what it is given.
        Returns the saved artifact.
        """
        for _ in range(CAS_RETRIES):
            old, membership = self._fetch(ctx, atype, artifact_id)
            target = self._target(old, ctx, membership)
            self.enforcer.enforce(ctx, atype.rule(rule), target)
            new = copy.deepcopy(old)
            mutate(new)
            self._validate_change(ctx, atype, old, new, target)
            if _same(old, new):
                return old
            if transaction(self.db, lambda conn: db.update(conn, old, new)):
                return new
            time.sleep(0.001)
        raise errors.Conflict("The %s was changed by too many concurrent "
                              "requests; try again." % atype.noun)

    def _validate_change(self, ctx, atype, old, new, target):
        if new["owner"] != old["owner"] and not ctx.is_admin:
            raise errors.Forbidden("Owner can't be updated by non admin.")
        if new["visibility"] != old["visibility"]:
            self._check_visibility_policy(ctx, atype, new["visibility"],
                                          target)
        for name, fdef in atype.fields.items():
            if new["properties"].get(name) != old["properties"].get(name):
                if fdef.system:
                    raise errors.Forbidden("Attribute '%s' is read-only."
                                           % name)
        self._check_quotas(atype, new, old)

    # ------------------------------------------------------------- lifecycle

    def change_status(self, ctx, atype, artifact_id, operation, source,
                      target_status):
        """deactivate / reactivate: ``source`` → ``target_status``.

        Already in ``target_status`` is a no-op; anything else is 403.
        """
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule(operation),
                              self._target(artifact, ctx, membership))
        if artifact["status"] == target_status:
            return
        if artifact["status"] != source:
            raise errors.Forbidden("Not allowed to %s %s in status '%s'"
                                   % (operation, atype.noun,
                                      artifact["status"]))
        ok = transaction(self.db, lambda conn: db.set_status(
            conn, artifact_id, source, target_status))
        if not ok:
            raise errors.Conflict("The %s changed status while it was being "
                                  "%sd; try again." % (atype.noun, operation))

    def delete(self, ctx, atype, artifact_id):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("delete"),
                              self._target(artifact, ctx, membership))
        if artifact["protected"]:
            raise errors.Forbidden("%s %s is protected and cannot be deleted."
                                   % (atype.noun.capitalize(), artifact_id))
        now = db.utcnow()
        has_data = bool(artifact["blobs"])
        status = "pending_delete" if (self.limits.delayed_delete
                                      and has_data) else "deleted"

        def run(conn):
            row = db.get(conn, artifact_id, atype.name)
            if row is None:
                raise errors.NotFound("Failed to find %s %s to delete"
                                      % (atype.noun, artifact_id))
            conn.execute(db.A.update().where(db.A.c.id == artifact_id).values(
                status=status, deleted=True, deleted_at=now, updated_at=now,
                revision=db.A.c.revision + 1))
            return db.retire_blobs(conn, artifact_id)
        retired = transaction(self.db, run)
        LOG.info("Deleted %s %s", atype.noun, artifact_id)
        if not self.limits.delayed_delete:
            self._remove_data(retired)

    def _remove_data(self, blobs):
        """Delete retired blobs' data; rows stay pending_delete on failure
        so that ``glare scrub`` can finish the job."""
        for blob in blobs:
            if blob["external"]:
                transaction(self.db, lambda c: db.forget_blob(c, blob["id"]))
                continue
            try:
                self.store.delete(blob["location"])
            except Exception:  # noqa: BLE001 - the scrubber retries
                LOG.exception("Could not delete data at %s; left for scrub",
                              blob["location"])
                continue
            transaction(self.db, lambda c: db.forget_blob(c, blob["id"]))

    def scrub(self, batch=100):
        """Finish deletions that left pending_delete blobs behind."""
        total = 0
        while True:
            rows = read(self.db, lambda c: db.pending_blobs(c, batch))
            if not rows:
                return total
            self._remove_data(rows)
            total += len(rows)
            if len(rows) < batch:
                return total

    # ------------------------------------------------------------------ data

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
        if not transaction(self.db, lambda c: db.set_status(
                c, artifact_id, initial, via)):
            raise errors.Conflict("%s status transition from %s to %s is not "
                                  "allowed" % (atype.noun.capitalize(),
                                               via, via))
        algorithm = self.limits.hashing_algorithm
        algorithms = ("md5",) if algorithm == "md5" else ("md5", algorithm)
        beat = {"at": time.monotonic()}

        def heartbeat(_total):
            if time.monotonic() - beat["at"] > HEARTBEAT_SECONDS:
                beat["at"] = time.monotonic()
                transaction(self.db, lambda c: c.execute(
                    db.A.update().where(db.A.c.id == artifact_id,
                                        db.A.c.status == via)
                    .values(updated_at=db.utcnow())))
        try:
            result = streaming.write_stream(
                self.store, key, chunks, algorithms=algorithms,
                max_size=self.limits.max_blob_size, on_chunk=heartbeat)
        except BaseException:
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            raise
        if record:
            values = self._data_values(ctx, atype, artifact, result)
        else:
            values = {"size": result.size}

        def finish(conn):
            if not db.set_status(conn, artifact_id, via, to):
                return False
            db.set_properties(conn, artifact_id, values)
            db.insert_blob(conn, artifact_id, field, {
                "status": "active", "size": result.size,
                "md5": result.digests.get("md5"),
                "sha512": result.digests.get("sha512"),
                "sha256": result.digests.get("sha256"),
                "sha1": result.digests.get("sha1"),
                "store": self.store.name, "location": result.location,
                "location_metadata": "{}", "external": False})
            return True
        try:
            done = transaction(self.db, finish)
        except BaseException:
            self.store.delete(result.location)
            transaction(self.db, lambda c: db.set_status(
                c, artifact_id, via, initial))
            raise
        if not done:
            self.store.delete(result.location)
            raise errors.Gone("%s %s could not be found after upload. The %s "
                              "may have been deleted during the upload."
                              % (atype.noun.capitalize(), artifact_id,
                                 atype.noun))
        LOG.info("Received %d bytes for %s %s (%s)", result.size, atype.noun,
                 artifact_id, field)

    def _data_values(self, ctx, atype, artifact, result):
        values = {}
        for hook in atype.hooks.get("post_upload", ()):
            values.update(hook(ctx, artifact, result=result,
                               algorithm=self.limits.hashing_algorithm) or {})
        return values

    def import_staged(self, ctx, atype, artifact_id, staged="staging",
                      field="image"):
        """Make staged data the artifact's data: uploading → importing →
        active.  The bytes were hashed while they were staged, so this is
        a metadata change, not a copy."""
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
            values = self._data_values(ctx, atype, artifact, result)
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

    # ---------------------------------------------------------------- members

    def _shared_artifact(self, ctx, atype, artifact_id, rule, message):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        target = self._target(artifact, ctx, membership)
        if artifact["visibility"] != "shared":
            raise errors.Forbidden(message % artifact_id)
        return artifact, membership, target

    def add_member(self, ctx, atype, artifact_id, member):
        artifact, _, target = self._shared_artifact(
            ctx, atype, artifact_id, "add_member",
            "Not allowed to create members for %s %%s." % atype.noun)
        self.enforcer.enforce(ctx, atype.rule("add_member"), target)

        def run(conn):
            if db.members(conn, artifact_id, member):
                raise errors.Conflict("Member %s is duplicated for %s %s"
                                      % (member, atype.noun, artifact_id))
            limit = self.limits.max_members
            if limit >= 0 and db.count_members(conn, artifact_id) >= limit:
                raise errors.QuotaExceeded(
                    "The limit has been exceeded on the number of allowed "
                    "%s members for this %s. Attempted: %d, Maximum: %d"
                    % (atype.noun, atype.noun, limit + 1, limit))
            db.insert_member(conn, artifact_id, member)
            return db.members(conn, artifact_id, member)[0]
        try:
            return transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise errors.Conflict("Member %s is duplicated for %s %s"
                                  % (member, atype.noun, artifact_id))

    def list_members(self, ctx, atype, artifact_id):
        artifact, membership, target = self._shared_artifact(
            ctx, atype, artifact_id, "get_members",
            "Not allowed to list members for %s %%s: Only shared %ss have "
            "members." % (atype.noun, atype.noun))
        self.enforcer.enforce(ctx, atype.rule("get_members"), target)
        if ctx.is_admin or artifact["owner"] == ctx.project_id:
            return read(self.db, lambda c: db.members(c, artifact_id))
        return read(self.db, lambda c: db.members(c, artifact_id,
                                                  ctx.project_id))

    def get_member(self, ctx, atype, artifact_id, member):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        target = self._target(artifact, ctx, membership)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        allowed = ctx.is_admin or artifact["owner"] == ctx.project_id or \
            member == ctx.project_id
        if not rows or not allowed or not self.enforcer.check(
                ctx, atype.rule("get_member"), target):
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        return rows[0]

    def update_member(self, ctx, atype, artifact_id, member, status):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        if not rows:
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        target = dict(self._target(artifact, ctx, membership),
                      member_id=member)
        self.enforcer.enforce(ctx, atype.rule("modify_member"), target)
        if member != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not authorized to complete "
                                   "modify_member action.")
        transaction(self.db, lambda c: db.update_member(c, artifact_id,
                                                        member, status))
        return read(self.db, lambda c: db.members(c, artifact_id, member))[0]

    def delete_member(self, ctx, atype, artifact_id, member):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        target = self._target(artifact, ctx, membership)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        if not rows:
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        self.enforcer.enforce(ctx, atype.rule("delete_member"), target)
        if artifact["owner"] != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not authorized to complete "
                                   "delete_member action.")
        transaction(self.db, lambda c: db.delete_member(c, artifact_id,
                                                        member))


def _plausible_id(artifact_id):
    return isinstance(artifact_id, str) and 0 < len(artifact_id) <= 36


def _same(old, new):
    keys = ("name", "owner", "visibility", "status", "protected", "hidden",
            "version", "properties", "tags")
    return all(old.get(k) == new.get(k) for k in keys)
