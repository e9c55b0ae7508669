"""Tables of the metadata definitions catalog (SQLAlchemy Core).

They live on the core's ``MetaData`` (``artifacts.db.models.metadata``) so
that one Alembic history (``artifacts/db/migrations``, revision 0010 builds
these) and one drift check cover the whole database.

The layout is Glance's (``metadef_namespaces``, ``metadef_objects``,
``metadef_properties``, ``metadef_tags``, ``metadef_resource_types``,
``metadef_namespace_resource_types``), with the same widths, so Glance's
rows fit unchanged.  Two differences:

* names compare exactly on every database: on MySQL/MariaDB the name
  columns use a binary collation, where Glance's tables use the server's
  case- and accent-insensitive one (``Foo`` and ``foo`` are one tag on
  Glance's MySQL and two on its PostgreSQL; here always two);
* rows of a namespace go with it (``ON DELETE CASCADE``), so deleting a
  namespace is one statement that never leaves orphans.

``json_schema`` holds a JSON document (a property's definition, or an
object's ``{name: property definition}``); ``required`` holds an object's
required property names joined with commas, as Glance stores them.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from artifacts.db.models import Timestamp, metadata

#: Names are at most 80 characters, compared byte for byte.
Name = sa.String(80).with_variant(
    mysql.VARCHAR(80, collation="utf8mb4_bin"), "mysql")


def _namespace_fk():
    return sa.Column("namespace_id", sa.Integer,
                     sa.ForeignKey("metadef_namespaces.id",
                                   ondelete="CASCADE"),
                     nullable=False)


def _timestamps():
    # updated_at stays NULL on rows the definition files load, as in
    # Glance (whose API then shows no updated_at for them).
    return [sa.Column("created_at", Timestamp, nullable=False),
            sa.Column("updated_at", Timestamp)]


namespaces = sa.Table(
    "metadef_namespaces", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", Name, nullable=False),
    sa.Column("display_name", sa.String(80)),
    sa.Column("description", sa.Text),
    # NULL is shown as "private" (Glance's files may leave it out).
    sa.Column("visibility", sa.String(32)),
    sa.Column("protected", sa.Boolean),
    sa.Column("owner", sa.String(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("namespace"),
    sa.Index(None, "owner"),
    sa.Index(None, "created_at", "id"),
)

objects = sa.Table(
    "metadef_objects", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _namespace_fk(),
    sa.Column("name", Name, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("required", sa.Text),
    sa.Column("json_schema", sa.Text, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("namespace_id", "name"),
)

properties = sa.Table(
    "metadef_properties", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _namespace_fk(),
    sa.Column("name", Name, nullable=False),
    sa.Column("json_schema", sa.Text, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("namespace_id", "name"),
)

tags = sa.Table(
    "metadef_tags", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _namespace_fk(),
    sa.Column("name", Name, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("namespace_id", "name"),
)

resource_types = sa.Table(
    "metadef_resource_types", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", Name, nullable=False),
    # Seeded by the definition files: never removed through the API.
    sa.Column("protected", sa.Boolean, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("name"),
)

associations = sa.Table(
    "metadef_namespace_resource_types", metadata,
    sa.Column("resource_type_id", sa.Integer,
              sa.ForeignKey("metadef_resource_types.id"),
              primary_key=True),
    sa.Column("namespace_id", sa.Integer,
              sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("properties_target", sa.String(80)),
    sa.Column("prefix", sa.String(80)),
    # 1, 2, ... in the order a namespace's associations were made: the
    # order they are shown in (a definition file's order).
    sa.Column("position", sa.Integer, nullable=False),
    *_timestamps(),
    sa.Index(None, "namespace_id"),
)

#: Children of a namespace, in the order their rows are deleted.
CHILDREN = (objects, properties, tags, associations)
