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
import logging
import time
import uuid

import hashlib

import sqlalchemy as sa

from artifacts import (errors, external, image_import, limits, recovery, types,
                       versions)
from artifacts.data import DataService
from artifacts.events import Events
from artifacts.jobs import DataJobs
from artifacts.locations import LocationEdit, Locations
from artifacts.stores.placement import StoreSet
from artifacts.db import api as db
from artifacts.db import query as dbq
from artifacts.db.session import read, transaction
from artifacts.ids import is_canonical_uuid
from artifacts.limits import Limits
from artifacts.net import urls
from artifacts.locking import Locks
from artifacts.registration import Registration
from artifacts.quotas import Quotas
from artifacts.sharing import Sharing
from artifacts.tasks import Tasks

LOG = logging.getLogger(__name__)

CAS_RETRIES = 50


class Engine:
    """Artifact records: create, read, list, update, lifecycle, delete.

    Its collaborators: ``data`` (``artifacts.data.DataService``: uploads,
    downloads, locations, cleanup of every type's data), ``jobs``
    (``artifacts.jobs.DataJobs``: durable work outside the request),
    ``locations`` (``artifacts.locations.Locations``: URLs clients name,
    edits of location lists), ``registration``
    (``artifacts.registration.Registration``: data registered by URL,
    checked by a job), ``tasks`` (``artifacts.tasks.Tasks``: durable
    records of asynchronous work, run by a runner thread) and ``sharing``
    (``artifacts.sharing.Sharing``: members).  All load artifacts through
    ``_fetch``, so visibility and policy are the same everywhere."""

    def __init__(self, db_engine, store, enforcer, limits=None, locks=None,
                 stores=None, type_stores=None):
        """``store`` is the default store; ``stores`` maps every configured
        store id to its driver (locations remember the id they were
        written to) or is a whole ``StoreSet``; ``type_stores`` maps a type
        name (or ``type.field``) to the store id its new data goes to."""
        self.db = db_engine
        if isinstance(stores, StoreSet):
            store_set = stores
        else:
            drivers = {store.name: store}
            drivers.update(stores or {})
            store_set = StoreSet(drivers=drivers, default=store.name,
                                 type_stores=dict(type_stores or {}))
        self.enforcer = enforcer
        self.limits = limits or Limits()
        self.locks = locks or Locks(db_engine)
        self.quotas = Quotas(db_engine, self.limits.quota_defaults)
        self.external_policy = external.policy()
        # What the server itself may fetch (web-download, import tasks):
        # Glance's [import_filtering_opts].
        self.import_policy = urls.Policy()
        # Glance's image import plugins (none unless configured).
        self.import_plugins = image_import.Plugins()
        self.data = DataService(self, store_set)
        self.jobs = DataJobs(self)
        self.locations = Locations(self)
        self.registration = Registration(self)
        self.tasks = Tasks(self)
        self.sharing = Sharing(self)
        # Committed changes, for whoever listens (glare.notifier).
        self.events = Events(lambda artifact_id: read(
            self.db, lambda conn: db.get(conn, artifact_id,
                                         include_deleted=True)))

    @property
    def stores(self):
        return self.data.stores

    def _locked(self, atype, artifact_id, operation):
        """Hold the artifact's database lock: changes of one artifact are
        serialized across workers and hosts; a request that cannot get it
        within a few seconds gets 409."""
        return self.locks.hold((atype.noun, artifact_id), operation)

    def _locked_visible(self, ctx, atype, artifact_id, operation):
        """``_locked`` for a caller who can see the artifact: anyone else
        gets 404 at once, before the lock is asked for.  Waiting for a
        lock another operation holds (and answering 409 after the wait)
        would tell a stranger that the artifact exists, and keep them busy
        for seconds.  The operation re-reads the artifact under the lock
        (it may have gone meanwhile)."""
        self._fetch(ctx, atype, artifact_id)
        return self._locked(atype, artifact_id, operation)

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

    def _load(self, conn, atype, artifact_id, ctx, rule="get", details=True):
        """Fetch a visible artifact and enforce ``rule`` on it.

        An artifact the caller may not see is NotFound, never Forbidden:
        its existence is not disclosed.  ``details=False`` checks only
        (no properties, tags or blobs are read).  ``rule`` None: visible
        by ownership, visibility or membership is enough (the ``get``
        policy is not checked).
        """
        artifact = db.get(conn, artifact_id, atype.name, details=details) \
            if _plausible_id(artifact_id) else None
        if artifact is None:
            raise errors.NotFound("No %s found with ID %s"
                                  % (atype.noun, artifact_id))
        membership = self._member_of(conn, artifact, ctx)
        target = self._target(artifact, ctx, membership)
        if rule is None:
            if not self._visible(artifact, ctx, membership):
                raise errors.NotFound("No %s found with ID %s"
                                      % (atype.noun, artifact_id))
            return artifact, membership
        if not self._visible(artifact, ctx, membership) or \
                not self.enforcer.check(ctx, atype.rule("get"), target):
            raise errors.NotFound("No %s found with ID %s"
                                  % (atype.noun, artifact_id))
        if rule != "get":
            self.enforcer.enforce(ctx, atype.rule(rule), target)
        return artifact, membership

    def authorize(self, ctx, atype, artifact_id, *operations):
        """The artifact, after enforcing the policy rule of each operation
        in turn (NotFound when the caller cannot see it): what a face calls
        when its API checks policy before its other rules."""
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self._enforce_all(ctx, atype, artifact, membership, operations)
        return artifact

    def enforce_on(self, ctx, atype, artifact, *operations):
        """``authorize`` for an artifact the caller already read with
        ``get`` (a face that checks its status before the policy)."""
        membership = read(self.db, lambda conn: self._member_of(
            conn, artifact, ctx))
        self._enforce_all(ctx, atype, artifact, membership, operations)

    def visible(self, ctx, atype, artifact_id):
        """The artifact if the caller owns it, it is public or community,
        or shared with the caller's project (else NotFound), without the
        ``get`` policy: for rules a caller may hold without being able to
        read artifacts (Glance's service role and its location API).
        Enforce with ``enforce_hidden``."""
        return read(self.db, lambda conn: self._load(
            conn, atype, artifact_id, ctx, rule=None))[0]

    def enforce_hidden(self, ctx, atype, artifact, operation):
        """Enforce ``operation`` on an artifact from ``visible``; refused,
        it is NotFound unless the caller may ``get`` it (Glance's
        ImageAPIPolicy: a refusal does not disclose an image)."""
        membership = read(self.db, lambda conn: self._member_of(
            conn, artifact, ctx))
        target = self._target(artifact, ctx, membership)
        if self.enforcer.check(ctx, atype.rule(operation), target):
            return
        if not self.enforcer.check(ctx, atype.rule("get"), target):
            raise errors.NotFound("")     # Glance's bare 404
        self.enforcer.enforce(ctx, atype.rule(operation), target)

    def _enforce_all(self, ctx, atype, artifact, membership, operations):
        target = self._target(artifact, ctx, membership)
        for operation in operations:
            self.enforcer.enforce(ctx, atype.rule(operation), target)

    # ------------------------------------------------------------------ reads

    def _fetch(self, ctx, atype, artifact_id):
        return read(self.db, lambda conn: self._load(conn, atype,
                                                     artifact_id, ctx))

    def get(self, ctx, atype, artifact_id):
        return self._fetch(ctx, atype, artifact_id)[0]

    def list(self, ctx, atype, scope, filters=(), sort=(), limit=25,
             marker=None, with_blobs=True):
        """One page of artifacts; ``marker`` must be visible (else 400).
        ``with_blobs=False`` skips reading their blobs (a face that shows
        no locations saves a query per page)."""
        self.enforcer.enforce(ctx, atype.rule("list"),
                              {"project_id": ctx.project_id,
                               "owner": ctx.project_id})

        def run(conn):
            marker_row = None
            if marker is not None:
                try:
                    marker_row, _ = self._load(conn, atype, marker, ctx,
                                               details=False)
                except errors.NotFound:
                    raise errors.Invalid("No %s found with ID %s"
                                         % (atype.noun, marker))
            rows = dbq.list_ids(conn, atype.name, scope, filters, sort,
                                limit, marker, atype.unlisted_statuses,
                                rows=True, marker_row=marker_row)
            return db.fetch_many(conn, [r.id for r in rows], rows=rows,
                                 with_blobs=with_blobs)
        return read(self.db, run)

    def list_types(self, ctx, atypes, scope, filters=(), sort=(), limit=25,
                   marker=None):
        """One page of artifacts of any of ``atypes`` the caller may list
        (``GET /artifacts/all``); ``marker`` must be visible (else 400)."""
        allowed = [t for t in atypes if self.enforcer.check(
            ctx, t.rule("list"), {"project_id": ctx.project_id,
                                  "owner": ctx.project_id})]
        if not allowed:
            return []
        by_name = {t.name: t for t in allowed}

        def run(conn):
            if marker is not None:
                row = db.get(conn, marker, details=False) \
                    if _plausible_id(marker) else None
                try:
                    if row is None or row["type_name"] not in by_name:
                        raise errors.NotFound()
                    self._load(conn, by_name[row["type_name"]], marker, ctx,
                               details=False)
                except errors.NotFound:
                    raise errors.Invalid("No artifact found with ID %s"
                                         % marker)
            hidden = sorted({s for t in allowed
                             for s in t.unlisted_statuses})
            ids = dbq.list_ids(conn, None, scope, filters, sort, limit,
                               marker, hidden, type_names=sorted(by_name))
            return db.fetch_many(conn, ids)
        return read(self.db, run)

    # ----------------------------------------------------------------- create

    def create(self, ctx, atype, values, artifact_id=None, check=None):
        """Create an artifact from validated values.

        ``values``: name, owner, visibility, protected, hidden, tags and
        ``properties`` (declared fields and extra properties).  ``check``:
        called with ``values`` after the policy checks, before anything is
        written (a face's own rules, e.g. Glance's property protections).
        """
        owner = values.get("owner", ctx.project_id)
        if owner != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not permitted to create %ss "
                                   "owned by '%s'" % (atype.noun, owner)
                                   ).as_detail()
        visibility = values.get("visibility") or atype.default_visibility
        target = {"project_id": owner, "owner": owner,
                  "visibility": visibility, "member_id": None}
        self.enforcer.enforce(ctx, atype.rule("create"), target)
        _check_owner(atype, owner)
        self._check_visibility_policy(ctx, atype, visibility, target)
        if check is not None:
            check(values)
        now = db.utcnow()
        props = {n: f.default for n, f in atype.fields.items()
                 if f.default is not None and not f.is_data}
        given = values.get("properties", {})
        for name in given:
            fdef = atype.field(name)
            if fdef is not None and (fdef.system or fdef.is_data):
                raise errors.Forbidden("Field '%s' is read-only; it is set "
                                       "by the service." % name)
        props.update(given)
        self._validate_properties(atype, props)
        self._check_links(ctx, atype, props)
        if artifact_id is not None and not _plausible_id(artifact_id):
            raise errors.Invalid("The id %r is not a UUID in its canonical "
                                 "lowercase form." % (str(artifact_id)[:64],))
        artifact = {
            "id": artifact_id or str(uuid.uuid4()), "type_name": atype.name,
            "name": values.get("name"), "owner": owner,
            "visibility": visibility, "status": atype.initial_status,
            "protected": bool(values.get("protected", False)),
            "hidden": bool(values.get("hidden", False)),
            "version": versions.parse(values.get("version") or "0.0.0"),
            "created_at": now, "updated_at": now, "deleted_at": None,
            "properties": props, "tags": set(values.get("tags", ())),
            "revision": 0, "blobs": [], "deleted": False,
        }
        _set_version_keys(atype, artifact)
        limits.check_artifact(self.limits, atype, artifact)

        self._hooks(atype, "pre_create", ctx, artifact)

        self.quotas.warm(owner)

        def run(conn):
            if db.exists(conn, artifact["id"]):
                raise errors.Conflict("%s ID %s already exists!"
                                      % (atype.noun.capitalize(),
                                         artifact["id"]))
            self.quotas.check_create(conn, atype, owner)
            db.insert(conn, artifact)
        try:
            transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise _duplicate(atype, artifact)
        LOG.info("Created %s %s (owner %s)", atype.noun, artifact["id"],
                 owner)
        self.events.emit("create", ctx, atype, artifact["id"], artifact)
        self._hooks(atype, "post_create", ctx, artifact)
        return artifact

    def _hooks(self, atype, point, ctx, artifact, **kwargs):
        """Run a type's hooks for ``point``.  ``pre_*`` hooks run before
        anything is written and refuse by raising an ArtifactError; ``post_*``
        hooks run after the commit, so a failure there is logged, not
        undone (it cannot be: others may already see the change)."""
        for hook in atype.hooks.get(point, ()):
            if point.startswith("pre_"):
                hook(ctx, artifact, **kwargs)
                continue
            try:
                hook(ctx, artifact, **kwargs)
            except Exception:  # noqa: BLE001 - see docstring
                LOG.exception("%s hook %s failed for %s %s", point,
                              getattr(hook, "__name__", hook), atype.noun,
                              artifact["id"])

    def _validate_properties(self, atype, props, old=None):
        """Declared fields against their declaration; undeclared ones only
        where the type takes free-form properties."""
        for name, value in props.items():
            if old is not None and name in old and old[name] == value:
                continue
            fdef = atype.field(name)
            if fdef is None:
                if not atype.extra_properties:
                    raise errors.Invalid(
                        "%s has no field '%s'; its fields are: %s."
                        % (atype.name, name, ", ".join(sorted(
                            n for n, f in atype.fields.items()
                            if not f.is_data))))
            elif not fdef.is_data:
                fdef.validate(name, value)

    def _check_links(self, ctx, atype, props, old=None):
        """Link fields must name artifacts that exist, that the caller can
        see, and of the declared type: no dangling or foreign links."""
        for name, fdef in atype.fields.items():
            if fdef.kind not in ("link", "link_list"):
                continue
            value = props.get(name)
            if value is None or (old is not None and
                                 old.get(name) == value):
                continue
            for target_id in (value if fdef.kind == "link_list"
                              else [value]):
                row = read(self.db, lambda c, t=target_id: db.get(
                    c, t, details=False)) \
                    if _plausible_id(target_id) else None
                wrong_type = row is not None and fdef.link_type and \
                    row["type_name"] != fdef.link_type
                try:
                    if row is None or wrong_type:
                        raise errors.NotFound()
                    self._fetch(ctx, types.get(row["type_name"]), target_id)
                except errors.NotFound:
                    raise errors.Invalid(
                        "Field '%s' links to %s, which is not a%s artifact "
                        "you can see." % (name, target_id,
                                          " %s" % fdef.link_type
                                          if fdef.link_type else "n"))

    def _check_visibility_policy(self, ctx, atype, visibility, target):
        if visibility == "public":
            self.enforcer.enforce(ctx, atype.rule("publicize"), target)
        elif visibility == "community":
            self.enforcer.enforce(ctx, atype.rule("communitize"), target)

    # ----------------------------------------------------------------- update

    def update(self, ctx, atype, artifact_id, mutate, rule="update"):
        with self._locked_visible(ctx, atype, artifact_id, "update"):
            return self._update_locked(ctx, atype, artifact_id, mutate, rule)

    def _update_locked(self, ctx, atype, artifact_id, mutate, rule):
        """Apply ``mutate(artifact)`` (in place) and save, without lost updates.

        ``mutate`` is called on a fresh copy each time the compare-and-swap
        loses a race, so it must derive its changes from what it is given.
        If it returns a ``LocationEdit`` (``artifacts.locations``), the
        new locations of a blob field are written in the same transaction
        (any other return value is ignored).
        ``rule`` None: the caller enforces the policy itself (inside
        ``mutate``, per change).  Returns the saved artifact.
        """
        for _ in range(CAS_RETRIES):
            old, membership = self._fetch(ctx, atype, artifact_id)
            target = self._target(old, ctx, membership)
            if rule is not None:
                self.enforcer.enforce(ctx, atype.rule(rule), target)
            new = copy.deepcopy(old)
            edit = mutate(new)
            self._hooks(atype, "pre_update", ctx, new, old=old)
            self._validate_change(ctx, atype, old, new, target)
            plan = self.locations.plan(atype, old, new, edit) \
                if isinstance(edit, LocationEdit) else None
            if plan is None and _same(old, new):
                return old

            def run(conn):
                if not db.update(conn, old, new):
                    return False
                if plan is not None:
                    plan.write(conn)
                return True
            try:
                saved = transaction(self.db, run)
            except sa.exc.IntegrityError:
                raise _duplicate(atype, new)
            if saved:
                if plan is not None:
                    self.locations.finish(plan)
                    new = read(self.db, lambda conn: db.get(
                        conn, artifact_id, atype.name)) or new
                self.events.emit("update", ctx, atype, artifact_id, new,
                                 old=old)
                self._hooks(atype, "post_update", ctx, new, old=old)
                return new
            time.sleep(0.001)
        raise errors.Conflict("The %s was changed by too many concurrent "
                              "requests; try again." % atype.noun)

    def _validate_change(self, ctx, atype, old, new, target):
        if new["owner"] != old["owner"]:
            if not ctx.is_admin:
                raise errors.Forbidden("Owner can't be updated by non admin."
                                       ).as_detail()
            _check_owner(atype, new["owner"])
        if new["visibility"] != old["visibility"]:
            self._check_visibility_policy(ctx, atype, new["visibility"],
                                          target)
        frozen = old["status"] != atype.initial_status and \
            atype.initial_status == "drafted"
        for name, fdef in atype.fields.items():
            if new["properties"].get(name) != old["properties"].get(name):
                if fdef.system or fdef.is_data:
                    raise errors.Forbidden("Attribute '%s' is read-only."
                                           % name)
                if frozen and not fdef.mutable:
                    raise errors.Forbidden(
                        "Field '%s' cannot change once the %s is %s."
                        % (name, atype.noun, old["status"]))
        if frozen and (new["name"] != old["name"]
                       or new["version"] != old["version"]):
            raise errors.Forbidden("Name and version cannot change once the "
                                   "%s is %s." % (atype.noun, old["status"]))
        self._validate_properties(atype, new["properties"],
                                  old["properties"])
        self._check_links(ctx, atype, new["properties"], old["properties"])
        if new["version"] != old["version"] and \
                not isinstance(new["version"], tuple):
            new["version"] = versions.parse(new["version"])
        _set_version_keys(atype, new)
        limits.check_artifact(self.limits, atype, new, old)

    # ------------------------------------------------------------- lifecycle

    def change_status(self, ctx, atype, artifact_id, operation, source,
                      target_status):
        with self._locked_visible(ctx, atype, artifact_id, operation):
            return self._change_status_locked(ctx, atype, artifact_id,
                                              operation, source,
                                              target_status)

    def _change_status_locked(self, ctx, atype, artifact_id, operation,
                              source, target_status):
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
        self._hooks(atype, "pre_" + operation, ctx, artifact)
        ok = transaction(self.db, lambda conn: db.set_status(
            conn, artifact_id, source, target_status))
        if not ok:
            raise errors.Conflict("The %s changed status while it was being "
                                  "%sd; try again." % (atype.noun, operation))
        self.events.emit("status", ctx, atype, artifact_id,
                         operation=operation, old=source, new=target_status)
        self._hooks(atype, "post_" + operation, ctx, artifact)

    def activate(self, ctx, atype, artifact_id):
        with self._locked_visible(ctx, atype, artifact_id, "activate"):
            return self._activate_locked(ctx, atype, artifact_id)

    def _activate_locked(self, ctx, atype, artifact_id):
        """drafted → active, once every required field and blob is there
        and no upload is running; the artifact is immutable afterwards
        except for its ``mutable`` fields."""
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("activate"),
                              self._target(artifact, ctx, membership))
        if artifact["status"] == atype.active_status:
            return artifact
        if not atype.may_move(artifact["status"], atype.active_status) or \
                artifact["status"] != atype.initial_status:
            raise errors.Conflict("A %s in status %s cannot be activated."
                                  % (atype.noun, artifact["status"]))
        present = {b["field"] for b in artifact["blobs"]
                   if b["status"] == "active"}
        missing = [n for n, f in atype.fields.items()
                   if f.required_on_activate and (
                       n not in present if f.is_data
                       else artifact["properties"].get(n) is None)]
        if missing:
            raise errors.Invalid("Cannot activate: required field(s) %s "
                                 "not set." % ", ".join(sorted(missing)))
        if self.data.uploads_in_progress(artifact_id):
            raise errors.Conflict("Cannot activate while an upload into the "
                                  "%s is in progress." % atype.noun)
        self._hooks(atype, "pre_activate", ctx, artifact)
        if not transaction(self.db, lambda conn: db.set_status(
                conn, artifact_id, artifact["status"],
                atype.active_status)):
            raise errors.Conflict("The %s changed status while it was being "
                                  "activated; try again." % atype.noun)
        activated = self.get(ctx, atype, artifact_id)
        self.events.emit("activate", ctx, atype, artifact_id, activated)
        self._hooks(atype, "post_activate", ctx, activated)
        return activated

    def delete(self, ctx, atype, artifact_id):
        with self._locked_visible(ctx, atype, artifact_id, "delete"):
            return self._delete_locked(ctx, atype, artifact_id)

    def _delete_locked(self, ctx, atype, artifact_id):
        artifact, membership = self._fetch(ctx, atype, artifact_id)
        self.enforcer.enforce(ctx, atype.rule("delete"),
                              self._target(artifact, ctx, membership))
        if artifact["protected"]:
            raise errors.Forbidden("%s %s is protected and cannot be deleted."
                                   % (atype.noun.capitalize(), artifact_id))
        self._hooks(atype, "pre_delete", ctx, artifact)
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
                unique_key=None, revision=db.A.c.revision + 1))
            return db.retire_blobs(conn, artifact_id)
        retired = transaction(self.db, run)
        LOG.info("Deleted %s %s", atype.noun, artifact_id)
        self.events.emit("delete", ctx, atype, artifact_id, artifact,
                         deleted_at=now, status=status)
        self._hooks(atype, "post_delete", ctx, artifact)
        if not self.limits.delayed_delete:
            self.data.remove_data(retired)
        if any(b["status"] == "saving" for b in artifact["blobs"]):
            # An upload was running: if its process is dead, what it wrote
            # goes now (a live one removes its own data when it fails).
            recovery.recover(self.data, [atype], artifact_id)

    def scrub(self, batch=100):
        """Finish deletions that left pending_delete data behind."""
        return self.data.scrub(batch)


