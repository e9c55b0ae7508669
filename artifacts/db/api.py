"""Queries of the artifact core: one place for SQL, no business rules.

Artifacts come back as plain dicts::

    {"id", "type_name", "name", "owner", "visibility", "status", "protected",
     "hidden", "deleted", "version": (major, minor, patch, pre, build),
     "revision", "created_at", "updated_at", "deleted_at",
     "properties": {name: value}, "tags": set, "blobs": [blob dicts]}

and each blob dict carries its active ``locations`` in order.

Property rows are typed: a scalar is one row (position 0, item_key ""), a
list is rows with positions 1..n, a dict is rows keyed by item_key.  Strings
up to 255 characters use the indexed ``string_value`` column.

A list is one indexed query for the page of ids plus one batched query each
for the page's properties, tags, blobs and locations: never one query per
artifact.
"""

import datetime
import hashlib
import json

import sqlalchemy as sa

from artifacts.db.models import (artifact_blobs, artifact_members,
                                 artifact_properties, artifact_tags,
                                 artifacts, blob_locations)

A = artifacts
P = artifact_properties
L = blob_locations

# Columns of ``artifacts`` that filters and sorts can name directly.
COLUMNS = {
    "id": A.c.id, "name": A.c.name, "owner": A.c.owner,
    "visibility": A.c.visibility, "status": A.c.status,
    "protected": A.c.protected, "hidden": A.c.hidden,
    "created_at": A.c.created_at, "updated_at": A.c.updated_at,
    "version": A.c.version_sort,
}

STRING_LIMIT = 255
_IN_CHUNK = 500


