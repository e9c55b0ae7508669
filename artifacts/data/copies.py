"""Data in more than one place: an external URL registered as a blob's
data, a copy of a blob into one more store, and the removal of one copy.
Functions of the ``DataService`` they act for (``data``)."""

import logging

import sqlalchemy as sa

from artifacts import errors, external
from artifacts.data import common, removal
from artifacts.data.common import B, TAKEN_OVER
from artifacts.db import api as db
from artifacts.db.session import transaction
from artifacts.quotas import releases_reservations
from artifacts.recovery import Writes

LOG = logging.getLogger(__name__)


def register_external(data, ctx, atype, artifact_id, field, url, path="",
                      size=None, digests=None):
    """Make ``url`` the data of a blob (or folder path) without copying
    it; checked against the operator's policy and never fetched by
    Glare (downloads redirect), so it cannot be used for SSRF."""
    engine = data.engine
    fdef, path = data._data_field(atype, field, path, for_write=True)
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
        if not data._writable_status(atype, fdef, row["status"]):
            raise errors.Forbidden(
                "Field '%s' cannot change once the %s is %s."
                % (field, atype.noun, row["status"]))
        common.refuse_twin(field, path, data._live_twin(
            conn, artifact_id, field, path))
        retired = db.retire_blobs(conn, artifact_id, field, path)
        db.insert_blob(conn, artifact_id, field, dict(
            status="active", size=size, external=True,
            **{a: digests.get(a) for a in ("md5", "sha1", "sha256")}),
            path=path, locations=[{"store": None, "url": url}])
        return retired
    with engine._locked(atype, artifact_id, "upload"):
        retired = transaction(data.db, run)
    engine.events.emit("upload_done", ctx, atype, artifact_id,
                       field=field, path=path, store=None, external=True)
    removal.remove_data(data, retired)


def _located_blob(data, ctx, atype, artifact_id, field, rule):
    """(artifact, live blob) after the visibility check and ``rule``."""
    artifact = data.engine.authorize(ctx, atype, artifact_id, rule)
    for blob in artifact["blobs"]:
        if blob["field"] == field and not blob["path"] and \
                blob["status"] == "active":
            return artifact, blob
    return artifact, None


@releases_reservations
def copy_to_store(data, ctx, atype, artifact_id, field, store_id,
                  rule="copy", on_chunk=None):
    """Copy a blob's data into one more store, every byte checked
    against its digests; the new location is appended.  The artifact
    must be active and the store must not already hold the data.
    ``on_chunk(total)`` is called as the bytes go (heartbeats).  The
    copy takes space: it is metered against the owner's byte quotas
    like an upload (413 when it does not fit, nothing left behind)."""
    target = data.stores.for_new(atype, field, requested=store_id)
    artifact, blob = _located_blob(data, ctx, atype, artifact_id, field,
                                   rule)
    if artifact["status"] != atype.active_status or blob is None:
        raise errors.Conflict("Only %ss with status %s can be copied."
                              % (atype.noun, atype.active_status))
    if any(loc["store"] == store_id for loc in blob["locations"]):
        raise errors.Conflict("The data of %s %s is already in store "
                              "'%s'." % (atype.noun, artifact_id,
                                         store_id))
    work = common.Work()
    meter = data.engine.quotas.meter(atype, artifact)
    data.engine.events.emit("copy_start", ctx, atype, artifact_id,
                            artifact, field=field, store=store_id)
    try:
        result, _ = data._copy(
            atype, artifact_id, field, blob, target, work,
            on_chunk=meter.wrap(data._heartbeat(work, also=on_chunk)))
    except BaseException as exc:
        data.engine.events.emit("copy_failed", ctx, atype, artifact_id,
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
        with data.engine._locked(atype, artifact_id, "copy"):
            outcome = transaction(data.db, run)
    except BaseException:
        data._release(atype, artifact_id, work)
        raise
    if outcome != "added":
        data._release(atype, artifact_id, work)
    if outcome == "gone":
        raise errors.Gone("%s %s changed or was deleted during the copy."
                          % (atype.noun.capitalize(), artifact_id))
    if outcome == "there":
        raise errors.Conflict("The data of %s %s is already in store "
                              "'%s'." % (atype.noun, artifact_id,
                                         store_id))
    LOG.info("Copied %s %s (%d bytes) into store %s", atype.noun,
             artifact_id, result.size, store_id)
    data.engine.events.emit("copy_done", ctx, atype, artifact_id,
                            field=field, store=store_id)


def remove_from_store(data, ctx, atype, artifact_id, field, store_id,
                      rule="delete_location"):
    """Delete one copy of a blob's data held by ``store_id`` (the first
    one, in read order).  Never the last location: the data must stay
    readable somewhere."""
    artifact, blob = _located_blob(data, ctx, atype, artifact_id, field,
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
    mine = [loc for loc in data.stores.read_order(blob["locations"])
            if loc["store"] == store_id]
    if not mine:
        raise errors.NotFound("%s %s has no data in store '%s'."
                              % (atype.noun.capitalize(), artifact_id,
                                 store_id))
    _retire_locations(data, atype, artifact_id, blob, mine[:1])
    data.engine.events.emit("location_removed", ctx, atype, artifact_id,
                            field=field, store=store_id)


def _retire_locations(data, atype, artifact_id, blob, locations):
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
    with data.engine._locked(atype, artifact_id, "location"):
        transaction(data.db, run)
    removal.remove_locations(data, blob, locations)
