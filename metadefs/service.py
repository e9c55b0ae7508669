"""The metadata definitions catalog: every operation, in one place.

``Catalog`` owns the namespaces and reaches their contents through its
collaborators (``objects``, ``properties``, ``tags`` in
``metadefs.contents``; ``resource_types`` in ``metadefs.resource_types``),
as the artifact engine does with ``data`` and ``sharing``.  Each operation
is one database transaction: read the namespace, check visibility and
policy, validate, write.  Errors are the core's vocabulary
(``artifacts.errors``) with Glance's messages; the HTTP face renders them.

Visibility (Glance's): administrators see every namespace; everybody else
sees the public ones and their own project's.  A namespace the caller may
not see answers exactly what a missing one answers, on every route, so
nothing tells another project's private namespace from no namespace (Glance
answers some routes with a different text, and a list whose marker is such
a namespace with 403).  Policy is checked after visibility with Glance's
rule names (``metadefs.policies``); a denied read of the namespace itself
is a 404, a denied change of a namespace the caller can read is a 403.

Every change is told to the catalog's listeners (``subscribe``) once its
transaction has committed, as ``Change``s in the order they were made
(Glance's order: a namespace, then its resource type associations,
objects, tags and properties); the Image API face turns them into
Glance's ``metadef_*`` notifications.  The loader (``glare db
load-metadefs``) writes without telling, as ``glance-manage`` does.
"""

import dataclasses
import logging
import threading

import sqlalchemy as sa

from artifacts import errors
from artifacts.db.api import utcnow
from artifacts.db.session import read, transaction
from metadefs import documents as docs
from metadefs import tables as t

LOG = logging.getLogger(__name__)

#: Columns a namespace list may be sorted by (Glance's model columns).
NAMESPACE_SORT_KEYS = ("created_at", "description", "display_name", "id",
                       "namespace", "owner", "protected", "updated_at",
                       "visibility")

#: How a namespace that cannot be found is reported: Glance's two texts.
LONG, SHORT = "long", "short"


def not_found_namespace(name, style):
    if style == SHORT:
        return errors.NotFound("Namespace %s not found" % name)
    return errors.NotFound("Metadata definition namespace=%s was not found."
                           % name)