def utcnow():
    """Naive UTC with microseconds: creation order must survive in lists
    of images made within one second (responses show whole seconds)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------- properties

def _value_columns(value):
    """Map a Python scalar to the typed value columns of a property row."""
    cols = {"string_value": None, "text_value": None, "int_value": None,
            "numeric_value": None, "bool_value": None}
    if value is None:
        pass
    elif isinstance(value, bool):
        cols["bool_value"] = value
    elif isinstance(value, int):
        cols["int_value"] = value
    elif isinstance(value, float):
        cols["numeric_value"] = value
    else:
        value = str(value)
        if len(value) <= STRING_LIMIT:
            cols["string_value"] = value
        else:
            cols["text_value"] = value
    return cols


# ``position`` says what a property row is: 0 a scalar, 1..n the items of a
# list, DICT_ITEM an item of a dict (keyed by ``item_key``, which may be
# ""), EMPTY a marker row for an empty list ("[]") or dict ("{}").
DICT_ITEM = -1
EMPTY = -2


def property_rows(artifact_id, name, value):
    """Rows that store ``value`` (scalar, list or dict) under ``name``."""
    if isinstance(value, (list, tuple, dict)) and not value:
        return [dict(artifact_id=artifact_id, name=name, position=EMPTY,
                     item_key="{}" if isinstance(value, dict) else "[]",
                     **_value_columns(None))]
    if isinstance(value, (list, tuple)):
        return [dict(artifact_id=artifact_id, name=name, position=i + 1,
                     item_key="", **_value_columns(v))
                for i, v in enumerate(value)]
    if isinstance(value, dict):
        return [dict(artifact_id=artifact_id, name=name, position=DICT_ITEM,
                     item_key=str(k), **_value_columns(v))
                for k, v in value.items()]
    return [dict(artifact_id=artifact_id, name=name, position=0, item_key="",
                 **_value_columns(value))]


def _row_value(row):
    for col in ("string_value", "text_value", "int_value", "numeric_value",
                "bool_value"):
        value = row._mapping[col]
        if value is not None:
            return value
    return None


def _assemble_properties(rows):
    props = {}
    for row in rows:
        value = _row_value(row)
        if row.position == EMPTY:
            props[row.name] = {} if row.item_key == "{}" else []
        elif row.position == DICT_ITEM:
            props.setdefault(row.name, {})[row.item_key] = value
        elif row.position:
            props.setdefault(row.name, []).append((row.position, value))
        else:
            props[row.name] = value
    for name, value in props.items():
        if isinstance(value, list):
            props[name] = [v for _, v in sorted(value)]
    return props


# ------------------------------------------------------------------- reading

def _artifact_from_row(row):
    m = row._mapping
    return {
        "id": m["id"], "type_name": m["type_name"], "name": m["name"],
        "owner": m["owner"], "visibility": m["visibility"],
        "status": m["status"], "protected": bool(m["protected"]),
        "hidden": bool(m["hidden"]), "deleted": bool(m["deleted"]),
        "version": (m["version_major"], m["version_minor"],
                    m["version_patch"], m["version_prerelease"],
                    m["version_build"]),
        "version_sort": m["version_sort"], "unique_key": m["unique_key"],
        "revision": m["revision"], "created_at": m["created_at"],
        "updated_at": m["updated_at"], "deleted_at": m["deleted_at"],
        "properties": {}, "tags": set(), "blobs": [],
    }


def _chunks(ids):
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i:i + _IN_CHUNK]


def fetch_many(conn, ids, with_blobs=True, rows=None):
    """Artifacts with these ids, in the order given, with their details
    (``rows``: their ``artifacts`` rows when the caller already has them)."""
    if not ids:
        return []
    found = {}
    if rows is not None:
        found = {row.id: _artifact_from_row(row) for row in rows}
    else:
        for part in _chunks(ids):
            for row in conn.execute(sa.select(A).where(A.c.id.in_(part))):
                found[row.id] = _artifact_from_row(row)
    ids = [i for i in ids if i in found]
    rows_by_id = {}
    for part in _chunks(ids):
        query = sa.select(P.c.artifact_id, P.c.name, P.c.position,
                          P.c.item_key, P.c.string_value, P.c.text_value,
                          P.c.int_value, P.c.numeric_value, P.c.bool_value
                          ).where(P.c.artifact_id.in_(part)).order_by(P.c.id)
        for row in conn.execute(query):
            rows_by_id.setdefault(row.artifact_id, []).append(row)
        tags = sa.select(artifact_tags).where(
            artifact_tags.c.artifact_id.in_(part))
        for row in conn.execute(tags):
            found[row.artifact_id]["tags"].add(row.value)
        if with_blobs:
            for blob in _live_blobs(conn, part):
                found[blob["artifact_id"]]["blobs"].append(blob)
    for artifact_id, rows in rows_by_id.items():
        found[artifact_id]["properties"] = _assemble_properties(rows)
    return [found[i] for i in ids]


def get(conn, artifact_id, type_name=None, include_deleted=False,
        details=True):
    """One artifact, or None; ``details=False`` skips its properties, tags
    and blobs (one statement instead of four)."""
    query = sa.select(A).where(A.c.id == artifact_id)
    if type_name:
        query = query.where(A.c.type_name == type_name)
    if not include_deleted:
        query = query.where(A.c.deleted == sa.false())
    row = conn.execute(query).first()
    if row is None:
        return None
    if not details:
        return _artifact_from_row(row)
    return fetch_many(conn, [artifact_id], rows=[row])[0]


def exists(conn, artifact_id):
    return conn.execute(sa.select(A.c.id).where(
        A.c.id == artifact_id)).first() is not None


# ------------------------------------------------------------------- writing

def insert(conn, artifact):
    """Insert a new artifact dict (as returned by this module)."""
    version = artifact.get("version") or (0, 0, 0, "", "")
    conn.execute(A.insert().values(
        id=artifact["id"], type_name=artifact["type_name"],
        name=artifact["name"], owner=artifact["owner"],
        visibility=artifact["visibility"], status=artifact["status"],
        protected=artifact["protected"], hidden=artifact["hidden"],
        deleted=False, version_major=version[0], version_minor=version[1],
        version_patch=version[2], version_prerelease=version[3],
        version_build=version[4], revision=0,
        version_sort=artifact.get("version_sort", ""),
        unique_key=artifact.get("unique_key"),
        created_at=artifact["created_at"],
        updated_at=artifact["updated_at"]))
    rows = []
    for name, value in artifact["properties"].items():
        rows.extend(property_rows(artifact["id"], name, value))
    if rows:
        conn.execute(P.insert(), rows)
    if artifact["tags"]:
        conn.execute(artifact_tags.insert(), [
            {"artifact_id": artifact["id"], "value": t}
            for t in artifact["tags"]])


def update(conn, old, new, now=None):
    """Write what differs between ``old`` and ``new``, guarded by revision.

    Returns False (and writes nothing) when the row's revision is no longer
    ``old["revision"]``: somebody else committed first, and the caller
    retries on fresh data.  Only changed columns, properties and tags are
    written, so concurrent changes never overwrite each other.
    """
    now = now or utcnow()
    columns = {}
    for key in ("name", "owner", "visibility", "status", "protected",
                "hidden", "deleted", "deleted_at", "version_sort",
                "unique_key"):
        if new.get(key) != old.get(key):
            columns[key] = new.get(key)
    if new.get("version") != old.get("version"):
        v = new["version"]
        columns.update(version_major=v[0], version_minor=v[1],
                       version_patch=v[2], version_prerelease=v[3],
                       version_build=v[4])
    columns["updated_at"] = new.get("updated_at") or now
    columns["revision"] = old["revision"] + 1
    result = conn.execute(A.update().where(
        A.c.id == old["id"], A.c.revision == old["revision"]).values(
        **columns))
    if result.rowcount != 1:
        return False
    old_props, new_props = old["properties"], new["properties"]
    changed = [k for k in new_props
               if k not in old_props or old_props[k] != new_props[k]
               or type(old_props[k]) is not type(new_props[k])]
    removed = [k for k in old_props if k not in new_props]
    stale = changed + removed
    for part in _chunks(stale):
        conn.execute(P.delete().where(P.c.artifact_id == old["id"],
                                      P.c.name.in_(part)))
    rows = []
    for name in changed:
        rows.extend(property_rows(old["id"], name, new_props[name]))
    if rows:
        conn.execute(P.insert(), rows)
    gone = old["tags"] - new["tags"]
    added = new["tags"] - old["tags"]
    if gone:
        conn.execute(artifact_tags.delete().where(
            artifact_tags.c.artifact_id == old["id"],
            artifact_tags.c.value.in_(list(gone))))
    if added:
        conn.execute(artifact_tags.insert(), [
            {"artifact_id": old["id"], "value": t} for t in added])
    new["revision"] = columns["revision"]
    new["updated_at"] = columns["updated_at"]
    return True


def set_status(conn, artifact_id, expected, status, now=None, **columns):
    """Compare-and-swap of the status column (plus ``columns``)."""
    values = dict(columns, status=status, updated_at=now or utcnow(),
                  revision=A.c.revision + 1)
    result = conn.execute(A.update().where(
        A.c.id == artifact_id, A.c.status.in_(
            expected if isinstance(expected, (list, tuple, set))
            else [expected])).values(**values))
    return result.rowcount == 1


def get_property(conn, artifact_id, name):
    """One scalar property's value (None if unset)."""
    row = conn.execute(sa.select(P).where(P.c.artifact_id == artifact_id,
                                          P.c.name == name,
                                          P.c.position == 0)).first()
    return _row_value(row) if row is not None else None