def _set_version_keys(atype, artifact):
    """version_sort always; unique_key for live artifacts of versioned
    types (NULL never collides, so deleted ones free their name)."""
    artifact["version_sort"] = versions.sort_key(artifact["version"])
    artifact["unique_key"] = None
    if atype.versioned and not artifact.get("deleted"):
        identity = "\x00".join([atype.name, artifact["owner"] or "",
                                 artifact["name"] or "",
                                 artifact["version_sort"]])
        artifact["unique_key"] = hashlib.sha256(
            identity.encode("utf-8")).hexdigest()


def _check_owner(atype, owner):
    """No artifact is ever stored without an owner: an ownerless one
    would be visible to everybody (``_visible``), counted against no
    quota and deletable by no project.  A caller with no project (a token
    scoped to the system or a domain; policy refuses those first, as
    Glance does) or an admin asking for ``owner: null`` is refused."""
    if owner is None or (isinstance(owner, str) and not owner.strip()):
        raise errors.Forbidden(
            "A %s must be owned by a project: the request has no project "
            "(use a project-scoped token) and names no owner."
            % atype.noun)


def _duplicate(atype, artifact):
    return errors.Conflict(
        "A %s named %r with version %s already exists in this project."
        % (atype.noun, artifact["name"], versions.render(artifact["version"])))


def _plausible_id(artifact_id):
    """Ids are canonical UUIDs: anything else names no artifact, so it is
    never looked up (and never stored, see create)."""
    return is_canonical_uuid(artifact_id)


def _same(old, new):
    keys = ("name", "owner", "visibility", "status", "protected", "hidden",
            "version", "properties", "tags")
    return all(old.get(k) == new.get(k) for k in keys)
