"""Deleting data that was retired (a re-upload, a delete, a removed
location) from its stores, and ``glare scrub`` for what could not be
deleted at once.  Functions of the ``DataService`` they act for
(``data``)."""

import logging

from artifacts import errors
from artifacts.db import api as db
from artifacts.db.session import read, transaction
from artifacts.stores import redact

LOG = logging.getLogger(__name__)


def remove_data(data, blobs):
    """Delete retired blobs' data from every location; a blob whose
    data is all gone is forgotten (its rows with it, one transaction).
    Locations that fail stay pending_delete so that ``glare scrub``
    can finish the job."""
    for blob in blobs:
        removed, failed = _delete_data(data, blob, blob["locations"])
        if not failed:
            transaction(data.db, lambda c: db.forget_blob(c, blob["id"]))
        elif removed:
            transaction(data.db, lambda c: db.set_location_status(
                c, removed, "deleted"))


def remove_locations(data, blob, locations):
    """Delete the data of some pending locations of a live blob and
    mark them deleted; failures stay pending_delete for the scrub."""
    removed, _ = _delete_data(data, blob, locations)
    if removed:
        transaction(data.db, lambda c: db.set_location_status(
            c, removed, "deleted"))


def _delete_data(data, blob, locations):
    """Delete the data behind ``locations`` from their stores (never
    for an external blob: its URL is not ours); returns the ids of
    the locations whose data is gone and of those that failed."""
    removed, failed = [], []
    for loc in locations:
        if blob.get("external"):
            removed.append(loc["id"])
            continue
        store_id = loc["store"] or data.stores.owner_of(loc["url"])
        try:
            if store_id is None:
                raise errors.StoreUnavailable("no store owns it")
            driver = data.stores.driver(store_id)
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


def scrub(data, batch=100):
    """Finish deletions that left pending_delete data behind."""
    total = 0
    while True:
        rows = read(data.db, lambda c: db.pending_blobs(c, batch))
        locs = read(data.db, lambda c: db.pending_locations(c, batch))
        if not rows and not locs:
            return total
        remove_data(data, rows)
        for loc in locs:
            remove_locations(data, {"external": False}, [loc])
        total += len(rows) + len(locs)
        if len(rows) < batch and len(locs) < batch:
            return total