def set_properties(conn, artifact_id, values):
    """Replace the given properties (None removes) without a revision check.

    Used for system fields written by the engine itself under a status lock
    (size, checksums), which no user request can change concurrently.
    """
    names = list(values)
    conn.execute(P.delete().where(P.c.artifact_id == artifact_id,
                                  P.c.name.in_(names)))
    rows = []
    for name, value in values.items():
        if value is not None:
            rows.extend(property_rows(artifact_id, name, value))
    if rows:
        conn.execute(P.insert(), rows)


# ---------------------------------------------------------------------- blobs
#
# A blob dict is its ``artifact_blobs`` row plus ``locations``: its
# ``blob_locations`` rows that are ``active``, in order, each with
# ``metadata`` decoded from JSON.

def blob_slot(field, path="", position=0):
    return hashlib.sha1(("%s\x00%s\x00%d" % (field, path, position)).encode(
        "utf-8")).hexdigest()


def _location_dict(values):
    """A location row as a dict, its JSON metadata decoded."""
    loc = dict(values)
    try:
        loc["metadata"] = json.loads(loc.pop("meta_data") or "{}")
    except ValueError:
        loc["metadata"] = {}
    return loc


_LOCATION_COLUMNS = [c.label("loc_" + c.name) for c in L.c]


