"""Database engines and transactions for SQLite, PostgreSQL and MariaDB/MySQL.

``transaction(engine, fn)`` is the only way the core writes: it runs ``fn``
in one short transaction and retries it when the database reports a
transient conflict (SQLite "database is locked", MySQL deadlock or lock wait
timeout, PostgreSQL serialization failure).  ``fn`` must therefore be safe to
run again from scratch: it reads, decides and writes inside the transaction.

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so two writers never deadlock on a read-to-write lock
upgrade (the cause of real Glance's "database is locked" 500s), while reads
stay concurrent.
"""

import logging
import os
import random
import time

import sqlalchemy as sa
from sqlalchemy import event, exc

LOG = logging.getLogger(__name__)

MAX_RETRIES = 10
# SQLite plans queries well only with statistics (sqlite_stat1); without
# them a filtered list of 100,000 rows took 400 ms instead of 1 ms.  Each
# process refreshes them, bounded by analysis_limit (~10 ms), after its
# first write and then every ANALYZE_EVERY write transactions.
ANALYZE_EVERY = 500
_WRITES = {}


# A database server that does not answer must not hold a request (or a
# pool slot) for minutes: connecting gives up after this many seconds, and
# a request waits at most this long for a pooled connection.
CONNECT_TIMEOUT = 10
POOL_TIMEOUT = 10


def make_engine(url, pool_size=10, sqlite_busy_timeout=30):
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_busy_timeout)
    kwargs = {"pool_pre_ping": True, "pool_recycle": 3600,
              "pool_size": pool_size, "max_overflow": pool_size,
              "pool_timeout": POOL_TIMEOUT}
    if url.get_backend_name() == "mysql":
        if url.get_driver_name() in ("", "mysqldb") and not _has("MySQLdb"):
            url = url.set(drivername="mysql+pymysql")
        url = url.update_query_dict({"charset": "utf8mb4"})
        kwargs["isolation_level"] = "READ COMMITTED"
    if "connect_timeout" not in url.query:
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    return sa.create_engine(url, **kwargs)


# Connection-level failures by database: the server is down, restarting,
# unreachable, out of connections, or the connection was cut.  SQLSTATE
# classes of PostgreSQL: 08 connection exception, 53 insufficient
# resources, 57 operator intervention (shutdown), 40 transaction rollback
# (serialization, deadlock; what was retried and still failed).
_PG_CLASSES = ("08", "53", "57", "40")
_MYSQL_CODES = {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2005, 2006, 2013,
                2014, 2055, 4031}
_SQLITE_TEXT = ("database is locked", "database is busy",
                "unable to open database file", "disk i/o error")


def is_unavailable(err):
    """True when ``err`` says the database cannot be reached or is too
    busy right now (not that a statement is wrong): the request may
    succeed later, so it is a 503 with Retry-After, not a 500."""
    if isinstance(err, (exc.DisconnectionError, exc.TimeoutError)):
        return True
    if not isinstance(err, exc.DBAPIError):
        return False
    if err.connection_invalidated or isinstance(err, exc.InterfaceError):
        return True
    if not isinstance(err, exc.OperationalError):
        return False
    orig = err.orig
    pgcode = getattr(orig, "pgcode", False)
    if pgcode is not False and type(orig).__module__.startswith("psycopg"):
        return pgcode is None or pgcode[:2] in _PG_CLASSES
    code = (getattr(orig, "args", None) or [None])[0]
    if isinstance(code, int):
        return code in _MYSQL_CODES
    text = str(orig).lower()
    return any(t in text for t in _SQLITE_TEXT)


def _has(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _sqlite_engine(url, busy_timeout):
    database = url.database
    if database and database != ":memory:":
        folder = os.path.dirname(os.path.abspath(database))
        os.makedirs(folder, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": busy_timeout,
                           "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=%d" % (busy_timeout * 1000))
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("glare_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _is_transient(err):
    text = str(getattr(err, "orig", err)).lower()
    code = getattr(getattr(err, "orig", None), "args", [None])[0]
    if "database is locked" in text or "database is busy" in text:
        return True
    if code in (1213, 1205):       # MySQL deadlock / lock wait timeout
        return True
    if "could not serialize" in text or "deadlock detected" in text:
        return True
    return False


def _maybe_analyze(engine):
    count = _WRITES.get(id(engine), 0) + 1
    _WRITES[id(engine)] = count
    if count % ANALYZE_EVERY != 1:
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    except exc.OperationalError as err:   # busy: next time
        LOG.debug("Skipped ANALYZE: %s", err)


def transaction(engine, fn, write=True):
    """Run ``fn(conn)`` in one transaction, retrying transient conflicts."""
    for attempt in range(MAX_RETRIES):
        try:
            with engine.connect() as conn:
                if write:
                    conn = conn.execution_options(glare_write=True)
                with conn.begin():
                    result = fn(conn)
            if write and engine.dialect.name == "sqlite":
                _maybe_analyze(engine)
            return result
        except exc.OperationalError as err:
            if not _is_transient(err) or attempt == MAX_RETRIES - 1:
                raise
            LOG.info("Transient database conflict (%s); retrying", err.orig)
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


def read(engine, fn):
    return transaction(engine, fn, write=False)
