"""Resource types and their associations with namespaces.

A resource type (``OS::Glance::Image``, ``OS::Nova::Flavor``...) exists
once; associating one with a namespace creates it when it is new (as
Glance does, unprotected), the definition files create theirs protected.
An association carries the ``prefix`` and ``properties_target`` a client
applies to the namespace's properties on that kind of resource.  Removing
an association never removes the resource type.
"""

import sqlalchemy as sa

from artifacts import errors
from artifacts.db.api import utcnow
from metadefs import documents as docs
from metadefs import tables as t
from metadefs.service import SHORT

_ASSOCIATION_KEYS = ("name", "prefix", "properties_target", "created_at",
                     "updated_at")


def association_entry(doc):
    """An association as a document gives it: name, and prefix and
    properties_target when given (each at most 80 characters)."""
    if not isinstance(doc, dict):
        raise errors.Invalid("every resource type association must be a "
                             "JSON object.")
    unknown = sorted(set(doc) - set(_ASSOCIATION_KEYS))
    if unknown:
        raise errors.Invalid("a resource type association has unknown "
                             "attributes: %s." % ", ".join(unknown))
    if "name" not in doc:
        raise errors.Invalid("every resource type association needs a "
                             "'name'.")
    out = {"name": docs.check_name(doc["name"], "resource type")}
    for key in ("prefix", "properties_target"):
        if key in doc:
            out[key] = docs.check_optional_text(
                doc[key], "The %s of resource type %r" % (key, out["name"]))
    return out


def next_position(conn, namespace_id):
    """The position of a namespace's next association."""
    a = t.associations
    return (conn.execute(sa.select(sa.func.max(a.c.position)).where(
        a.c.namespace_id == namespace_id)).scalar() or 0) + 1


def _duplicate(name, namespace):
    return errors.Conflict("The metadata definition resource-type "
                           "association of resource-type=%s to namespace=%s "
                           "already exists." % (name, namespace))


class ResourceTypes:
    """Collaborator of ``metadefs.service.Catalog``."""

    def __init__(self, catalog):
        self.catalog = catalog

    # --------------------------------------------------------------- rows

    @staticmethod
    def _joined():
        a, rt = t.associations, t.resource_types
        return sa.select(rt.c.name, a.c.prefix, a.c.properties_target,
                         a.c.created_at, a.c.updated_at,
                         a.c.namespace_id).join(
            rt, rt.c.id == a.c.resource_type_id)

    def associations_of(self, conn, namespace_ids):
        """{namespace id: [association]} in the order they were made."""
        if not namespace_ids:
            return {}
        a = t.associations
        out = {}
        query = self._joined().where(a.c.namespace_id.in_(namespace_ids)) \
            .order_by(a.c.namespace_id, a.c.position)
        for row in conn.execute(query).mappings():
            entry = dict(row)
            out.setdefault(entry.pop("namespace_id"), []).append(entry)
        return out

    def _resource_type_id(self, conn, name):
        return conn.execute(sa.select(t.resource_types.c.id).where(
            t.resource_types.c.name == name)).scalar()

    def association(self, conn, namespace, name):
        """The association of ``name`` with ``namespace``, or Glance's
        NotFound for a missing resource type or association."""
        if self._resource_type_id(conn, name) is None:
            raise errors.NotFound("The metadata definition resource-type "
                                  "with name=%s, was not found." % name)
        row = conn.execute(self._joined().where(
            t.associations.c.namespace_id == namespace["id"],
            t.resource_types.c.name == name)).mappings().first()
        if row is None:
            raise errors.NotFound(
                "The metadata definition resource-type association of "
                "resource-type=%s to namespace=%s, was not found."
                % (name, namespace["namespace"]))
        return dict(row)

    def ensure(self, conn, name, now, protected=False):
        """The id of resource type ``name``, created when missing."""
        found = self._resource_type_id(conn, name)
        if found is not None:
            return found
        return conn.execute(t.resource_types.insert().values(
            name=name, protected=protected, created_at=now,
            updated_at=now)).inserted_primary_key[0]

    def insert_associations(self, conn, namespace_id, namespace, entries,
                            now):
        seen = set()
        for entry in entries:
            if entry["name"] in seen:
                raise _duplicate(entry["name"], namespace)
            seen.add(entry["name"])
            rt_id = self.ensure(conn, entry["name"], now)
            taken = conn.execute(sa.select(t.associations.c.namespace_id)
                                 .where(t.associations.c.namespace_id
                                        == namespace_id,
                                        t.associations.c.resource_type_id
                                        == rt_id)).first()
            if taken is not None:
                raise _duplicate(entry["name"], namespace)
            conn.execute(t.associations.insert().values(
                namespace_id=namespace_id, resource_type_id=rt_id,
                prefix=entry.get("prefix"),
                properties_target=entry.get("properties_target"),
                position=next_position(conn, namespace_id),
                created_at=now, updated_at=now))

    # --------------------------------------------------------- operations

    def list(self, ctx):
        """Every resource type (name, created_at, updated_at)."""
        self.catalog.enforce(ctx, "list_metadef_resource_types")
        rt = t.resource_types
        return self.catalog.read(lambda conn: [dict(r) for r in conn.execute(
            sa.select(rt.c.name, rt.c.created_at, rt.c.updated_at)
            .order_by(rt.c.id)).mappings()])

    def list_for(self, ctx, namespace):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(ctx, "list_metadef_resource_types", ns)
            if not self.catalog.check(ctx, "get_metadef_resource_type", ns):
                return []
            return self.associations_of(conn, [ns["id"]]).get(ns["id"], [])
        return self.catalog.read(run)

    def associate(self, ctx, namespace, body):
        """(the association made, the normalised request)."""
        try:
            entry = association_entry(body)
        except errors.Invalid as exc:
            raise errors.Invalid("Couldn't create metadata resource type "
                                 "association: %s" % exc.message) from None

        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(
                ctx, "add_metadef_resource_type_association", ns)
            now = utcnow()
            self.insert_associations(conn, ns["id"], namespace, [entry], now)
            made = dict(entry, created_at=now, updated_at=now)
            self.catalog.tell("create", "resource_type", ns, dict(
                {"prefix": None, "properties_target": None}, **made))
            return made
        return self.catalog.write(run, lambda: _duplicate(entry["name"],
                                                          namespace))

    def dissociate(self, ctx, namespace, name):
        def run(conn):
            ns = self.catalog.namespace(conn, ctx, namespace, SHORT)
            self.catalog.enforce(
                ctx, "remove_metadef_resource_type_association", ns)
            # One read: the association (a missing resource type has
            # none) and what its deletion's notification tells of it.
            a = t.associations
            row = conn.execute(self._joined().add_columns(
                a.c.resource_type_id).where(
                a.c.namespace_id == ns["id"],
                t.resource_types.c.name == name)).mappings().first()
            if row is None:
                raise errors.NotFound("Failed to find resource type %s to "
                                      "delete" % name)
            self.catalog.refuse_if_protected(
                ns, "Metadata definition resource-type-association %s is "
                    "protected and cannot be deleted." % name)
            self.catalog.tell("delete", "resource_type", ns, dict(row))
            conn.execute(a.delete().where(
                a.c.namespace_id == ns["id"],
                a.c.resource_type_id == row["resource_type_id"]))
        self.catalog.write(run)