def _live_blobs(conn, artifact_ids):
    """The live blobs of these artifacts with their active locations, in
    order: one query (blobs outer-joined to their locations)."""
    B = artifact_blobs
    query = sa.select(B, *_LOCATION_COLUMNS).select_from(B.outerjoin(
        L, sa.and_(L.c.blob_id == B.c.id, L.c.status == "active"))).where(
        B.c.artifact_id.in_(artifact_ids), B.c.slot.is_not(None)).order_by(
        B.c.position, B.c.id, L.c.position, L.c.id)
    blobs, by_id = [], {}
    for row in conn.execute(query).mappings():
        blob = by_id.get(row["id"])
        if blob is None:
            blob = {c.name: row[c.name] for c in B.c}
            blob["locations"] = []
            by_id[blob["id"]] = blob
            blobs.append(blob)
        if row["loc_id"] is not None:
            blob["locations"].append(_location_dict(
                {c.name: row["loc_" + c.name] for c in L.c}))
    return blobs


def attach_locations(conn, blobs, statuses=("active",)):
    """Fill each blob dict's ``locations`` (one query for all of them)."""
    by_id = {b["id"]: b for b in blobs}
    for blob in blobs:
        blob["locations"] = []
    ids = list(by_id)
    for part in _chunks(ids):
        query = sa.select(L).where(L.c.blob_id.in_(part),
                                   L.c.status.in_(statuses)).order_by(
            L.c.blob_id, L.c.position, L.c.id)
        for row in conn.execute(query):
            by_id[row.blob_id]["locations"].append(_location_dict(row._mapping))
    return blobs


def insert_blob(conn, artifact_id, field, blob, path="", position=0,
                now=None, locations=()):
    """Insert a live blob row with its ``locations`` (dicts of store, url
    and optionally metadata); returns the new blob id."""
    now = now or utcnow()
    values = dict(blob, artifact_id=artifact_id, field=field, path=path,
                  position=position, slot=blob_slot(field, path, position),
                  created_at=now, updated_at=now)
    locations = locations or values.pop("locations", ())
    values.pop("locations", None)
    blob_id = conn.execute(artifact_blobs.insert().values(
        **values)).inserted_primary_key[0]
    add_locations(conn, blob_id, locations, now=now, first=True)
    return blob_id


def insert_folder(conn, artifact_id, field, files, now=None):
    """Insert live files of folder ``field`` (none of whose paths may be
    live already), each with one location: ``files`` is ``[(path, blob
    values, location dict)]``.  Three statements however many files (a
    package unpacked into a thousand took two thousand round trips,
    seconds on MariaDB)."""
    if not files:
        return
    now = now or utcnow()
    conn.execute(artifact_blobs.insert(), [
        dict(values, artifact_id=artifact_id, field=field, path=path,
             position=0, slot=blob_slot(field, path, 0), created_at=now,
             updated_at=now)
        for path, values, _ in files])
    wanted = {path for path, _, _ in files}
    ids = {row.path: row.id for row in conn.execute(
        sa.select(artifact_blobs.c.path, artifact_blobs.c.id).where(
            artifact_blobs.c.artifact_id == artifact_id,
            artifact_blobs.c.field == field,
            artifact_blobs.c.slot.isnot(None)))
        if row.path in wanted}
    conn.execute(L.insert(), [
        {"blob_id": ids[path], "position": 0, "store": loc.get("store"),
         "url": loc["url"], "meta_data": json.dumps(loc.get("metadata") or {}),
         "status": "active", "created_at": now, "updated_at": now}
        for path, _, loc in files])


def add_locations(conn, blob_id, locations, now=None, status="active",
                  first=False):
    """Append locations after the blob's existing ones (``first``: the
    blob has none yet, so there is nothing to look up)."""
    if not locations:
        return
    now = now or utcnow()
    last = None if first else conn.execute(sa.select(
        sa.func.max(L.c.position)).where(L.c.blob_id == blob_id)).scalar()
    start = 0 if last is None else last + 1
    conn.execute(L.insert(), [
        {"blob_id": blob_id, "position": start + i,
         "store": loc.get("store"), "url": loc["url"],
         "meta_data": json.dumps(loc.get("metadata") or {}),
         "status": status, "created_at": now, "updated_at": now}
        for i, loc in enumerate(locations)])


def set_location_status(conn, location_ids, status, expected=None):
    """Move locations to ``status``; returns how many moved."""
    if not location_ids:
        return 0
    query = L.update().where(L.c.id.in_(list(location_ids)))
    if expected is not None:
        query = query.where(L.c.status == expected)
    return conn.execute(query.values(status=status,
                                     updated_at=utcnow())).rowcount


