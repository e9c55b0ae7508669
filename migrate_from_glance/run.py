"""``migrate(source_url, engine, options) -> Report``: the migration.

Batches of Glance images in id order; for each batch, one read of the
source (stamps first, then the rows of the images whose stamp differs from
the one recorded in Glare) and one write transaction into Glare
(``writer.write_batch``).  Unchanged images cost one aggregate query per
child table per batch, so a re-run with nothing changed is quick.  A kill
at any point loses at most the batch being written, which the next run
writes again.  ``--copy-data`` then copies active images' data into
Glare's store (``copy.copy_all``).
"""

import collections
import dataclasses
import datetime
import logging
import queue
import sys
import threading
import time

import sqlalchemy as sa

from artifacts.db import migrate as db_migrate
from migrate_from_glance import (faults, metadefs, progress, records, source,
                                 tasks, writer)

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    batch: int = 1000
    since: datetime.datetime | None = None
    dry_run: bool = False
    copy_data: bool = False
    store_map: dict = dataclasses.field(default_factory=dict)
    encryption_key: str | None = None
    check_files: bool = True
    show_progress: bool | None = None   # None: a bar on a terminal only
    out: object = None                  # where the bar goes (stderr)


@dataclasses.dataclass
class Report:
    source_version: str = ""
    seen: int = 0
    written: int = 0
    written_ids: list = dataclasses.field(default_factory=list)
    unchanged: int = 0
    by_status: collections.Counter = dataclasses.field(
        default_factory=collections.Counter)
    counts: collections.Counter = dataclasses.field(
        default_factory=collections.Counter)
    copied: int = 0
    bytes_copied: int = 0
    problems: list = dataclasses.field(default_factory=list)
    metadefs: dict = dataclasses.field(default_factory=dict)
    tasks: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def ok(self):
        return not self.problems

    def render(self):
        verb = "would write" if self.dry_run else "written"
        lines = ["Glance schema %s: %d images read, %d %s, %d unchanged, "
                 "%d skipped, in %.1f s." % (
                     self.source_version, self.seen, self.written, verb,
                     self.unchanged, len(self.problems), self.seconds)]
        if self.by_status:
            lines.append("Images %s by status: %s" % (verb, ", ".join(
                "%s %d" % kv for kv in sorted(self.by_status.items()))))
        lines.append("Rows %s: %s" % (verb, ", ".join(
            "%s %d" % (k, self.counts[k]) for k in
            ("properties", "tags", "members", "locations"))))
        if self.metadefs:
            lines.append("Metadata definitions %s: %s" % (verb, ", ".join(
                "%s %d" % kv for kv in self.metadefs.items())))
        if self.tasks:
            lines.append("Tasks %s: %d (%d still running in Glance)." % (
                verb, self.tasks["tasks"], self.tasks["running"]))
        if self.copied or self.bytes_copied:
            lines.append("Data copied: %d images, %d bytes."
                         % (self.copied, self.bytes_copied))
        for note in self.notes:
            lines.append("Note: %s" % note)
        for image_id, reason in self.problems:
            lines.append("SKIPPED image %s: %s" % (image_id, reason))
        return "\n".join(lines)


class MigrationError(Exception):
    """The run stopped (unreachable database, unknown schema, ...)."""


def _check_target(engine):
    current = db_migrate.current(engine)
    if current != db_migrate.head():
        raise MigrationError(
            "Glare's database is at revision %s, not %s: run `glare db "
            "upgrade` first." % (current, db_migrate.head()))


def migrate(source_url, engine, options=None):
    """Bring Glance's images into Glare's database.

    ``engine``: the artifact engine of the target (``glare.app.
    build_engine(conf)``): its database, stores and limits are used.
    Returns a Report; raises MigrationError when the run cannot start or
    must stop."""
    options = options or Options()
    started = time.monotonic()
    report = Report(dry_run=options.dry_run)
    try:
        src = source.open_source(source_url)
    except source.SourceError as exc:
        raise MigrationError(str(exc)) from None
    try:
        _check_target(engine.db)
        report.source_version = ",".join(source.check_schema(
            src, source_url))
        with src.connect() as conn:
            ids = (source.changed_since(conn, options.since)
                   if options.since else None)
            total = len(ids) if ids is not None else source.count_images(conn)
        ctx = records.Context(stores=engine.stores, limits=engine.limits,
                              store_map=options.store_map,
                              encryption_key=options.encryption_key,
                              check_files=options.check_files)
        bar = progress.start(total, "images", options.show_progress,
                             options.out)
        try:
            for prepared in _pipeline(src, engine.db, ctx, options, ids):
                _commit(engine.db, prepared, options, report, engine.stores)
                bar.advance(prepared.seen)
        except records.Fatal as exc:
            raise MigrationError(str(exc)) from None
        except sa.exc.DBAPIError as exc:
            raise MigrationError("Database error: %s" % exc.orig) from None
        finally:
            bar.close()
        _notes(report)
        _catalogs(src, engine.db, options, report)
        if options.copy_data and not options.dry_run:
            from migrate_from_glance import copy
            copy.copy_all(engine, options, report)
    finally:
        src.dispose()
    report.seconds = time.monotonic() - started
    return report


