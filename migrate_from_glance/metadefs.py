"""Glance's metadata definitions catalog into Glare's (``metadefs/``).

Glare's metadef tables have Glance's layout and widths
(``metadefs/tables.py``), so rows move as they are: namespaces with their
objects, properties, tags and resource type associations, and the
resource types, keeping names, texts, JSON schemas, owners, visibility,
protection and timestamps.  Ids are Glare's own (no client ever sees a
metadef row id); an association's ``position`` (the order Glare shows
them in) follows Glance's rows in (created_at, resource type id) order.

A run is one transaction: every Glance namespace replaces the Glare
namespace of the same name (its children with it; all re-inserted in
Glance's id order, the tie-break of Glance's lists), and resource types
are matched by name; so a re-run is idempotent and brings edits made in
Glance meanwhile.  Namespaces only Glare has (loaded with ``glare db
load-metadefs``) are left alone.  The catalog is small (Glance's standard
files make a few hundred rows): it is read and written whole each run.

``differences(src, target)`` is ``verify``'s side: each namespace
compared as the API shows it (rows without ids).
"""

import sqlalchemy as sa

from artifacts.db.session import transaction
from metadefs import tables as T

KINDS = ("objects", "properties", "tags")
_COLUMNS = {
    "objects": ("name", "description", "required", "json_schema",
                "created_at", "updated_at"),
    "properties": ("name", "json_schema", "created_at", "updated_at"),
    "tags": ("name", "created_at", "updated_at"),
}
_NS_COLUMNS = ("namespace", "display_name", "description", "visibility",
               "protected", "owner", "created_at", "updated_at")


_TYPED = {name: sa.DateTime for name in (
    "created_at", "updated_at", "type_created_at", "type_updated_at",
    "expires_at")}
_TYPED["protected"] = sa.Boolean


def typed_rows(conn, sql):
    """Rows of ``sql`` as dicts, timestamps as datetimes and flags as
    bools on every database (SQLite hands back text and integers)."""
    query = sa.text(sql).columns(**_TYPED)
    return [dict(r._mapping) for r in conn.execute(query)]


def read_catalog(conn):
    """Glance's catalog: {namespace name: namespace row + ``objects``,
    ``properties``, ``tags`` (sorted by name) and ``resource_types``
    (association rows with the type's name and protection)}."""
    catalog = {}
    by_id = {}
    for ns in typed_rows(conn, "SELECT id, %s FROM metadef_namespaces "
                         "ORDER BY id" % ", ".join(_NS_COLUMNS)):
        ns.update({k: [] for k in KINDS}, resource_types=[])
        catalog[ns["namespace"]] = ns
        by_id[ns.pop("id")] = ns
    for kind in KINDS:
        for row in typed_rows(conn, "SELECT namespace_id, %s FROM "
                              "metadef_%s ORDER BY id"
                              % (", ".join(_COLUMNS[kind]), kind)):
            by_id[row.pop("namespace_id")][kind].append(row)
    for row in typed_rows(conn, (
            "SELECT a.namespace_id, t.name, t.protected, a.properties_target,"
            " a.prefix, a.created_at, a.updated_at, t.created_at AS "
            "type_created_at, t.updated_at AS type_updated_at FROM "
            "metadef_namespace_resource_types a JOIN metadef_resource_types "
            "t ON t.id = a.resource_type_id ORDER BY a.created_at, t.id")):
        by_id[row.pop("namespace_id")]["resource_types"].append(row)
    return catalog


def _resource_type_ids(conn, catalog):
    """Glare's id of each resource type the catalog names (made if
    missing, with Glance's protection and timestamps)."""
    rt = T.resource_types
    have = dict(conn.execute(sa.select(rt.c.name, rt.c.id)).all())
    for ns in catalog.values():
        for assoc in ns["resource_types"]:
            if assoc["name"] not in have:
                made = conn.execute(rt.insert().values(
                    name=assoc["name"], protected=bool(assoc["protected"]),
                    created_at=assoc["type_created_at"],
                    updated_at=assoc["type_updated_at"]))
                have[assoc["name"]] = made.inserted_primary_key[0]
    return have


