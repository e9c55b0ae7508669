"""Glance's database, read-only: schema check and batched reads.

The source is opened so that it cannot be written by mistake (SQLite in
``mode=ro``, PostgreSQL with ``default_transaction_read_only``, MySQL/
MariaDB with ``SET SESSION TRANSACTION READ ONLY``).  Every read of a
batch of images is keyed by image id (``id > last ORDER BY id LIMIT n``)
and its child rows are read with ``image_id IN (...)`` on Glance's own
indexes: never one query per image.

Text that is not valid UTF-8 (possible only in a SQLite Glance) is kept as
a ``BadText`` value instead of failing the whole batch (``fetch``), so the
one image it belongs to can be refused by name.
"""

import hashlib
import sqlite3
import urllib.parse

import sqlalchemy as sa

# Glance's image tables as Glance 33 (alembic head 2024_1_contract01)
# creates them; only the columns the migration reads.
meta = sa.MetaData()
images = sa.Table(
    "images", meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("size", sa.BigInteger), sa.Column("virtual_size", sa.BigInteger),
    sa.Column("status", sa.String(30)),
    sa.Column("visibility", sa.String(9)),
    sa.Column("checksum", sa.String(32)),
    sa.Column("os_hash_algo", sa.String(64)),
    sa.Column("os_hash_value", sa.String(128)),
    sa.Column("min_disk", sa.Integer), sa.Column("min_ram", sa.Integer),
    sa.Column("owner", sa.String(255)),
    sa.Column("protected", sa.Boolean), sa.Column("os_hidden", sa.Boolean),
    sa.Column("disk_format", sa.String(20)),
    sa.Column("container_format", sa.String(20)),
    sa.Column("created_at", sa.DateTime), sa.Column("updated_at", sa.DateTime),
    sa.Column("deleted_at", sa.DateTime), sa.Column("deleted", sa.Boolean),
)


