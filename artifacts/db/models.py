"""Tables of the artifact core (SQLAlchemy Core; Alembic owns the schema).

One row per artifact in ``artifacts`` holds what every type has (identity,
owner, visibility, status, version, timestamps and a ``revision`` counter
used for compare-and-swap updates).  Type-declared fields live in
``artifact_properties`` as typed rows so that any field can be filtered and
sorted in SQL with an index; tags, blobs and members have their own tables.

Names and widths follow Glance's schema where the meaning is the same, so a
migrated Glance database fits without truncation.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# Microsecond timestamps on every database (MySQL's DATETIME keeps whole
# seconds unless told otherwise).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

artifacts = sa.Table(
    "artifacts", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("type_name", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("owner", sa.String(255)),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("protected", sa.Boolean, nullable=False, default=False),
    sa.Column("hidden", sa.Boolean, nullable=False, default=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    # Semantic version in sortable parts.
    sa.Column("version_major", sa.Integer, nullable=False, default=0),
    sa.Column("version_minor", sa.Integer, nullable=False, default=0),
    sa.Column("version_patch", sa.Integer, nullable=False, default=0),
    sa.Column("version_prerelease", sa.String(255), nullable=False,
              default=""),
    sa.Column("version_build", sa.String(255), nullable=False, default=""),
    # Byte-ordered semver precedence (artifacts.versions.sort_key): latest,
    # sort and range filters on versions are plain indexed SQL.
    sa.Column("version_sort", sa.String(300).with_variant(
        mysql.VARCHAR(300, collation="utf8mb4_bin"), "mysql"),
        nullable=False, default=""),
    # sha256 of (type, owner, name, version) for live artifacts of
    # versioned types, NULL otherwise: the database itself refuses a second
    # live artifact with the same name and version in a project.
    sa.Column("unique_key", sa.String(64)),
    # Bumped by every committed change; updates are conditional on it.
    sa.Column("revision", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("deleted_at", Timestamp),
    sa.Index(None, "type_name", "deleted", "created_at", "id"),
    sa.Index(None, "owner"),
    sa.Index(None, "visibility"),
    sa.Index(None, "status"),
    sa.Index(None, "name"),
    sa.Index(None, "updated_at"),
    sa.Index(None, "type_name", "name", "version_sort"),
    sa.Index(None, "type_name", "deleted", "version_sort"),
    sa.UniqueConstraint("unique_key"),
)

artifact_properties = sa.Table(
    "artifact_properties", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("artifact_id", sa.String(36),
              sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    # Item position for list fields, item key for dict fields.
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("item_key", sa.String(255), nullable=False, default=""),
    # Exactly one of the value columns is used, by the field's kind.
    # Strings up to 255 characters go to string_value (indexed); longer
    # ones to text_value.
    sa.Column("string_value", sa.String(255)),
    # TEXT is 64 KiB on MySQL/MariaDB; long values must not become 500s.
    sa.Column("text_value", sa.Text().with_variant(mysql.LONGTEXT(),
                                                     "mysql")),
    sa.Column("int_value", sa.BigInteger),
    sa.Column("numeric_value", sa.Double),
    sa.Column("bool_value", sa.Boolean),
    sa.UniqueConstraint("artifact_id", "name", "position", "item_key"),
    sa.Index(None, "name", "string_value"),
    sa.Index(None, "name", "int_value"),
)

artifact_tags = sa.Table(
    "artifact_tags", metadata,
    sa.Column("artifact_id", sa.String(36),
              sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Index(None, "value"),
)

artifact_blobs = sa.Table(
    "artifact_blobs", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("artifact_id", sa.String(36),
              sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    # sha1 of field/path/position while the blob is live; NULL once it is
    # pending_delete, so a new blob can take the slot while the old data
    # waits for removal (NULLs never collide in a unique index).
    sa.Column("slot", sa.String(40)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("size", sa.BigInteger),
    sa.Column("md5", sa.String(32)),
    sa.Column("sha1", sa.String(40)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("sha512", sa.String(128)),
    # Data registered as an outside URL that Glare never reads: downloads
    # redirect to its one location (the Artifact API's external blobs).
    sa.Column("external", sa.Boolean, nullable=False, default=False),
    # The process (artifacts.instance id) whose upload or import a
    # ``saving`` claim is: a claim of a process proven dead is released at
    # once; one that stops heartbeating (``updated_at``) after its lease.
    sa.Column("holder", sa.String(64)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("artifact_id", "slot"),
    sa.Index(None, "status"),
)

# Data being written into a store, recorded (store and key) in its own
# committed transaction BEFORE the first byte is written, and removed in the
# transaction that makes the data a blob location (or once a failed write's
# data is gone).  A row whose ``holder`` (artifacts.instance id) is proven
# dead, or whose ``updated_at`` heartbeat is older than the stale limit, is
# an interrupted write: recovery and ``glare scrub`` remove whatever the
# store holds under the key (partial or committed) and then the row.  No
# foreign key: the record must outlive a deleted artifact until its data is
# gone.
store_writes = sa.Table(
    "store_writes", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(255), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("artifact_id", sa.String(36)),
    sa.Column("holder", sa.String(64)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index(None, "holder"),
    sa.Index(None, "updated_at"),
    sa.Index(None, "artifact_id"),
)

# Where a blob's bytes are: an ordered list (``position``) of copies of the
# same data, as Glance's ``image_locations``.  ``store`` is the configured
# store id that owns the URL (NULL for an outside URL no store owns);
# ``meta_data`` is a JSON object kept exactly (Glance's location metadata).
# ``status``: ``active`` (readable), ``pending_delete`` (its data is to be
# removed: the scrubber's work list), ``deleted`` (removed; kept as Glance
# keeps deleted location rows).  Rows go with their blob (CASCADE).
blob_locations = sa.Table(
    "blob_locations", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("blob_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("artifact_blobs.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("store", sa.String(255)),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("meta_data", sa.Text, nullable=False, default="{}"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index(None, "blob_id", "position"),
    sa.Index(None, "status"),
)

artifact_members = sa.Table(
    "artifact_members", metadata,
    sa.Column("artifact_id", sa.String(36),
              sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("member", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index(None, "member", "status"),
)

# -- the "database" blob store (artifacts.stores.database) -------------------
# One row per stored object; its bytes are rows of store_chunks.  ``slot`` is
# the sha256 of the object's key while it is committed and NULL while it is
# being uploaded or deleted, so the unique index lets exactly one committed
# object hold a key (NULLs never collide).  AUTOINCREMENT on SQLite: an id
# (the location glare-db://<id>) is never reused for another object.
store_objects = sa.Table(
    "store_objects", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("slot", sa.String(64)),
    sa.Column("size", sa.BigInteger, nullable=False, default=0),
    sa.Column("chunk_size", sa.Integer, nullable=False),
    sa.Column("committed", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # Touched by every chunk a writer stores: stale-upload cleanup uses it.
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("slot"),
    sa.Index(None, "committed", "updated_at"),
    sqlite_autoincrement=True,
)

store_chunks = sa.Table(
    "store_chunks", metadata,
    sa.Column("object_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("store_objects.id", ondelete="CASCADE"),
              primary_key=True),
    # Chunk number: bytes [seq * chunk_size, (seq + 1) * chunk_size).
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    # BLOB is 64 KiB on MySQL/MariaDB; chunks are up to 8 MiB.
    sa.Column("data", sa.LargeBinary().with_variant(mysql.LONGBLOB(),
                                                      "mysql"),
              nullable=False),
)

# -- locks serializing work on one artifact (artifacts.locking) --------------
# One row per held lock.  ``lock_key`` is the sha256 hex of the logical key
# (fixed width, the same bytes on every database whatever its collation);
# ``holder`` is a uuid4 hex per acquisition, so a holder whose lease expired
# and was taken over can neither release nor renew the new holder's lock.
# Times are the database's clock (UTC), never a worker's.
artifact_locks = sa.Table(
    "artifact_locks", metadata,
    sa.Column("lock_key", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("acquired_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    # What holds it ("update", "upload", ...), shown in the 409 message.
    sa.Column("operation", sa.String(64), nullable=False),
    # The holding process (artifacts.instance id): a dead one's lock is
    # released before its lease ends when that can be proven.
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Index(None, "expires_at"),
)

# -- per-project quotas (artifacts.quotas) ------------------------------------
# Overrides an admin sets at run time; the defaults come from [quotas] in
# the configuration.  ``type_name`` '' is the project's total over all types.
# ``value`` -1 is unlimited.
artifact_quotas = sa.Table(
    "artifact_quotas", metadata,
    sa.Column("project_id", sa.String(255), primary_key=True),
    sa.Column("type_name", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# Bytes an upload in progress has reserved against its project's byte
# quotas; it grows in steps while the bytes stream and is dropped when the
# blob becomes active (its size then counts as stored) or the upload fails.
# ``expires_at`` (database clock) is renewed while the upload makes
# progress, so a crashed worker's reservation stops counting by itself.
upload_reservations = sa.Table(
    "upload_reservations", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(64), nullable=False),
    sa.Column("artifact_id", sa.String(36), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    # The uploading process (artifacts.instance id), as for locks.
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Index(None, "project_id", "expires_at"),
)

# One row per project whose quotas were ever checked: every quota decision
# of a project (create, reservation step, quota change) first updates its
# row, so they run one at a time (a row lock on PostgreSQL and MariaDB, the
# write lock on SQLite) and each sees what the previous one committed.
quota_guards = sa.Table(
    "quota_guards", metadata,
    sa.Column("project_id", sa.String(255), primary_key=True),
    sa.Column("serial", sa.BigInteger, nullable=False, default=0),
)

# -- durable data work (artifacts.jobs) ----------------------------------------
# One row per copy of a blob into one more store, written in the request's
# transaction and run by whichever worker claims it: ``holder`` is the
# claiming runner, ``heartbeat_at`` (database clock) its sign of life; a
# running job whose heartbeat is older than the stale limit is claimed again
# by another worker.  ``batch`` groups the stores of one request, so that
# with ``must_succeed`` one failure fails the rest of the batch.
data_jobs = sa.Table(
    "data_jobs", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              primary_key=True, autoincrement=True),
    sa.Column("artifact_id", sa.String(36),
              sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("type_name", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("store", sa.String(255), nullable=False),
    sa.Column("batch", sa.String(36), nullable=False),
    sa.Column("must_succeed", sa.Boolean, nullable=False, default=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("holder", sa.String(64)),
    sa.Column("heartbeat_at", Timestamp),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # "copy" (into ``store``) or "register" (``payload``: the URL and
    # what to check, see artifacts.registration).
    sa.Column("kind", sa.String(32), nullable=False, server_default="copy"),
    sa.Column("payload", sa.Text),
    sa.Index(None, "status", "heartbeat_at"),
    sa.Index(None, "batch"),
)


# Durable records of asynchronous work (Glance's tasks): what was asked
# (``input``), by whom, its status and outcome.  ``handler`` names the
# registered function that runs it (claimed like data_jobs: ``holder`` and
# ``heartbeat_at``; a stale heartbeat means the worker died); NULL when
# another mechanism finishes it (copy-image: its data_jobs batch).  Expired
# rows (``expires_at`` passed) are never shown and are purged.
tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("artifact_id", sa.String(36)),
    sa.Column("type_name", sa.String(64)),
    sa.Column("request_id", sa.String(64)),
    sa.Column("user_id", sa.String(64)),
    sa.Column("input", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("handler", sa.String(64)),
    sa.Column("holder", sa.String(64)),
    sa.Column("heartbeat_at", Timestamp),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("expires_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index(None, "status", "heartbeat_at"),
    sa.Index(None, "owner", "created_at"),
    sa.Index(None, "created_at"),
    sa.Index(None, "artifact_id"),
    sa.Index(None, "expires_at"),
)


# -- what `glare migrate-from-glance` brought over (migrate_from_glance) -----
# One row per Glance image written by the tool, in the same transaction as
# the image.  ``stamp`` is a digest of the source rows' timestamps and counts
# (image and every child table, deleted rows included): a re-run skips an
# image whose stamp is unchanged.  ``copied_*``: ``--copy-data`` put the
# data into a Glare store (the location, and the Glance checksum and hash it
# was checked against); a re-run keeps that location while they still match.
glance_migration = sa.Table(
    "glance_migration", metadata,
    sa.Column("image_id", sa.String(36), primary_key=True),
    sa.Column("stamp", sa.String(40), nullable=False),
    sa.Column("copied_store", sa.String(255)),
    sa.Column("copied_url", sa.Text),
    sa.Column("copied_digest", sa.String(200)),
    sa.Column("migrated_at", Timestamp, nullable=False),
)


# Which node's image cache holds which image (artifacts/cache_nodes.py):
# Glance's centralized_db cache driver, per node URL
# (worker_self_reference_url).  The node's own cache.db stays the truth
# about its files; this is the list GET /v2/cache/nodes/{id} answers.
image_cache_nodes = sa.Table(
    "image_cache_nodes", metadata,
    sa.Column("image_id", sa.String(36), primary_key=True),
    sa.Column("node_url", sa.String(255), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("cached_at", Timestamp, nullable=False),
    sa.Index(None, "node_url"),
)