def counts(catalog):
    """What ``write_catalog`` writes, counted (for --dry-run)."""
    return {"namespaces": len(catalog),
            **{k: sum(len(ns[k]) for ns in catalog.values()) for k in KINDS},
            "resource_type_associations": sum(
                len(ns["resource_types"]) for ns in catalog.values())}


def write_catalog(engine, catalog):
    """Replace each of ``catalog``'s namespaces in Glare (one
    transaction); returns the counts written."""

    def run(conn):
        types = _resource_type_ids(conn, catalog)
        ns_t = T.namespaces
        old = [r[0] for r in conn.execute(sa.select(ns_t.c.id).where(
            ns_t.c.namespace.in_(list(catalog))))] if catalog else []
        for child in T.CHILDREN:
            conn.execute(child.delete().where(child.c.namespace_id.in_(old)))
        conn.execute(ns_t.delete().where(ns_t.c.id.in_(old)))
        # Inserted in Glance's id order: lists sort by created_at, then id,
        # and rows made in one second tie on MySQL (no fractions).
        for ns in catalog.values():
            ns_id = conn.execute(ns_t.insert().values(
                {k: ns[k] for k in _NS_COLUMNS})).inserted_primary_key[0]
            for kind in KINDS:
                if ns[kind]:
                    conn.execute(getattr(T, kind).insert(), [
                        dict(row, namespace_id=ns_id) for row in ns[kind]])
            if ns["resource_types"]:
                conn.execute(T.associations.insert(), [dict(
                    resource_type_id=types[a["name"]], namespace_id=ns_id,
                    properties_target=a["properties_target"],
                    prefix=a["prefix"], position=n + 1,
                    created_at=a["created_at"], updated_at=a["updated_at"])
                    for n, a in enumerate(ns["resource_types"])])
    transaction(engine, run)
    return counts(catalog)


def read_target(conn, names):
    """Glare's namespaces ``names`` in ``read_catalog``'s shape."""
    out = {}
    ns_t = T.namespaces
    ids = {}
    for row in conn.execute(sa.select(ns_t).where(
            ns_t.c.namespace.in_(list(names)))):
        ns = {k: row._mapping[k] for k in _NS_COLUMNS}
        ns.update({k: [] for k in KINDS}, resource_types=[])
        out[ns["namespace"]] = ns
        ids[row.id] = ns
    if not ids:
        return out
    for kind in KINDS:
        table = getattr(T, kind)
        for row in conn.execute(sa.select(table).where(
                table.c.namespace_id.in_(list(ids))).order_by(table.c.name)):
            ids[row.namespace_id][kind].append(
                {k: row._mapping[k] for k in _COLUMNS[kind]})
    a, rt = T.associations, T.resource_types
    for row in conn.execute(sa.select(
            a.c.namespace_id, rt.c.name, rt.c.protected,
            a.c.properties_target, a.c.prefix, a.c.created_at,
            a.c.updated_at).join(rt, rt.c.id == a.c.resource_type_id).where(
            a.c.namespace_id.in_(list(ids))).order_by(a.c.position)):
        ids[row.namespace_id]["resource_types"].append(dict(row._mapping))
    return out


def _comparable(ns):
    out = dict(ns, protected=bool(ns["protected"]))
    for kind in KINDS:
        out[kind] = sorted(ns[kind], key=lambda row: row["name"])
    out["resource_types"] = [
        {k: a[k] for k in ("name", "properties_target", "prefix",
                           "created_at", "updated_at")}
        for a in ns["resource_types"]]
    return out


def differences(src_conn, target_engine):
    """verify: each Glance namespace against Glare's of the same name."""
    catalog = read_catalog(src_conn)
    with target_engine.connect() as conn:
        target = read_target(conn, catalog)
    out = []
    for name, ns in sorted(catalog.items()):
        if name not in target:
            out.append("metadef namespace %s: missing in Glare." % name)
            continue
        want, got = _comparable(ns), _comparable(target[name])
        for key in sorted(want):
            if want[key] != got[key]:
                out.append("metadef namespace %s: %s differ (Glare %r, "
                           "Glance %r)." % (name, key, got[key], want[key]))
    return out
