"""Definition files in and out of the catalog: ``glare db load-metadefs``,
``unload-metadefs`` and ``export-metadefs`` (Glance's ``glance-manage db
load_metadefs``, ``unload_metadefs``, ``export_metadefs``).

Where the files come from (``find_source``): the path given (a directory,
one file, or a Glance virtualenv, whose wheel installs them under
``etc/glance/metadefs``); else ``[DEFAULT] metadata_source_path`` (Glance's
option, ``/etc/glance/metadefs/``) when it holds JSON files; else the data
files of a ``glance`` distribution installed in this Python.  The files
themselves are never part of Glare.

Loading follows Glance: rows it creates have no ``updated_at`` (the API
shows none for them, as Glance's does); a namespace that exists is
skipped, unless
``merge`` (then what it lacks is added; ``prefer_new`` also replaces what
it has, ``overwrite`` reloads it from scratch); namespaces are owned by
``admin`` unless the file says otherwise; resource types the files create
are protected.  Unlike Glance, every file is checked with the API's rules
first (schema, property definitions, sizes) and one that fails is reported
and left out whole; each file loads in one transaction.
"""

import importlib.metadata
import json
import os
import re

import sqlalchemy as sa

from artifacts import errors
from artifacts.db.api import utcnow
from artifacts.db.session import transaction
from metadefs import documents as docs
from metadefs import tables as t
from metadefs.contents import object_values
from metadefs.resource_types import association_entry, next_position
from metadefs.schemas import schemas

SUBDIR = os.path.join("etc", "glance", "metadefs")


class LoadError(Exception):
    """Nothing to load, or options that do not go together."""


def _json_files(path):
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        return []
    return [os.path.join(path, name) for name in sorted(os.listdir(path))
            if name.endswith(".json")
            and os.path.isfile(os.path.join(path, name))]


def installed_glance_dir():
    """``etc/glance/metadefs`` of a ``glance`` installed in this Python."""
    try:
        dist = importlib.metadata.distribution("glance")
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name.endswith(".json") and "metadefs" in entry.parts:
            return os.path.dirname(os.path.abspath(dist.locate_file(entry)))
    return None


def find_source(path=None, configured=None):
    """(the JSON files to load, where they were found)."""
    if path:
        venv_dir = os.path.join(path, SUBDIR)
        if os.path.isdir(venv_dir):
            path = venv_dir
        files = _json_files(path)
        if not files:
            raise LoadError("No metadata definition files (*.json) in %s."
                            % path)
        return files, path
    tried = []
    for candidate in (configured, installed_glance_dir()):
        if not candidate:
            continue
        tried.append(candidate)
        files = _json_files(candidate)
        if files:
            return files, candidate
    raise LoadError(
        "No metadata definition files found (looked in %s). Give the "
        "directory, e.g. `glare db load-metadefs /etc/glance/metadefs` or "
        "the virtualenv of an installed glance."
        % (", ".join(tried) or "[DEFAULT] metadata_source_path"))


