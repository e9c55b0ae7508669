"""What a namespace holds: objects, properties and tags.

Each class is a collaborator of ``metadefs.service.Catalog`` (which finds
the namespace, checks visibility and policy, and runs the transaction) and
keeps Glance's texts and orders: objects and properties listed by name,
tags newest first; a missing one is "Could not find metadata object x" (or
property, or tag); deleting one from a protected namespace is a 403 naming
it.
"""

import sqlalchemy as sa

from artifacts import errors
from artifacts.db.api import utcnow
from metadefs import documents as docs
from metadefs import tables as t
from metadefs.schemas import schemas
from metadefs.service import LONG, SHORT, page

#: Columns a tag list may be sorted by (Glance's model columns).
TAG_SORT_KEYS = ("created_at", "id", "name", "namespace_id", "updated_at")

_OBJECT_KEYS = ("name", "required", "description", "properties",
                "created_at", "updated_at", "self", "schema")


def object_values(doc):
    """An object definition normalised as Glance's model keeps it: the
    keys it gives among name, required, description, properties."""
    if not isinstance(doc, dict):
        raise errors.Invalid("every object must be a JSON object.")
    unknown = sorted(set(doc) - set(_OBJECT_KEYS))
    if unknown:
        raise errors.Invalid("object %r has unknown attributes: %s."
                             % (doc.get("name"), ", ".join(unknown)))
    if "name" not in doc:
        raise errors.Invalid("every object needs a 'name'.")
    name = docs.check_name(doc["name"], "object")
    out = {"name": name}
    if "required" in doc and doc["required"] is not None:
        required = doc["required"]
        if not isinstance(required, list) or not all(
                isinstance(r, str) for r in required):
            raise errors.Invalid("object %r: 'required' must be a list of "
                                 "property names." % name)
        out["required"] = list(required)
    if "description" in doc and doc["description"] is not None:
        out["description"] = docs.check_text_size(
            docs.check_optional_text(doc["description"], "description",
                                     limit=docs.MAX_DOCUMENT_BYTES),
            "object %r: the description" % name)
    if "properties" in doc and doc["properties"] is not None:
        out["properties"] = docs.properties_map(
            doc["properties"], "object %r: property" % name)
    _object_columns(out)        # sizes: refused before anything is written
    return out


def _object_columns(values):
    required = values.get("required")
    return {"name": values["name"],
            "description": values.get("description"),
            "required": docs.check_text_size(
                ",".join(required) if required else None,
                "object %r: 'required'" % values["name"]),
            "json_schema": docs.dump(values.get("properties") or {},
                                     "object %r: the properties"
                                     % values["name"])}


