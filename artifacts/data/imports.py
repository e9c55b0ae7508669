"""Import of staged data into stores (``DataService.import_staged``):
the staging flow's data is copied into each target store, every byte
checked, and becomes the artifact's data in one transaction; or it is
discarded.  Functions of the ``DataService`` they act for (``data``)."""

import logging

import sqlalchemy as sa

from artifacts import errors, instance
from artifacts.data import common, removal
from artifacts.data.common import B, DIGEST_COLUMNS, TAKEN_OVER
from artifacts.db import api as db
from artifacts.db.session import transaction
from artifacts.quotas import releases_reservations
from artifacts.recovery import Writes
from artifacts.stores import streaming
from artifacts.stores.placement import open_locations

LOG = logging.getLogger(__name__)


@releases_reservations
def import_staged(data, ctx, atype, artifact_id, staged="staging",
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
    engine = data.engine
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
    work = _import_claim(data, atype, artifact_id, flow, field,
                         artifact.get("owner"))
    engine.events.emit("import_start", ctx, atype, artifact_id,
                       dict(artifact, status=flow.importing))
    made, failed, meters = [], [], []
    try:
        targets = [data.stores.for_new(atype, field, requested=s)
                   for s in (stores or [None])]
        states, in_place = _copy_staged(
            data, ctx, atype, artifact, blob, field, targets, made, failed,
            all_must_succeed, work, meters)
    except BaseException:
        data._release(atype, artifact_id, work, flow.importing, flow.to)
        data._import_failed(ctx, atype, artifact_id)
        raise
    try:
        values = dict(properties(failed) if callable(properties)
                      else properties or {})
        values.update(_recorded(data, ctx, atype, artifact, blob, field,
                                states))
    except errors.ArtifactError:
        # The type refuses the data: drop it; the artifact is back in
        # its initial status and can be staged anew.
        data._release(atype, artifact_id, work, flow.importing)

        def reset(conn):
            db.set_properties(conn, artifact_id, {"size": None}
                              if "size" in atype.fields else {})
            return db.retire_blobs(conn, artifact_id, staged)
        removal.remove_data(data, transaction(data.db, reset))
        data._import_failed(ctx, atype, artifact_id)
        raise
    except BaseException:
        data._release(atype, artifact_id, work, flow.importing, flow.to)
        data._import_failed(ctx, atype, artifact_id)
        raise

    def finish(conn):
        if not db.set_status(conn, artifact_id, flow.importing,
                             atype.active_status):
            return common.gone_or_taken_over(conn, artifact_id)
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
        stale = transaction(data.db, finish)
    except BaseException:
        data._release(atype, artifact_id, work, flow.importing, flow.to)
        data._import_failed(ctx, atype, artifact_id)
        raise
    if stale is None:
        gone = errors.Gone("%s %s was deleted during the import."
                           % (atype.noun.capitalize(), artifact_id))
        data._release(atype, artifact_id, work)
        data._import_failed(ctx, atype, artifact_id, gone)
        raise gone
    engine.events.emit("import_done", ctx, atype, artifact_id,
                       stores=[t.name for t, _ in made])
    for blob in stale:
        removal.remove_locations(data, blob, blob["locations"])
    LOG.info("Imported staged data into %s %s (stores %s)", atype.noun,
             artifact_id, ", ".join(t.name for t, _ in made) or
             "staging")
    return failed


def _import_claim(data, atype, artifact_id, flow, field, owner=None):
    """Move the staged status to ``importing`` and claim ``field`` for
    this process in one transaction: the import has an owner that can
    be proven dead, like an upload.  A project already over its
    stored bytes (or with more artifacts on their way than its
    ``uploading_count``) is refused here, before anything changes."""
    def run(conn):
        if not db.set_status(conn, artifact_id, flow.to,
                             flow.importing):
            raise busy
        data.engine.quotas.check_not_over(conn, atype, owner)
        now = db.utcnow()
        work = common.Work(conn.execute(B.insert().values(
            artifact_id=artifact_id, field=field, path="", position=0,
            slot=common.claim_slot(field, ""), status="saving",
            external=False, holder=instance.current(), created_at=now,
            updated_at=now)).inserted_primary_key[0])
        data.engine.quotas.check_uploading(conn, atype, owner)
        return work
    busy = errors.Conflict("%s %s changed status; another import may be "
                           "in progress." % (atype.noun.capitalize(),
                                             artifact_id))
    try:
        return transaction(data.db, run)
    except sa.exc.IntegrityError:
        raise busy


def discard_staged(data, atype, artifact_id, staged="staging"):
    """Drop staged data that will not be imported (a fetch whose
    import failed): the artifact goes from the staging flow's status
    back to its initial one and the staged data is deleted.  Nothing
    happens when the artifact is no longer in that status (another
    upload won, or it was deleted).  True if it was discarded."""
    return _unstage(data, atype, artifact_id, staged,
                    atype.data_flows[staged].to)


def _unstage(data, atype, artifact_id, staged, status):
    def run(conn):
        if not db.set_status(conn, artifact_id, status,
                             atype.initial_status):
            return None
        db.set_properties(conn, artifact_id, {"size": None}
                          if "size" in atype.fields else {})
        return db.retire_blobs(conn, artifact_id, staged)
    retired = transaction(data.db, run)
    removal.remove_data(data, retired or [])
    return retired is not None


def _copy_staged(data, ctx, atype, artifact, blob, field, targets, made,
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
        meters.append(common.InPlace(data.engine.quotas.meter(
            atype, artifact), blob["size"] or 0))
        return _inspect_stored(data, ctx, atype, artifact, blob,
                               field), True
    beat = data._heartbeat(work)
    meter = data.engine.quotas.meter(atype, artifact)
    result, states = data._copy(
        atype, artifact["id"], field, blob, first, work,
        through=lambda chunks: data._filter(ctx, atype, artifact,
                                            chunks, field),
        on_chunk=meter.wrap(beat))
    meters.append(meter)
    made.append((first, result))
    for target in targets[1:]:
        meter = data.engine.quotas.meter(atype, artifact)
        try:
            made.append((target, data._copy(
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


def _recorded(data, ctx, atype, artifact, blob, field, states):
    """What the type's post_upload hooks record about staged data."""
    result = streaming.WriteResult(
        location=blob["locations"][0]["url"], size=blob["size"],
        digests={a: blob[a] for a in DIGEST_COLUMNS if blob[a]})
    values = {}
    for hook in atype.hooks.get("post_upload", ()):
        values.update(hook(ctx, artifact, result=result, field=field,
                           path="", states=states,
                           algorithm=data.limits.hashing_algorithm)
                      or {})
    return values


def _inspect_stored(data, ctx, atype, artifact, blob, field):
    """Run the upload filters over data already stored."""
    if not atype.hooks.get("upload_filter"):
        return []
    reader = open_locations(data.stores, blob)
    try:
        chunks, states = data._filter(ctx, atype, artifact,
                                      common.blocks(reader), field)
        for _ in chunks:
            pass
    finally:
        reader.close()
    return states