def read_document(path):
    """The checked namespace document of one file, or errors.Invalid."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise errors.Invalid("cannot read JSON: %s" % exc) from None
    if not isinstance(doc, dict):
        raise errors.Invalid("a definition file holds one JSON object.")
    schemas().validate("namespace", doc)
    docs.properties_map(doc.get("properties"), "property")
    for name in doc.get("properties") or {}:
        docs.check_name(name, "property")
    for obj in doc.get("objects") or ():
        object_values(obj)
    for link in doc.get("resource_type_associations") or ():
        association_entry(link)
    for tag in doc.get("tags") or ():
        if not isinstance(tag, dict) or "name" not in tag:
            raise errors.Invalid("every tag needs a 'name'.")
        docs.check_name(tag["name"], "tag")
    return doc


def load(db_engine, files, merge=False, prefer_new=False, overwrite=False,
         report=print):
    """Load ``files``; returns (loaded, skipped, failed) counts."""
    if (prefer_new or overwrite) and not merge:
        raise LoadError("--prefer-new and --overwrite need --merge.")
    if prefer_new and overwrite:
        raise LoadError("Give at most one of --prefer-new and --overwrite.")
    counts = {"loaded": 0, "skipped": 0, "failed": 0}
    for path in files:
        try:
            doc = read_document(path)
        except errors.Invalid as exc:
            report("%s: not loaded: %s" % (path, exc.message))
            counts["failed"] += 1
            continue
        outcome = transaction(db_engine, lambda conn: _load_one(
            conn, doc, merge, prefer_new, overwrite))
        counts[outcome] += 1
        report("%s: namespace %s %s" % (path, doc["namespace"], outcome))
    return counts["loaded"], counts["skipped"], counts["failed"]


def _load_one(conn, doc, merge, prefer_new, overwrite):
    ns = t.namespaces
    name = doc["namespace"]
    now = utcnow()
    values = {"namespace": name, "display_name": doc.get("display_name"),
              "description": doc.get("description"),
              "visibility": doc.get("visibility"),
              "protected": doc.get("protected"),
              "owner": doc.get("owner", "admin")}
    found = conn.execute(sa.select(ns.c.id).where(
        ns.c.namespace == name)).scalar()
    if found is not None and overwrite:
        for table in t.CHILDREN:
            conn.execute(table.delete().where(table.c.namespace_id == found))
        conn.execute(ns.delete().where(ns.c.id == found))
        found = None
    if found is None:
        found = conn.execute(ns.insert().values(
            dict(values, created_at=now))).inserted_primary_key[0]
    elif not merge:
        return "skipped"
    elif prefer_new:
        conn.execute(ns.update().where(ns.c.id == found).values(
            dict(values, updated_at=now)))
    _load_contents(conn, found, doc, prefer_new, now)
    return "loaded"


def _exists(conn, table, where):
    return conn.execute(sa.select(sa.literal(1)).select_from(table)
                        .where(*where)).first() is not None


def _upsert(conn, table, where, values, prefer_new, now):
    """Insert ``values`` unless a row matches ``where``; with
    ``prefer_new`` the row is updated instead."""
    if not _exists(conn, table, where):
        conn.execute(table.insert().values(dict(values, created_at=now)))
    elif prefer_new:
        conn.execute(table.update().where(*where).values(
            dict(values, updated_at=now)))


def _load_contents(conn, nid, doc, prefer_new, now):
    for link in doc.get("resource_type_associations") or ():
        rt = t.resource_types
        rt_id = conn.execute(sa.select(rt.c.id).where(
            rt.c.name == link["name"])).scalar()
        if rt_id is None:
            rt_id = conn.execute(rt.insert().values(
                name=link["name"], protected=True, created_at=now)
            ).inserted_primary_key[0]
        a = t.associations
        values = {"namespace_id": nid, "resource_type_id": rt_id,
                  "prefix": link.get("prefix"),
                  "properties_target": link.get("properties_target")}
        where = (a.c.namespace_id == nid, a.c.resource_type_id == rt_id)
        if _exists(conn, a, where):
            if prefer_new:
                conn.execute(a.update().where(*where).values(
                    dict(values, updated_at=now)))
        else:
            conn.execute(a.insert().values(dict(
                values, position=next_position(conn, nid), created_at=now)))
    for name, definition in (doc.get("properties") or {}).items():
        p = t.properties
        _upsert(conn, p, (p.c.namespace_id == nid, p.c.name == name),
                {"namespace_id": nid, "name": name,
                 "json_schema": docs.dump(definition, "property %r" % name)},
                prefer_new, now)
    for obj in doc.get("objects") or ():
        o = t.objects
        required = obj.get("required") or None
        _upsert(conn, o, (o.c.namespace_id == nid, o.c.name == obj["name"]),
                {"namespace_id": nid, "name": obj["name"],
                 "description": obj.get("description"),
                 "required": ",".join(required) if required else None,
                 "json_schema": docs.dump(obj.get("properties") or {},
                                          "object %r" % obj["name"])},
                prefer_new, now)
    for tag in doc.get("tags") or ():
        g = t.tags
        _upsert(conn, g, (g.c.namespace_id == nid,
                          g.c.name == tag["name"]),
                {"namespace_id": nid, "name": tag["name"]}, prefer_new, now)


def unload(db_engine):
    """Delete every metadata definition (Glance's unload_metadefs):
    returns the number of namespaces removed."""
    def run(conn):
        count = conn.execute(sa.select(sa.func.count()).select_from(
            t.namespaces)).scalar()
        for table in t.CHILDREN + (t.namespaces, t.resource_types):
            conn.execute(table.delete())
        return count
    return transaction(db_engine, run)


_UNSAFE = re.compile(r"[\W_]+", re.UNICODE)


def export(db_engine, directory, report=print):
    """Write one file per namespace into ``directory`` (named after its
    display name, as Glance names them); returns how many."""
    os.makedirs(directory, exist_ok=True)
    written = 0
    for doc in transaction(db_engine, _documents, write=False):
        base = _UNSAFE.sub("", doc["display_name"] or "") or _UNSAFE.sub(
            "", doc["namespace"]) or "namespace"
        path = os.path.join(directory, base + ".json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=4, ensure_ascii=False)
            fh.write("\n")
        report("namespace %s saved in %s" % (doc["namespace"], path))
        written += 1
    return written


def _documents(conn):
    out = []
    rows = conn.execute(sa.select(t.namespaces).order_by(t.namespaces.c.id))
    for ns in rows.mappings().all():
        nid = ns["id"]
        links = conn.execute(sa.select(
            t.resource_types.c.name, t.associations.c.prefix,
            t.associations.c.properties_target).join(
            t.resource_types, t.resource_types.c.id
            == t.associations.c.resource_type_id).where(
            t.associations.c.namespace_id == nid).order_by(
            t.associations.c.position)).mappings()
        objects = []
        for obj in conn.execute(sa.select(t.objects).where(
                t.objects.c.namespace_id == nid).order_by(t.objects.c.id)
                ).mappings():
            entry = {"name": obj["name"], "description": obj["description"],
                     "properties": docs.load(obj["json_schema"])}
            if obj["required"]:
                entry["required"] = obj["required"].split(",")
            objects.append(entry)
        out.append({
            "namespace": ns["namespace"],
            "display_name": ns["display_name"],
            "description": ns["description"],
            "visibility": ns["visibility"], "protected": ns["protected"],
            "resource_type_associations": [dict(link) for link in links],
            "properties": {p["name"]: docs.load(p["json_schema"])
                           for p in conn.execute(sa.select(t.properties)
                                                 .where(t.properties.c
                                                        .namespace_id == nid)
                                                 .order_by(t.properties.c.id))
                           .mappings()},
            "objects": objects,
            "tags": [{"name": n} for n in conn.execute(
                sa.select(t.tags.c.name).where(t.tags.c.namespace_id == nid)
                .order_by(t.tags.c.id)).scalars()]})
    return out