def _object_view(row):
    return {"name": row["name"], "description": row["description"],
            "required": row["required"].split(",") if row["required"]
            else [],
            "properties": docs.load(row["json_schema"]) or {},
            "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


class _Contents:
    table = None
    noun = None

    def __init__(self, catalog):
        self.catalog = catalog

    def _row(self, conn, namespace_id, name):
        row = conn.execute(sa.select(self.table).where(
            self.table.c.namespace_id == namespace_id,
            self.table.c.name == name)).mappings().first()
        if row is None:
            raise errors.NotFound("Could not find %s %s" % (self.noun, name))
        return row

    def _taken(self, conn, namespace_id, name):
        return conn.execute(sa.select(self.table.c.id).where(
            self.table.c.namespace_id == namespace_id,
            self.table.c.name == name)).first() is not None


class Objects(_Contents):
    table = t.objects
    noun = "metadata object"

    # Glance reports an invisible namespace here as "Namespace x not
    # found" and a missing one in its long form; both are the long form.
    style = LONG

    def rows(self, conn, namespace_id):
        return [_object_view(r) for r in conn.execute(
            sa.select(t.objects).where(t.objects.c.namespace_id
                                       == namespace_id)
            .order_by(t.objects.c.name)).mappings()]

    def insert(self, conn, namespace_id, namespace, objects, now):
        seen = set()
        for values in objects:
            if values["name"] in seen:
                raise _duplicate_object(values["name"], namespace)
            seen.add(values["name"])
            conn.execute(t.objects.insert().values(
                namespace_id=namespace_id, created_at=now, updated_at=now,
                **_object_columns(values)))

    def list(self, ctx, namespace):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, self.style)
            self.catalog.enforce(ctx, "get_metadef_objects", ns)
            if not self.catalog.check(ctx, "get_metadef_object", ns):
                return []
            return self.rows(conn, ns["id"])
        return self.catalog.read(run)

    def get(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, self.style)
            self.catalog.enforce(ctx, "get_metadef_object", ns)
            return _object_view(self._row(conn, ns["id"], name))
        return self.catalog.read(run)

    def create(self, ctx, namespace, body):
        """(the stored object, the normalised request) for the 201."""
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, self.style)
            self.catalog.enforce(ctx, "add_metadef_object", ns)
            values = _invalid_as(object_values, body, "create", "object")
            if self._taken(conn, ns["id"], values["name"]):
                raise _duplicate_object(values["name"], namespace)
            now = utcnow()
            self.insert(conn, ns["id"], namespace, [values], now)
            made = dict(values, created_at=now, updated_at=now)
            self.catalog.tell("create", "object", ns, made)
            return made, values
        return self.catalog.write(
            run, lambda: _duplicate_object(body.get("name"), namespace))

    def update(self, ctx, namespace, name, body):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, self.style)
            self.catalog.enforce(ctx, "modify_metadef_object", ns)
            row = self._row(conn, ns["id"], name)
            values = _invalid_as(object_values, body, "update", "object")
            if values["name"] != name and self._taken(conn, ns["id"],
                                                      values["name"]):
                raise _duplicate_object_rename(values["name"], namespace)
            now = utcnow()
            conn.execute(t.objects.update().where(
                t.objects.c.id == row["id"]).values(
                updated_at=now, **_object_columns(values)))
            changed = dict(values, created_at=row["created_at"],
                           updated_at=now)
            self.catalog.tell("update", "object", ns, changed, name)
            return changed
        return self.catalog.write(
            run, lambda: _duplicate_object_rename(body.get("name"),
                                                  namespace))

    def delete(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, self.style)
            self.catalog.enforce(ctx, "delete_metadef_object", ns)
            row = self._row(conn, ns["id"], name)
            self.catalog.refuse_if_protected(
                ns, "Metadata definition object %s is protected and cannot "
                    "be deleted." % name)
            conn.execute(t.objects.delete().where(t.objects.c.id
                                                  == row["id"]))
            self.catalog.tell("delete", "object", ns, _object_view(row))
        self.catalog.write(run)


