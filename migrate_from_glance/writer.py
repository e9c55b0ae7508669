"""Writing a batch of Records into Glare's database in one transaction.

The ``artifacts`` rows are upserted by id (``INSERT ... ON CONFLICT (id) DO
UPDATE`` on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB/
MySQL); an image's child rows (properties, tags, members, blob and
locations) are replaced whole: deleted for the images of the batch already
in Glare, then inserted with one executemany per table.  The
``glance_migration`` row of each image (its source stamp) is upserted in
the same transaction, so a batch is all there or not at all, and a re-run
after a kill -9 anywhere redoes at most the batch that was cut off.
"""

import operator

import sqlalchemy as sa

from artifacts.db import api as db
from artifacts.db.models import (artifact_blobs, artifact_members,
                                 artifact_properties, artifact_tags,
                                 artifacts, blob_locations, glance_migration)
from artifacts.db.session import transaction
from migrate_from_glance import faults

A = artifacts
G = glance_migration
_CHUNK = 500


def bulk_insert(conn, table, rows, key=None, update=(), bump=None):
    """INSERT ``rows`` (dicts with the same keys) through the driver's own
    executemany: SQLAlchemy's per-row parameter processing was most of the
    time of a batch.  Timestamps are written as SQLAlchemy writes them
    (SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' text, which sorts right).

    ``key``: an upsert -- a row whose ``key`` columns exist already gets
    the ``update`` columns of the new row (``INSERT ... ON CONFLICT DO
    UPDATE`` on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on
    MariaDB/MySQL) and ``bump`` (a column) incremented."""
    if not rows:
        return
    names = list(rows[0])
    getter = operator.itemgetter(*names)
    values = [getter(r) for r in rows] if len(names) > 1 else \
        [(getter(r),) for r in rows]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stamps = [i for i, n in enumerate(names)
                  if isinstance(table.c[n].type, sa.DateTime)]
        if stamps:
            values = [_sqlite_times(v, stamps) for v in values]
    cursor = conn.connection.dbapi_connection.cursor()
    columns = ", ".join(conn.dialect.identifier_preparer.quote(n)
                        for n in names)
    tail = _on_conflict(dialect, table, key, update, bump) if key else ""
    try:
        if dialect == "postgresql":
            from psycopg2.extras import execute_values
            execute_values(cursor, "INSERT INTO %s (%s) VALUES %%s%s" % (
                table.name, columns, tail), values, page_size=1000)
        else:
            mark = "?" if dialect == "sqlite" else "%s"
            cursor.executemany("INSERT INTO %s (%s) VALUES (%s)%s" % (
                table.name, columns, ", ".join([mark] * len(names)), tail),
                values)
    finally:
        cursor.close()


def _on_conflict(dialect, table, key, update, bump):
    if dialect == "mysql":
        sets = ["%s = VALUES(%s)" % (c, c) for c in update]
        if bump:
            sets.append("%s = %s + 1" % (bump, bump))
        return " ON DUPLICATE KEY UPDATE " + ", ".join(sets)
    sets = ["%s = excluded.%s" % (c, c) for c in update]
    if bump:
        sets.append("%s = %s.%s + 1" % (bump, table.name, bump))
    return " ON CONFLICT (%s) DO UPDATE SET %s" % (", ".join(key),
                                                   ", ".join(sets))


def _sqlite_times(row, positions):
    row = list(row)
    for i in positions:
        if row[i] is not None:
            row[i] = row[i].isoformat(" ", "microseconds")
    return row


def _chunks(values):
    values = list(values)
    for i in range(0, len(values), _CHUNK):
        yield values[i:i + _CHUNK]


def state(conn, ids):
    """{image id: glance_migration row as a dict} for these ids."""
    out = {}
    for part in _chunks(ids):
        for row in conn.execute(sa.select(G).where(
                G.c.image_id.in_(part))).all():
            out[row.image_id] = dict(row._mapping)
    return out


def existing(conn, ids):
    """{id: type_name} of the artifacts among ``ids``."""
    out = {}
    for part in _chunks(ids):
        out.update(conn.execute(sa.select(A.c.id, A.c.type_name).where(
            A.c.id.in_(part))).all())
    return out


def _clear_children(conn, ids):
    B, L = artifact_blobs, blob_locations
    for part in _chunks(ids):
        blob_ids = sa.select(B.c.id).where(B.c.artifact_id.in_(part))
        conn.execute(L.delete().where(L.c.blob_id.in_(blob_ids)))
        conn.execute(B.delete().where(B.c.artifact_id.in_(part)))
        for table in (artifact_properties, artifact_tags, artifact_members):
            conn.execute(table.delete().where(
                table.c.artifact_id.in_(part)))


ROW_UPDATE = ("name", "owner", "visibility", "status", "protected", "hidden",
              "deleted", "created_at", "updated_at", "deleted_at",
              "unique_key")


def write_batch(engine, records, stamps, now, replace):
    """Write ``records`` (and their stamps) in one transaction.

    ``replace``: ids of the records already in Glare (their children are
    replaced).  Returns nothing; raises on any database error, in which
    case nothing of the batch is written."""
    def run(conn):
        if replace:
            _clear_children(conn, replace)
        _upsert_artifacts(conn, [rec.row for rec in records])
        props, tags, members, blobs = [], [], [], []
        for rec in records:
            props.extend(rec.properties)
            tags.extend(rec.tags)
            members.extend(rec.members)
            if rec.blob is not None:
                blobs.append(dict(rec.blob, artifact_id=rec.id))
        bulk_insert(conn, artifact_properties, props)
        faults.point("in-batch")
        bulk_insert(conn, artifact_tags, tags)
        bulk_insert(conn, artifact_members, members)
        if blobs:
            bulk_insert(conn, artifact_blobs, blobs)
            blob_ids = {}
            B = artifact_blobs
            for part in _chunks([b["artifact_id"] for b in blobs]):
                blob_ids.update(conn.execute(sa.select(
                    B.c.artifact_id, B.c.id).where(
                    B.c.artifact_id.in_(part), B.c.slot.is_not(None))).all())
            locations = []
            for rec in records:
                if rec.blob is not None:
                    for loc in rec.locations:
                        locations.append(dict(loc,
                                              blob_id=blob_ids[rec.id]))
            bulk_insert(conn, blob_locations, locations)
        bulk_insert(conn, G, [{"image_id": rec.id, "stamp": stamps[rec.id],
                               "migrated_at": now, **_copied(rec)}
                              for rec in records],
                    key=["image_id"], update=(
                        "stamp", "migrated_at", "copied_store", "copied_url",
                        "copied_digest"))
    transaction(engine, run)


def _copied(rec):
    """A kept --copy-data location stays recorded; otherwise cleared."""
    copied = rec.copied or {}
    return {"copied_store": copied.get("copied_store"),
            "copied_url": copied.get("copied_url"),
            "copied_digest": copied.get("copied_digest")}


def _upsert_artifacts(conn, rows):
    """Upsert ``artifacts`` rows; an existing row's revision is bumped so a
    compare-and-swap begun before the migration fails and re-reads."""
    bulk_insert(conn, A, rows, key=["id"], update=ROW_UPDATE,
                bump="revision")


def utcnow():
    return db.utcnow()