def _child(name, *columns):
    return sa.Table(
        name, meta, sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.String(36)), *columns,
        sa.Column("created_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime), sa.Column("deleted", sa.Boolean))


image_properties = _child("image_properties", sa.Column("name", sa.String),
                          sa.Column("value", sa.Text))
image_tags = _child("image_tags", sa.Column("value", sa.String))
image_members = _child("image_members", sa.Column("member", sa.String),
                       sa.Column("status", sa.String),
                       sa.Column("can_share", sa.Boolean))
image_locations = _child("image_locations", sa.Column("value", sa.Text),
                         sa.Column("meta_data", sa.Text),
                         sa.Column("status", sa.String))
CHILDREN = (image_properties, image_tags, image_members, image_locations)

# alembic_version values whose image tables are the ones above.  The image
# tables have not changed since Rocky (os_hidden, os_hash_*); later
# releases only touched tasks and the cache tables.  Glance 33 (2026.2)
# creates 2024_1_contract01 (checked by the tests with real glance-manage).
KNOWN_VERSIONS = {
    "2024_1_contract01": "Glance 28 (2024.1) to 33 (2026.2)",
    "2024_1_expand01": "Glance 28 (2024.1) to 33 (2026.2), expand only",
    "2023_1_contract01": "Glance 26/27 (2023.1, 2023.2)",
    "zed_contract01": "Glance 25 (Zed)",
    "yoga_contract01": "Glance 24 (Yoga)",
    "xena_contract01": "Glance 23 (Xena)",
    "wallaby_contract01": "Glance 22 (Wallaby)",
    "ussuri_contract01": "Glance 20/21 (Ussuri, Victoria)",
    "train_contract01": "Glance 19 (Train)",
    "rocky_contract02": "Glance 17/18 (Rocky, Stein)",
}


class SourceError(Exception):
    """The source database cannot be read or is not a known Glance."""


def fetch(conn, query):
    """All rows of ``query``.  SQLite gives up on a whole result when one
    value is not UTF-8; then it is read again decoding each value in
    Python (slower), so that value becomes a BadText of its image."""
    try:
        return conn.execute(query).all()
    except sa.exc.OperationalError as exc:
        if conn.dialect.name != "sqlite" or "decode" not in str(exc.orig):
            raise
    raw = conn.connection.dbapi_connection
    raw.text_factory = _text
    try:
        return conn.execute(query).all()
    finally:
        raw.text_factory = str


class BadText(bytes):
    """Text that is not valid UTF-8 (shown escaped in messages)."""

    def __str__(self):
        return self.decode("utf-8", "backslashreplace")


def _text(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadText(raw)


def _redact(url):
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def open_source(url):
    """A read-only SQLAlchemy engine on Glance's database ``url``."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise SourceError("--source-db %r is not a database URL: %s"
                          % (url, exc)) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            raise SourceError("--source-db %s names no SQLite file." % url)

        def connect():
            conn = sqlite3.connect(
                "file:%s?mode=ro" % urllib.parse.quote(path), uri=True,
                check_same_thread=False)
            # Read through a memory map and a larger page cache: a re-run
            # reads every child table's image_id index and rows once.
            conn.execute("PRAGMA mmap_size = 1073741824")
            conn.execute("PRAGMA cache_size = -65536")
            return conn
        engine = sa.create_engine("sqlite://", creator=connect,
                                  poolclass=sa.pool.SingletonThreadPool)
    elif backend in ("postgresql", "mysql"):
        if backend == "mysql" and parsed.get_driver_name() in ("", "mysqldb"):
            try:
                import MySQLdb  # noqa: F401
            except ImportError:
                parsed = parsed.set(drivername="mysql+pymysql")
        if backend == "mysql":
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        args = ({"options": "-c default_transaction_read_only=on"}
                if backend == "postgresql" else {})
        engine = sa.create_engine(parsed, connect_args=args, pool_size=2)
        if backend == "mysql":
            @sa.event.listens_for(engine, "connect")
            def _read_only(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                cur.close()
    else:
        raise SourceError("--source-db: %s databases are not supported "
                          "(Glance runs on MySQL/MariaDB, PostgreSQL or "
                          "SQLite)." % backend)
    check_schema(engine, url)
    return engine


def check_schema(engine, url):
    """The Glance release of the schema; SourceError when unknown."""
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "alembic_version" not in tables:
                raise SourceError(
                    "%s has no alembic_version table: it is not a Glance "
                    "database, or one older than Liberty; upgrade it with "
                    "glance-manage db sync first." % _redact(url))
            versions = [r[0] for r in conn.execute(sa.text(
                "SELECT version_num FROM alembic_version"))]
    except sa.exc.DBAPIError as exc:
        raise SourceError("Cannot read Glance's database %s: %s"
                          % (_redact(url), exc.orig)) from exc
    unknown = [v for v in versions if v not in KNOWN_VERSIONS]
    if not versions or unknown:
        raise SourceError(
            "Glance's database is at schema version %s, which this tool "
            "does not know (known: %s). Upgrade Glance's database with "
            "glance-manage db sync, or use a Glare that knows it."
            % (", ".join(map(str, versions)) or "(none)",
               ", ".join(sorted(KNOWN_VERSIONS))))
    missing = {t.name for t in (images,) + CHILDREN} - tables
    if missing:
        raise SourceError("Glance's database lacks the tables %s."
                          % ", ".join(sorted(missing)))
    return versions


# ------------------------------------------------------------------ reads

def count_images(conn):
    return conn.execute(sa.select(sa.func.count()).select_from(images)
                        ).scalar()


class Batch(list):
    """Image rows in id order; ``bounds`` (after, last) when the batch is
    every image with ``after < id <= last`` (a full run), so the child
    rows of the batch are a range of Glance's image_id indexes instead of
    an IN list of a thousand ids."""
    bounds = None

    def where(self, column, ids=None):
        """The condition selecting rows of ``ids`` (default: the batch)."""
        if ids is None and self.bounds is not None:
            return sa.and_(column > self.bounds[0], column <= self.bounds[1])
        return column.in_([r.id for r in self] if ids is None else ids)


def image_batches(conn_factory, batch, ids=None):
    """Batches of image rows in id order, ``batch`` at a time; only the
    ``ids`` given when not None (``--since``)."""
    if ids is not None:
        ids = sorted(ids)
        for i in range(0, len(ids), batch):
            with conn_factory() as conn:
                yield Batch(fetch(conn, sa.select(images).where(
                    images.c.id.in_(ids[i:i + batch])).order_by(
                    images.c.id)))
        return
    last = ""
    while True:
        with conn_factory() as conn:
            rows = Batch(fetch(conn, sa.select(images).where(
                images.c.id > last).order_by(images.c.id).limit(batch)))
        if not rows:
            return
        rows.bounds = (last, rows[-1].id)
        yield rows
        last = rows[-1].id


def _as_text(column):
    return sa.cast(column, sa.String)


def stamps(conn, image_rows):
    """{image id: 40-hex digest of its rows' timestamps and counts}: any
    change Glance makes to an image, its properties, tags, members or
    locations (soft deletes included) changes it.  ``image_rows``: a
    Batch."""
    parts = {r.id: [str(r.updated_at), str(r.deleted_at), str(r.deleted),
                    r.status] for r in image_rows}
    ids = list(parts)
    for table in CHILDREN:
        c = table.c
        query = sa.select(
            c.image_id, sa.func.count(), _as_text(sa.func.max(c.created_at)),
            _as_text(sa.func.max(c.updated_at)),
            _as_text(sa.func.max(c.deleted_at)),
            _as_text(sa.func.max(c.id))).where(
            image_rows.where(c.image_id)).group_by(c.image_id)
        found = {row[0]: row[1:] for row in conn.execute(query).all()}
        for image_id in ids:
            parts[image_id].append(table.name + repr(found.get(image_id)))
    return {i: hashlib.sha1("|".join(p).encode("utf-8", "backslashreplace")
                            ).hexdigest() for i, p in parts.items()}


def children(conn, batch, ids):
    """The live (not deleted) child rows of the images ``ids`` of
    ``batch``, by image id: {id: {"properties": [rows], "tags": [...],
    "members": [...], "locations": [...]}}, each list in Glance's order
    (row id)."""
    out = {i: {"properties": [], "tags": [], "members": [], "locations": []}
           for i in ids}
    if not ids:
        return out
    # Most of the batch: its range, the rows of other images skipped here.
    most = 2 * len(ids) > len(batch)

    def of(column):
        return batch.where(column, None if most else ids)
    P, T, M, L = CHILDREN
    queries = (
        ("properties", sa.select(P.c.image_id, P.c.name, P.c.value)
         .where(of(P.c.image_id), P.c.deleted == sa.false())
         .order_by(P.c.id)),
        ("tags", sa.select(T.c.image_id, T.c.value).where(
            of(T.c.image_id), T.c.deleted == sa.false())
         .order_by(T.c.id)),
        ("members", sa.select(M.c.image_id, M.c.member, M.c.status,
                              M.c.created_at, M.c.updated_at).where(
            of(M.c.image_id), M.c.deleted == sa.false())
         .order_by(M.c.id)),
        ("locations", sa.select(L.c.image_id, L.c.id, L.c.value,
                                L.c.meta_data, L.c.status, L.c.created_at,
                                L.c.updated_at).where(
            of(L.c.image_id), L.c.deleted == sa.false())
         .order_by(L.c.id)),
    )
    for kind, query in queries:
        for row in fetch(conn, query):
            mine = out.get(row.image_id)
            if mine is not None:    # (a range may hold a newer image)
                mine[kind].append(row)
    return out


def changed_since(conn, since):
    """Ids of images that changed at or after ``since`` (their row or any
    child row created, updated or deleted since then)."""
    ids = set()
    for table in (images,) + CHILDREN:
        c = table.c
        key = c.id if table is images else c.image_id
        cond = sa.or_(c.updated_at >= since, c.deleted_at >= since,
                      c.created_at >= since)
        ids.update(r[0] for r in conn.execute(sa.select(key).where(cond)
                                              .distinct()))
    return ids