class Properties(_Contents):
    table = t.properties
    noun = "property"

    def rows(self, conn, namespace_id):
        """{name: stored definition}, by name."""
        return {r["name"]: docs.load(r["json_schema"]) for r in conn.execute(
            sa.select(t.properties).where(t.properties.c.namespace_id
                                          == namespace_id)
            .order_by(t.properties.c.name)).mappings()}

    def insert(self, conn, namespace_id, namespace, properties, now):
        for name, definition in properties.items():
            conn.execute(t.properties.insert().values(
                namespace_id=namespace_id, name=name,
                json_schema=docs.dump(definition, "property %r" % name),
                created_at=now, updated_at=now))

    def list(self, ctx, namespace):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "get_metadef_properties", ns)
            return self.rows(conn, ns["id"])
        return self.catalog.read(run)

    def get(self, ctx, namespace, name, resource_type=None):
        """(the property's name, its stored definition); with
        ``resource_type``, ``name`` carries that association's prefix."""
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "get_metadef_property", ns)
            stored = name
            if resource_type:
                self.catalog.enforce(ctx, "get_metadef_resource_type", ns)
                link = self.catalog.resource_types.association(
                    conn, ns, resource_type)
                prefix = link["prefix"]
                if not (prefix and name.startswith(prefix)):
                    raise errors.NotFound(
                        "Property %s does not start with the expected "
                        "resource type association prefix of '%s'."
                        % (name, prefix))
                stored = name[len(prefix):]
            row = self._row(conn, ns["id"], stored)
            return row["name"], docs.load(row["json_schema"])
        return self.catalog.read(run)

    def create(self, ctx, namespace, body):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "add_metadef_property", ns)
            name, definition = _invalid_as(_named_property, body, "create",
                                           "property")
            if self._taken(conn, ns["id"], name):
                raise _duplicate_property(name, namespace)
            self.insert(conn, ns["id"], namespace, {name: definition},
                        utcnow())
            self.catalog.tell("create", "property", ns,
                              {"name": name, "definition": definition})
            return name, definition
        return self.catalog.write(
            run, lambda: _duplicate_property(body.get("name"), namespace))

    def update(self, ctx, namespace, name, body):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "modify_metadef_property", ns)
            row = self._row(conn, ns["id"], name)
            new_name, definition = _invalid_as(_named_property, body,
                                               "update", "property")
            if new_name != name and self._taken(conn, ns["id"], new_name):
                raise _duplicate_property_rename(new_name, namespace)
            conn.execute(t.properties.update().where(
                t.properties.c.id == row["id"]).values(
                name=new_name, updated_at=utcnow(),
                json_schema=docs.dump(definition, "property %r" % new_name)))
            self.catalog.tell("update", "property", ns, {
                "name": new_name, "definition": definition}, name)
            return new_name, definition
        return self.catalog.write(
            run, lambda: _duplicate_property_rename(body.get("name"),
                                                    namespace))

    def delete(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "remove_metadef_property", ns)
            row = self._row(conn, ns["id"], name)
            self.catalog.refuse_if_protected(
                ns, "Metadata definition property %s is protected and "
                    "cannot be deleted." % name)
            conn.execute(t.properties.delete().where(
                t.properties.c.id == row["id"]))
            self.catalog.tell("delete", "property", ns, {
                "name": name, "definition": docs.load(row["json_schema"])})
        self.catalog.write(run)