def _read_txn(src):
    """A source connection inside one read transaction (a consistent view
    of a batch where the database gives one)."""
    conn = src.connect()
    if src.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    return conn


@dataclasses.dataclass
class _Prepared:
    seen: int
    unchanged: int
    stamps: dict
    built: list
    replace: list
    problems: list
    dropped_copies: list = dataclasses.field(default_factory=list)


def _pipeline(src, target, ctx, options, ids):
    """Prepared batches, read and built by a second thread while this one
    writes the previous batch: reading Glance, building records and
    writing Glare overlap (the databases, and sqlite3 and psycopg2 while
    they wait on them, run without the GIL).  At most two batches wait."""
    out = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for rows in source.image_batches(lambda: _read_txn(src),
                                             options.batch, ids):
                item = _prepare(src, target, rows, ctx)
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out.put(exc)

    thread = threading.Thread(target=produce, name="glance-reader",
                              daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)


def _prepare(src, target, rows, ctx):
    """Stamps of a batch, and records of the images whose stamp differs
    from the one Glare has (problems collected, not raised)."""
    ids = [r.id for r in rows]
    with _read_txn(src) as sconn:
        stamps = source.stamps(sconn, rows)
        with target.connect() as tconn:
            known = writer.state(tconn, ids)
            present = writer.existing(tconn, ids)
        todo = [r for r in rows if known.get(r.id, {}).get("stamp")
                != stamps[r.id]]
        kids = source.children(sconn, rows, [r.id for r in todo
                                             if not r.deleted])
    prepared = _Prepared(len(rows), len(rows) - len(todo), stamps, [], [],
                         [])
    for image in todo:
        try:
            if image.id in present and image.id not in known:
                raise records.Problem(image.id, _taken(present[image.id]))
            rec = records.build(image, kids.get(image.id), ctx,
                                copied=known.get(image.id))
        except records.Problem as exc:
            prepared.problems.append((exc.image_id, exc.reason))
            continue
        prepared.built.append(rec)
        if image.id in present:
            prepared.replace.append(image.id)
        old = known.get(image.id) or {}
        if old.get("copied_url") and rec.copied is None:
            prepared.dropped_copies.append((image.id, old["copied_store"],
                                            old["copied_url"]))
    return prepared


def _drop_copies(stores, dropped, report):
    """Delete --copy-data copies that the images no longer use (deleted
    in Glance, or their data changed): after the commit, so a kill in
    between leaks the object rather than losing data still in use."""
    for image_id, store_id, url in dropped:
        try:
            stores.driver(store_id).delete(url)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            report.notes.append("image %s: its old copy in store %s could "
                                "not be deleted: %s" % (image_id, store_id,
                                                        exc))


def _commit(target, prepared, options, report, stores=None):
    """Write a prepared batch (one transaction) and count it."""
    report.seen += prepared.seen
    report.unchanged += prepared.unchanged
    for image_id, reason in prepared.problems:
        LOG.error("Not migrated: image %s: %s", image_id, reason)
    report.problems.extend(prepared.problems)
    built = prepared.built
    if built and not options.dry_run:
        writer.write_batch(target, built, prepared.stamps, writer.utcnow(),
                           prepared.replace)
    faults.point("after-batch")
    if not options.dry_run:
        _drop_copies(stores, prepared.dropped_copies, report)
    for rec in built:
        report.written += 1
        report.written_ids.append(rec.id)
        report.by_status[rec.row["status"] + (
            " (deleted, id reserved)" if rec.deleted else "")] += 1
        report.counts.update(rec.counts)


def _catalogs(src, target, options, report):
    """Glance's metadata definitions catalog and its tasks, whole (one
    transaction each)."""
    with src.connect() as conn:
        catalog = metadefs.read_catalog(conn)
        task_rows = tasks.read_tasks(conn)
    if options.dry_run:
        report.metadefs = metadefs.counts(catalog)
        report.tasks = tasks.counts(task_rows)
        return
    try:
        report.metadefs = metadefs.write_catalog(target, catalog)
        report.tasks = tasks.write_tasks(target, task_rows)
    except sa.exc.DBAPIError as exc:
        raise MigrationError("Database error writing metadata definitions "
                             "or tasks: %s" % exc.orig) from None


def _notes(report):
    """What the operator should know about images that did move."""
    staged = sum(n for s, n in report.by_status.items()
                 if s in ("uploading", "importing"))
    if staged:
        report.notes.append(
            "%d images are uploading or importing: the data staged for them "
            "in Glance's staging store is not migrated; stage it again "
            "after the cut-over." % staged)
    scrub = report.by_status.get("pending_delete (deleted, id reserved)")
    if scrub:
        report.notes.append(
            "%d deleted images still have data Glance's scrubber is to "
            "remove (pending_delete): run glance-scrubber before the "
            "cut-over; Glare never deletes it." % scrub)


def _taken(type_name):
    if type_name != records.TYPE:
        return ("Glare already has an artifact of type %s with this id; "
                "the image cannot take it." % type_name)
    return ("Glare already has an image with this id that this tool did "
            "not write (made in Glare?); delete one of the two first.")


def main_report(report, out=sys.stdout):
    print(report.render(), file=out)