def insert_location(conn, blob_id, position, store, url, metadata=None):
    """One active location at ``position`` of a blob's list."""
    now = utcnow()
    conn.execute(L.insert().values(
        blob_id=blob_id, position=position, store=store, url=url,
        meta_data=json.dumps(metadata or {}), status="active",
        created_at=now, updated_at=now))


def update_location(conn, location_id, position=None, metadata=None):
    """Move a location to ``position`` and/or give it new ``metadata``
    (None: unchanged)."""
    values = {"updated_at": utcnow()}
    if position is not None:
        values["position"] = position
    if metadata is not None:
        values["meta_data"] = json.dumps(metadata)
    conn.execute(L.update().where(L.c.id == location_id).values(**values))


def move_blob(conn, blob_id, field, path="", position=0):
    """Give a live blob another field (staged data becoming the data)."""
    conn.execute(artifact_blobs.update().where(
        artifact_blobs.c.id == blob_id).values(
        field=field, path=path, position=position,
        slot=blob_slot(field, path, position), updated_at=utcnow()))


def retire_blobs(conn, artifact_id, field=None, path=None):
    """Mark live blobs and all their active locations pending_delete
    (freeing the blobs' slots) in the caller's transaction; return the
    blobs, each with the locations whose data is now to be removed.

    All of the artifact's, those of ``field``, or (with ``path``) only the
    file that holds that field/path's slot."""
    B = artifact_blobs
    query = sa.select(B).where(B.c.artifact_id == artifact_id,
                               B.c.slot.is_not(None))
    if field and path is not None:
        query = query.where(B.c.slot == blob_slot(field, path))
    elif field:
        query = query.where(B.c.field == field)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    if rows:
        attach_locations(conn, rows)
        ids = [r["id"] for r in rows]
        conn.execute(B.update().where(B.c.id.in_(ids))
                     .values(slot=None, status="pending_delete",
                             updated_at=utcnow()))
        conn.execute(L.update().where(L.c.blob_id.in_(ids),
                                      L.c.status == "active")
                     .values(status="pending_delete", updated_at=utcnow()))
    return rows


def pending_blobs(conn, limit=100):
    """Retired blobs, each with its locations still pending_delete."""
    B = artifact_blobs
    rows = [dict(r._mapping) for r in conn.execute(
        sa.select(B).where(B.c.status == "pending_delete").order_by(B.c.id)
        .limit(limit))]
    return attach_locations(conn, rows, statuses=("pending_delete",))


def pending_locations(conn, limit=100):
    """Locations of live blobs whose data is to be removed (a location
    taken away from an image that keeps others)."""
    B = artifact_blobs
    query = sa.select(L).join(B, B.c.id == L.c.blob_id).where(
        L.c.status == "pending_delete", B.c.status != "pending_delete"
    ).order_by(L.c.id).limit(limit)
    return [_location_dict(r._mapping) for r in conn.execute(query)]


def forget_blob(conn, blob_id):
    """Drop a blob row (its locations go with it)."""
    conn.execute(L.delete().where(L.c.blob_id == blob_id))
    conn.execute(artifact_blobs.delete().where(artifact_blobs.c.id == blob_id))


# -------------------------------------------------------------------- members

def members(conn, artifact_id, member=None):
    M = artifact_members
    query = sa.select(M).where(M.c.artifact_id == artifact_id)
    if member is not None:
        query = query.where(M.c.member == member)
    return [dict(r._mapping) for r in
            conn.execute(query.order_by(M.c.created_at, M.c.member))]


def insert_member(conn, artifact_id, member, status="pending"):
    now = utcnow()
    conn.execute(artifact_members.insert().values(
        artifact_id=artifact_id, member=member, status=status,
        created_at=now, updated_at=now))


def update_member(conn, artifact_id, member, status):
    M = artifact_members
    conn.execute(M.update().where(M.c.artifact_id == artifact_id,
                                  M.c.member == member).values(
        status=status, updated_at=utcnow()))


def delete_member(conn, artifact_id, member):
    M = artifact_members
    conn.execute(M.delete().where(M.c.artifact_id == artifact_id,
                                  M.c.member == member))


def count_members(conn, artifact_id):
    M = artifact_members
    return conn.execute(sa.select(sa.func.count()).select_from(M).where(
        M.c.artifact_id == artifact_id)).scalar()