def namespace_view(row):
    """A namespace row as the API shows it (Glance's domain defaults:
    a missing visibility is private, a missing protected is false)."""
    return {"id": row["id"], "namespace": row["namespace"],
            "display_name": row["display_name"],
            "description": row["description"],
            "visibility": row["visibility"] or "private",
            "protected": bool(row["protected"]), "owner": row["owner"],
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


@dataclasses.dataclass
class Change:
    """One committed change of the catalog.

    ``kind``: namespace, object, property, tag or resource_type;
    ``action``: create, update, delete, or (namespaces) delete_objects,
    delete_properties, delete_tags; ``namespace``: the namespace (a view
    dict, after the change); ``item``: the object (``object_view``
    shape), property (``name``, ``definition``), tag (``name``,
    ``created_at``, ``updated_at``) or association (``name``, ``prefix``,
    ``properties_target``, times), None for a namespace's own change;
    ``old_name``: its name before an update."""

    action: str
    kind: str
    namespace: dict
    item: dict | None = None
    old_name: str | None = None


def is_duplicate(exc):
    """A unique constraint refused the write (every database's words)."""
    return isinstance(exc, sa.exc.IntegrityError)


class Catalog:
    """Namespaces and, through its collaborators, their contents."""

    def __init__(self, db_engine, enforcer):
        from metadefs.contents import Objects, Properties, Tags
        from metadefs.resource_types import ResourceTypes
        self.db = db_engine
        self.enforcer = enforcer
        self.objects = Objects(self)
        self.properties = Properties(self)
        self.tags = Tags(self)
        self.resource_types = ResourceTypes(self)
        self.listeners = []
        self._local = threading.local()

    # ------------------------------------------------------------ helpers

    def subscribe(self, listener):
        """``listener(change)`` is called for every committed ``Change``
        from now on, in the thread that made it; one that fails is logged
        (the change is committed)."""
        self.listeners.append(listener)

    def tell(self, action, kind, namespace, item=None, old_name=None):
        """Record a change of the running ``write`` (told after it
        commits; nothing outside a write)."""
        changes = getattr(self._local, "changes", None)
        if changes is not None:
            changes.append(Change(action, kind, namespace, item, old_name))

    def read(self, fn):
        return read(self.db, fn)

    def write(self, fn, conflict=None):
        """Run ``fn`` in a write transaction; a unique constraint the
        database enforces (a concurrent twin) becomes ``conflict()``.
        The changes ``fn`` told are told to the listeners after the
        commit (those of a retried attempt are forgotten)."""
        changes = []

        def attempt(conn):
            changes.clear()
            return fn(conn)
        self._local.changes = changes
        try:
            result = transaction(self.db, attempt)
        except sa.exc.IntegrityError:
            if conflict is None:
                raise
            raise conflict() from None
        finally:
            self._local.changes = None
        for change in changes:
            for listener in self.listeners:
                try:
                    listener(change)
                except Exception:  # noqa: BLE001 - the change is committed
                    LOG.exception("Listener %s failed on %s of %s",
                                  listener, change.action, change.kind)
        return result

    @staticmethod
    def visible(ctx, row):
        if ctx.is_admin or row["owner"] is None:
            return True
        if row["visibility"] == "public":
            return True
        return ctx.project_id is not None and ctx.project_id == row["owner"]

    @staticmethod
    def target(ctx, namespace=None):
        if namespace is None:
            return {"project_id": ctx.project_id}
        return {"project_id": namespace["owner"],
                "visibility": namespace["visibility"]}

    def check(self, ctx, rule, namespace=None):
        return self.enforcer.check(ctx, rule, self.target(ctx, namespace))

    def enforce(self, ctx, rule, namespace=None):
        """Glance's MetadefAPIPolicy: a refusal is 403, unless the caller
        may not even read the namespace, then it is a bare 404."""
        if self.check(ctx, rule, namespace):
            return
        if namespace is not None and (
                rule == "get_metadef_namespace"
                or not self.check(ctx, "get_metadef_namespace", namespace)):
            raise errors.NotFound()
        raise errors.Forbidden("You are not authorized to complete %s "
                               "action." % rule)

    def namespace_row(self, conn, ctx, name, style=SHORT):
        """The visible namespace ``name`` as stored, or NotFound."""
        row = conn.execute(sa.select(t.namespaces).where(
            t.namespaces.c.namespace == name)).mappings().first()
        if row is None or not self.visible(ctx, row):
            raise not_found_namespace(name, style)
        return row

    def namespace(self, conn, ctx, name, style=SHORT):
        """The visible namespace ``name`` (a view dict) or NotFound."""
        return namespace_view(self.namespace_row(conn, ctx, name, style))

    @staticmethod
    def refuse_if_protected(namespace, message):
        if namespace["protected"]:
            raise errors.Forbidden(message)

    # ---------------------------------------------------------- namespaces

    def list_namespaces(self, ctx, limit, marker=None, sort_key="created_at",
                        sort_dir="desc", visibility=None,
                        resource_types=None):
        """(namespaces with their ``resource_type_associations``, name of
        the last one when the page is full)."""
        if sort_key not in NAMESPACE_SORT_KEYS:
            raise errors.Invalid("Invalid sort key: %s. It must be one of "
                                 "the following: %s."
                                 % (sort_key, ", ".join(NAMESPACE_SORT_KEYS)))
        self.enforce(ctx, "get_metadef_namespaces")
        self.enforce(ctx, "list_metadef_resource_types")

        def run(conn):
            after = None
            if marker is not None:
                after = self.namespace_row(conn, ctx, marker, LONG)
            query = self._namespace_query(ctx, visibility, resource_types)
            query = page(query, t.namespaces, sort_key, sort_dir, after,
                          limit)
            rows = [namespace_view(r)
                    for r in conn.execute(query).mappings()]
            rows = [r for r in rows
                    if self.check(ctx, "get_metadef_namespace", r)]
            links = self.resource_types.associations_of(
                conn, [r["id"] for r in rows])
            for row in rows:
                row["resource_type_associations"] = links.get(row["id"], [])
            return rows

        rows = self.read(run)
        last = rows[-1]["namespace"] if rows and len(rows) == limit else None
        return rows, last

    def _namespace_query(self, ctx, visibility, resource_types):
        ns = t.namespaces
        query = sa.select(ns)
        if not ctx.is_admin:
            public = ns.c.visibility == "public"
            query = query.where(sa.or_(ns.c.owner == ctx.project_id, public)
                                if ctx.project_id else public)
        if visibility is not None:
            query = query.where(ns.c.visibility == visibility)
        if resource_types is not None:
            names = resource_types.split(",")
            linked = sa.select(t.associations.c.namespace_id).join(
                t.resource_types, t.resource_types.c.id
                == t.associations.c.resource_type_id).where(
                t.resource_types.c.name.in_(names))
            query = query.where(ns.c.id.in_(linked))
        return query

    def show_namespace(self, ctx, name):
        """The namespace with its objects, properties, tags and resource
        type associations (each list in the order Glance shows it)."""
        def run(conn):
            namespace = self.namespace(conn, ctx, name, LONG)
            self.enforce(ctx, "get_metadef_namespace", namespace)
            for rule in ("list_metadef_resource_types", "get_metadef_objects",
                         "get_metadef_properties", "get_metadef_tags"):
                self.enforce(ctx, rule, namespace)
            nid = namespace["id"]
            namespace["objects"] = self.objects.rows(conn, nid)
            namespace["resource_type_associations"] = (
                self.resource_types.associations_of(conn, [nid]).get(nid, []))
            namespace["properties"] = self.properties.rows(conn, nid)
            namespace["tags"] = self.tags.rows(conn, nid)
            return namespace
        return self.read(run)

    def create_namespace(self, ctx, body):
        """Create a namespace and everything the document holds in one
        transaction.  Returns (namespace, the normalised contents)."""
        self.enforce(ctx, "add_metadef_namespace")
        for key, rule in (("resource_type_associations",
                           "add_metadef_resource_type_association"),
                          ("objects", "add_metadef_object"),
                          ("properties", "add_metadef_property"),
                          ("tags", "add_metadef_tag")):
            if body.get(key):
                self.enforce(ctx, rule)
        name = body["namespace"]
        try:
            contents = self._contents(body)
        except errors.Invalid as exc:
            raise errors.Invalid("Couldn't create metadata namespace: %s"
                                 % exc.message) from None
        owner = body["owner"] if "owner" in body else ctx.project_id
        if owner is None:
            raise errors.Invalid(
                "Couldn't create metadata namespace: it needs an owner; give "
                "'owner' or ask with a project-scoped token.")
        now = utcnow()
        values = {"namespace": name,
                  "display_name": body.get("display_name"),
                  "description": body.get("description"),
                  "visibility": body.get("visibility") or "private",
                  "protected": bool(body.get("protected")), "owner": owner,
                  "created_at": now, "updated_at": now}

        def run(conn):
            exists = conn.execute(sa.select(t.namespaces.c.id).where(
                t.namespaces.c.namespace == name)).first()
            if exists is not None:
                raise _duplicate_namespace(name)
            nid = conn.execute(t.namespaces.insert().values(
                values)).inserted_primary_key[0]
            self.resource_types.insert_associations(
                conn, nid, name, contents.get("resource_type_associations",
                                              ()), now)
            self.objects.insert(conn, nid, name, contents.get("objects", ()),
                                now)
            self.tags.insert(conn, nid, name, [
                tag["name"] for tag in contents.get("tags", ())], now)
            self.properties.insert(conn, nid, name, contents.get(
                "properties", {}), now)
            self._tell_created(dict(values, id=nid), contents, now)
            return dict(values, id=nid)

        namespace = self.write(run, lambda: _duplicate_namespace(name))
        return namespace, contents

    def _tell_created(self, namespace, contents, now):
        """A new namespace and what its document held, in Glance's order
        of notifications."""
        times = {"created_at": now, "updated_at": now}
        self.tell("create", "namespace", namespace)
        for entry in contents.get("resource_type_associations", ()):
            self.tell("create", "resource_type", namespace, dict(
                {"prefix": None, "properties_target": None}, **entry,
                **times))
        for values in contents.get("objects", ()):
            self.tell("create", "object", namespace, dict(values, **times))
        for tag in contents.get("tags", ()):
            self.tell("create", "tag", namespace, dict(tag, **times))
        for name, definition in contents.get("properties", {}).items():
            self.tell("create", "property", namespace,
                      {"name": name, "definition": definition})

    @staticmethod
    def _contents(body):
        """What a namespace document holds besides the namespace itself,
        normalised (only the keys it gives)."""
        # (imported here: those modules import this one)
        from metadefs.contents import object_values
        from metadefs.resource_types import association_entry
        out = {}
        if "properties" in body:
            for prop in body["properties"] or {}:
                docs.check_name(prop, "property")
            out["properties"] = docs.properties_map(body["properties"],
                                                    "property")
            for prop, definition in out["properties"].items():
                docs.dump(definition, "property %r" % prop)
        if "objects" in body:
            out["objects"] = [object_values(o) for o in body["objects"]]
        if "tags" in body:
            out["tags"] = [_tag_entry(tag) for tag in body["tags"]]
        if "resource_type_associations" in body:
            out["resource_type_associations"] = [
                association_entry(a)
                for a in body["resource_type_associations"]]
        return out

    def update_namespace(self, ctx, name, body):
        """Glance's PUT: the document replaces the namespace's own fields
        (a missing one becomes empty, or its default); its contents stay."""
        def run(conn):
            namespace = self.namespace(conn, ctx, name, SHORT)
            self.enforce(ctx, "modify_metadef_namespace", namespace)
            values = {"namespace": body["namespace"],
                      "display_name": body.get("display_name"),
                      "description": body.get("description"),
                      "visibility": body.get("visibility") or "private",
                      "protected": bool(body.get("protected")),
                      "owner": body.get("owner") or ctx.project_id
                      or namespace["owner"],
                      "updated_at": utcnow()}
            if values["namespace"] != name and conn.execute(
                    sa.select(t.namespaces.c.id).where(
                        t.namespaces.c.namespace == values["namespace"])
                    ).first() is not None:
                raise _duplicate_rename(values["namespace"])
            conn.execute(t.namespaces.update().where(
                t.namespaces.c.id == namespace["id"]).values(values))
            self.tell("update", "namespace", dict(namespace, **values),
                      old_name=name)
            return dict(namespace, **values)

        return self.write(run, lambda: _duplicate_rename(body["namespace"]))

    def delete_namespace(self, ctx, name):
        def run(conn):
            namespace = self.namespace(conn, ctx, name, SHORT)
            self.enforce(ctx, "delete_metadef_namespace", namespace)
            self.refuse_if_protected(
                namespace, "Metadata definition namespace %s is protected "
                           "and cannot be deleted." % name)
            for table in t.CHILDREN:
                conn.execute(table.delete().where(
                    table.c.namespace_id == namespace["id"]))
            conn.execute(t.namespaces.delete().where(
                t.namespaces.c.id == namespace["id"]))
            self.tell("delete", "namespace", namespace)
        self.write(run)

    def delete_contents(self, ctx, name, kind):
        """DELETE .../objects, .../properties or .../tags: all of one kind,
        under the namespace's delete rule (and ``delete_metadef_tags``)."""
        table = {"objects": t.objects, "properties": t.properties,
                 "tags": t.tags}[kind]

        def run(conn):
            namespace = self.namespace(conn, ctx, name, SHORT)
            self.enforce(ctx, "delete_metadef_namespace", namespace)
            if kind == "tags":
                self.enforce(ctx, "delete_metadef_tags", namespace)
            self.refuse_if_protected(
                namespace, "Metadata definition namespace %s is protected "
                           "and cannot be deleted." % name)
            conn.execute(table.delete().where(
                table.c.namespace_id == namespace["id"]))
            self.tell("delete_" + kind, "namespace", namespace)
        self.write(run)


def _duplicate_namespace(name):
    return errors.Conflict("The metadata definition namespace=%s already "
                           "exists." % name)


def _duplicate_rename(name):
    return errors.Conflict("Invalid update. It would result in a duplicate "
                           "metadata definition namespace with the same name "
                           "of %s" % name)


def _tag_entry(tag):
    if not isinstance(tag, dict) or "name" not in tag:
        raise errors.Invalid("every tag needs a 'name'.")
    unknown = sorted(set(tag) - {"name", "created_at", "updated_at"})
    if unknown:
        raise errors.Invalid("a tag has unknown attributes: %s."
                             % ", ".join(unknown))
    return {"name": docs.check_name(tag["name"], "tag")}


def page(query, table, sort_key, sort_dir, after, limit):
    """Sort by ``sort_key`` then created_at and id (Glance's keys, one
    direction), keyset-paged after the ``after`` row, at most ``limit``.

    Columns that may be NULL sort and compare as their empty value so a
    marker on such a row still pages correctly on every database."""
    keys = [sort_key] + [k for k in ("created_at", "id") if k != sort_key]
    exprs = [_sort_expr(table, k) for k in keys]
    desc = sort_dir == "desc"
    query = query.order_by(*[e.desc() if desc else e.asc() for e in exprs])
    if after is not None:
        marker = [_marker_value(after, k) for k in keys]
        clauses = []
        for i, expr in enumerate(exprs):
            equal = [exprs[j] == marker[j] for j in range(i)]
            beyond = expr < marker[i] if desc else expr > marker[i]
            clauses.append(sa.and_(*equal, beyond))
        query = query.where(sa.or_(*clauses))
    return query.limit(limit)


def _sort_expr(table, key):
    column = table.c[key]
    if key in ("display_name", "description", "visibility"):
        return sa.func.coalesce(column, "")
    if key == "protected":
        return sa.func.coalesce(column, sa.false())
    if key == "updated_at":
        # NULL on rows loaded from files: they sort as never updated.
        return sa.func.coalesce(column, table.c.created_at)
    return column


def _marker_value(row, key):
    value = row.get(key)
    if value is None:
        if key == "updated_at":
            return row["created_at"]
        return False if key == "protected" else ""
    return value