class Tags(_Contents):
    table = t.tags
    noun = "metadata tag"

    def rows(self, conn, namespace_id):
        """Names, newest first (Glance's default tag order)."""
        return list(conn.execute(
            sa.select(t.tags.c.name).where(t.tags.c.namespace_id
                                           == namespace_id)
            .order_by(t.tags.c.created_at.desc(), t.tags.c.id.desc()))
            .scalars())

    def insert(self, conn, namespace_id, namespace, names, now):
        seen = set()
        for name in names:
            if name in seen or self._taken(conn, namespace_id, name):
                raise _duplicate_tag(name, namespace)
            seen.add(name)
            conn.execute(t.tags.insert().values(
                namespace_id=namespace_id, name=name, created_at=now,
                updated_at=now))

    def list(self, ctx, namespace, marker=None, limit=None,
             sort_key="created_at", sort_dir="desc"):
        if sort_key not in TAG_SORT_KEYS:
            raise errors.Invalid("Invalid sort key: %s. It must be one of "
                                 "the following: %s."
                                 % (sort_key, ", ".join(TAG_SORT_KEYS)))

        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "get_metadef_tags", ns)
            after = self._row(conn, ns["id"], marker) if marker else None
            query = sa.select(t.tags).where(t.tags.c.namespace_id
                                            == ns["id"])
            query = page(query, t.tags, sort_key, sort_dir, after, limit)
            return [r["name"] for r in conn.execute(query).mappings()]
        return self.catalog.read(run)

    def get(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "get_metadef_tag", ns)
            return dict(self._row(conn, ns["id"], name))
        return self.catalog.read(run)

    def create(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            schemas().validate("tag", {"name": name})
            self.catalog.enforce(ctx, "add_metadef_tag", ns)
            now = utcnow()
            self.insert(conn, ns["id"], namespace, [name], now)
            made = {"name": name, "created_at": now, "updated_at": now}
            self.catalog.tell("create", "tag", ns, made)
            return made
        return self.catalog.write(run, lambda: _duplicate_tag(name,
                                                              namespace))

    def create_many(self, ctx, namespace, names, append=False):
        """Glance's POST .../tags: replace the tags (or add to them with
        ``append``); an empty list changes nothing."""
        for name in names:
            _invalid_as(docs.check_name, name, "create", "tag", "tag")

        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "add_metadef_tags", ns)
            if names:
                if not append:
                    conn.execute(t.tags.delete().where(
                        t.tags.c.namespace_id == ns["id"]))
                now = utcnow()
                self.insert(conn, ns["id"], namespace, names, now)
                # Glance tells each new tag (never the replaced ones).
                for name in names:
                    self.catalog.tell("create", "tag", ns, {
                        "name": name, "created_at": now, "updated_at": now})
            return list(names)
        return self.catalog.write(
            run, lambda: errors.Conflict(
                "A metadata tag already exists in namespace=%s." % namespace))

    def update(self, ctx, namespace, name, new_name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "modify_metadef_tag", ns)
            row = self._row(conn, ns["id"], name)
            if new_name != name and self._taken(conn, ns["id"], new_name):
                raise _duplicate_tag(new_name, namespace)
            now = utcnow()
            conn.execute(t.tags.update().where(t.tags.c.id == row["id"])
                         .values(name=new_name, updated_at=now))
            changed = {"name": new_name, "created_at": row["created_at"],
                       "updated_at": now}
            self.catalog.tell("update", "tag", ns, changed, name)
            return changed
        return self.catalog.write(run, lambda: _duplicate_tag(new_name,
                                                              namespace))

    def delete(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "delete_metadef_tag", ns)
            row = self._row(conn, ns["id"], name)
            self.catalog.refuse_if_protected(
                ns, "Metadata definition tag %s is protected and cannot be "
                    "deleted." % name)
            conn.execute(t.tags.delete().where(t.tags.c.id == row["id"]))
            self.catalog.tell("delete", "tag", ns, {
                "name": name, "created_at": row["created_at"],
                "updated_at": row["updated_at"]})
        self.catalog.write(run)


def _named_property(body):
    definition = docs.property_type(body, "the property")
    name = docs.check_name(definition.get("name"), "property")
    docs.dump(definition, "property %r" % name)
    return name, definition


def _invalid_as(fn, value, verb, noun, *args):
    """``fn(value)`` with its Invalid worded as Glance words a refused
    write: "Couldn't create metadata object: ..."."""
    try:
        return fn(value, *args)
    except errors.Invalid as exc:
        raise errors.Invalid("Couldn't %s metadata %s: %s"
                             % (verb, noun, exc.message)) from None


def _duplicate_object(name, namespace):
    return errors.Conflict("A metadata definition object with name=%s "
                           "already exists in namespace=%s."
                           % (name, namespace))


def _duplicate_object_rename(name, namespace):
    return errors.Conflict("Invalid update. It would result in a duplicate "
                           "metadata definition object with the same "
                           "name=%s in namespace=%s." % (name, namespace))


def _duplicate_property(name, namespace):
    return errors.Conflict("A metadata definition property with name=%s "
                           "already exists in namespace=%s."
                           % (name, namespace))


def _duplicate_property_rename(name, namespace):
    return errors.Conflict("Invalid update. It would result in a duplicate "
                           "metadata definition property with the same "
                           "name=%s in namespace=%s." % (name, namespace))


def _duplicate_tag(name, namespace):
    return errors.Conflict("A metadata tag with name=%s already exists in "
                           "namespace=%s. (Please note that metadata tag "
                           "names are case insensitive)." % (name, namespace))
