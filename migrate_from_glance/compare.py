"""``migrate-from-glance verify`` (``verify()``): source and target, record
by record.

Every Glance image is rebuilt as the migration would write it
(``records.build``) and compared with what Glare holds: the row, every
property, tags, members with status and timestamps, and the active
locations in order with their metadata and store.  A deleted image must be
a deleted row in Glare (its id reserved).  ``data=True`` also reads every
active image's bytes through Glare's stores and checks size, checksum and
os_hash.  Glance's metadata definitions namespaces and tasks are compared too
(``metadefs.differences``, ``tasks.differences``).  Returns the list of differences (empty:
identical).
"""

import json

import sqlalchemy as sa

from artifacts.db import api as db
from artifacts.db.models import artifact_members, artifacts, glance_migration
from artifacts.stores.placement import open_locations
from migrate_from_glance import metadefs, records, source, tasks, writer
from migrate_from_glance.checks import data_mismatches

ROW_KEYS = ("name", "owner", "visibility", "status", "protected", "hidden",
            "deleted", "created_at", "updated_at")


def verify(source_url, engine, options, data=False):
    src = source.open_source(source_url)
    ctx = records.Context(stores=engine.stores, limits=engine.limits,
                          store_map=options.store_map,
                          encryption_key=options.encryption_key,
                          check_files=False)
    diffs, seen = [], set()
    try:
        for rows in source.image_batches(src.connect, options.batch):
            with src.connect() as sconn:
                kids = source.children(sconn, rows, [r.id for r in rows
                                                     if not r.deleted])
            with engine.db.connect() as tconn:
                state = writer.state(tconn, [r.id for r in rows])
                target = {a["id"]: a for a in db.fetch_many(
                    tconn, [r.id for r in rows])}
                members = _members(tconn, list(target))
            for image in rows:
                seen.add(image.id)
                diffs.extend(_compare(image, kids.get(image.id), ctx,
                                      state.get(image.id),
                                      target.get(image.id),
                                      members.get(image.id, {})))
                if data and image.id in target and not image.deleted and \
                        image.status == "active":
                    diffs.extend(_check_data(engine, target[image.id]))
        # A live image Glance no longer has (a deleted one purged by
        # glance-manage db purge keeps its reserved row here: no news).
        G, A = glance_migration, artifacts
        with engine.db.connect() as tconn:
            for (image_id,) in tconn.execute(sa.select(G.c.image_id).join(
                    A, A.c.id == G.c.image_id).where(
                    A.c.deleted == sa.false())):
                if image_id not in seen:
                    diffs.append("image %s: in Glare but no longer in "
                                 "Glance." % image_id)
        with src.connect() as sconn:
            diffs.extend(metadefs.differences(sconn, engine.db))
            diffs.extend(tasks.differences(sconn, engine.db))
    finally:
        src.dispose()
    return diffs


def _members(conn, ids):
    out = {}
    M = artifact_members
    for i in range(0, len(ids), 500):
        for row in conn.execute(sa.select(M).where(
                M.c.artifact_id.in_(ids[i:i + 500]))):
            out.setdefault(row.artifact_id, {})[row.member] = (
                row.status, row.created_at, row.updated_at)
    return out


def _compare(image, kids, ctx, state, got, members):
    image_id = image.id
    try:
        want = records.build(image, kids, ctx, copied=state)
    except (records.Problem, records.Fatal) as exc:
        return ["image %s: not migrated: %s" % (image_id, getattr(
            exc, "reason", exc))]
    if got is None:
        return ["image %s: missing in Glare." % image_id]
    out = []
    for key in ROW_KEYS:
        if want.row[key] != got[key]:
            out.append("image %s: %s is %r in Glare, %r in Glance."
                       % (image_id, key, got[key], want.row[key]))
    if want.deleted:
        return out
    props = {}
    for row in want.properties:
        props[row["name"]] = next(
            (row[c] for c in ("string_value", "text_value", "int_value",
                              "numeric_value", "bool_value")
             if row[c] is not None), None)
    for name in sorted(set(props) | set(got["properties"])):
        if props.get(name, "<absent>") != got["properties"].get(
                name, "<absent>"):
            out.append("image %s: property %s is %r in Glare, %r in Glance."
                       % (image_id, name, _short(got["properties"].get(
                           name, "<absent>")), _short(props.get(
                               name, "<absent>"))))
    tags = {t["value"] for t in want.tags}
    if tags != got["tags"]:
        out.append("image %s: tags %s in Glare, %s in Glance."
                   % (image_id, sorted(got["tags"]), sorted(tags)))
    want_members = {m["member"]: (m["status"], m["created_at"],
                                  m["updated_at"]) for m in want.members}
    if want_members != members:
        out.append("image %s: members %r in Glare, %r in Glance."
                   % (image_id, members, want_members))
    got_locs = [(loc["url"], loc["metadata"], loc["store"])
                for b in got["blobs"] if b["field"] == "image"
                and b["status"] == "active" for loc in b["locations"]]
    want_locs = [(loc["url"], json.loads(loc["meta_data"]), loc["store"])
                 for loc in want.locations]
    if got_locs != want_locs:
        out.append("image %s: locations %s in Glare, %s in Glance."
                   % (image_id, _urls(got_locs), _urls(want_locs)))
    return out


def _urls(locs):
    from artifacts.stores import redact
    return [(redact(u), m, s) for u, m, s in locs]


def _short(value):
    return value[:60] + "..." if isinstance(value, str) and \
        len(value) > 60 else value


def _check_data(engine, artifact):
    props = artifact["properties"]
    blob = next((b for b in artifact["blobs"] if b["field"] == "image"
                 and b["status"] == "active"), None)
    image_id = artifact["id"]
    if blob is None:
        return ["image %s: active without data in Glare." % image_id]
    try:
        wrong = data_mismatches(open_locations(engine.stores, blob), props)
    except Exception as exc:  # noqa: BLE001 - every failure is a difference
        return ["image %s: data cannot be read through Glare: %s"
                % (image_id, exc)]
    return ["image %s: data in Glare: %s" % (image_id, w) for w in wrong]
