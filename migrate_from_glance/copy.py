"""``--copy-data``: every active migrated image's data into a Glare store.

Through ``engine.data.copy_to_store``: the bytes stream from the Glance
location into the store Glare writes new images to, every byte checked
against the image's size, checksum and os_hash.  The copy is then read
back and checked once more; only then, in one transaction, do the Glance
locations leave the image (status ``deleted``: Glare never removes data
from them, Glance's data stays where it was) and the copy is recorded in
``glance_migration``.  Killed during a copy, a re-run copies again (the
unfinished object is never committed); killed after the copy but before
the switch, a re-run finds the copy, checks it and switches.
"""

import logging

import sqlalchemy as sa

from artifacts import errors
from artifacts.context import RequestContext
from artifacts.db import api as db
from artifacts.db.models import artifacts, glance_migration
from artifacts.db.session import transaction
from artifacts.types.images import IMAGES
from migrate_from_glance import faults, progress
from migrate_from_glance.checks import data_mismatches
from migrate_from_glance.records import copied_digest

LOG = logging.getLogger(__name__)
ADMIN = RequestContext(project_id=None, user_id="glare-migrate",
                       roles=("admin",))
A, G = artifacts, glance_migration


def _candidates(engine, batch):
    """Ids of migrated, active images not yet copied, in id order."""
    last = ""
    while True:
        with engine.db.connect() as conn:
            ids = [r[0] for r in conn.execute(
                sa.select(G.c.image_id).join(A, A.c.id == G.c.image_id)
                .where(G.c.image_id > last, G.c.copied_url.is_(None),
                       A.c.status == "active", A.c.deleted == sa.false())
                .order_by(G.c.image_id).limit(batch))]
        if not ids:
            return
        yield ids
        last = ids[-1]


def _uncopied(conn, status):
    """How many migrated live images of ``status`` have no copy yet."""
    return conn.execute(sa.select(sa.func.count()).select_from(
        G.join(A, A.c.id == G.c.image_id)).where(
        G.c.copied_url.is_(None), A.c.status == status,
        A.c.deleted == sa.false())).scalar()


def copy_all(engine, options, report):
    target = engine.stores.for_new(IMAGES, "image")
    with engine.db.connect() as conn:
        total, left = (_uncopied(conn, status)
                       for status in ("active", "deactivated"))
    if left:
        report.notes.append(
            "%d deactivated images keep their Glance locations (--copy-data "
            "copies active images; reactivate and run again to copy them)."
            % left)
    bar = progress.start(total, "copying", options.show_progress,
                         options.out)
    try:
        for ids in _candidates(engine, options.batch):
            for image_id in ids:
                try:
                    size = copy_one(engine, target.name, image_id)
                except errors.ArtifactError as exc:
                    report.problems.append((image_id, "data not copied: %s"
                                            % exc))
                    LOG.error("Data of image %s not copied: %s", image_id,
                              exc)
                else:
                    report.copied += 1
                    report.bytes_copied += size
                bar.advance(1)
    finally:
        bar.close()


def copy_one(engine, store_id, image_id):
    """Copy one image's data into ``store_id``, check it, switch to it;
    returns the bytes copied (0 when it was already there)."""
    image = engine.get(ADMIN, IMAGES, image_id)
    blob = next((b for b in image["blobs"] if b["field"] == "image"
                 and b["status"] == "active"), None)
    if blob is None or not blob["locations"]:
        raise errors.NotFound("image %s has no data to copy" % image_id)
    mine = [loc for loc in blob["locations"] if loc["store"] == store_id]
    copied = 0
    if not mine:
        engine.data.copy_to_store(ADMIN, IMAGES, image_id, "image", store_id)
        copied = blob["size"] or 0
        image = engine.get(ADMIN, IMAGES, image_id)
        blob = next(b for b in image["blobs"] if b["field"] == "image"
                    and b["status"] == "active")
        mine = [loc for loc in blob["locations"] if loc["store"] == store_id]
    faults.point("copied")
    copy = mine[0]
    _check(engine, store_id, copy["url"], image)
    others = [loc["id"] for loc in blob["locations"]
              if loc["id"] != copy["id"]]
    props = image["properties"]
    digest = copied_digest(_Image(props))

    def run(conn):
        db.set_location_status(conn, others, "deleted", expected="active")
        conn.execute(G.update().where(G.c.image_id == image_id).values(
            copied_store=store_id, copied_url=copy["url"],
            copied_digest=digest))
    transaction(engine.db, run)
    LOG.info("Image %s now served from store %s (%d bytes copied)",
             image_id, store_id, copied)
    return copied


class _Image:
    """The attributes ``copied_digest`` reads, from an image's properties."""

    def __init__(self, props):
        for name in ("size", "checksum", "os_hash_algo", "os_hash_value"):
            setattr(self, name, props.get(name))


def _check(engine, store_id, url, image):
    """Read the copy back whole: size, checksum and os_hash must match."""
    wrong = data_mismatches(engine.stores.driver(store_id).open(url),
                            image["properties"])
    if wrong:
        raise errors.StoreUnavailable(
            "the copy in store %s does not match the image (%s); the Glance "
            "location stays." % (store_id, "; ".join(wrong)))
