"""artifacts.db.session.is_unavailable: a database that cannot be reached
(or is too busy right now) is told apart from a statement that is wrong,
with real errors of each database: the first is a 503 with Retry-After,
the second stays a bug (500)."""

import sqlite3

import pytest
import sqlalchemy as sa

from artifacts.db import session
from tests.conftest import ADMIN_URLS, free_port


def error_of(engine, statement="SELECT 1"):
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    except sa.exc.SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def closed_port_url(kind):
    url = sa.engine.make_url(ADMIN_URLS[kind])
    return url.set(host="127.0.0.1", port=free_port())


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_server_that_is_not_there_is_unavailable(kind):
    exc = error_of(session.make_engine(closed_port_url(kind)))
    assert session.is_unavailable(exc), exc


def test_a_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path):
    (tmp_path / "db").mkdir()           # a directory, not a database file
    engine = sa.create_engine("sqlite:///%s" % (tmp_path / "db"))
    assert session.is_unavailable(error_of(engine))


def test_a_locked_sqlite_database_is_unavailable(tmp_path):
    path = tmp_path / "locked.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine = sa.create_engine("sqlite:///%s" % path,
                                  connect_args={"timeout": 0.05})
        assert session.is_unavailable(error_of(engine, "SELECT * FROM t"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _reachable(engine):
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.skip("database not reachable: %s" % exc)


@pytest.mark.parametrize("kind,bad", [
    ("postgresql", "SELECT no_such_column FROM pg_class"),
    ("mysql", "SELECT no_such_column FROM mysql.user"),
    ("mysql", "SELECT 1 FROM no_such_table"),
    ("sqlite", "SELECT * FROM no_such_table"),
    ("sqlite", "SELEC 1"),
])
def test_a_wrong_statement_is_not_unavailable(kind, bad, tmp_path):
    url = ADMIN_URLS.get(kind) or "sqlite:///%s" % (tmp_path / "x.sqlite")
    engine = session.make_engine(url)
    _reachable(engine)
    assert not session.is_unavailable(error_of(engine, bad))


def test_a_cut_connection_is_unavailable():
    """A PostgreSQL backend terminated under a session (an admin, a
    restart): the next statement on it fails as unavailable."""
    engine = session.make_engine(ADMIN_URLS["postgresql"])
    _reachable(engine)
    killer = sa.create_engine(ADMIN_URLS["postgresql"],
                              isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            with killer.connect() as k:
                k.execute(sa.text("SELECT pg_terminate_backend(:p)"),
                          {"p": pid})
            with pytest.raises(sa.exc.DBAPIError) as info:
                conn.execute(sa.text("SELECT 1"))
        assert session.is_unavailable(info.value)
    finally:
        killer.dispose()
        engine.dispose()


def test_other_errors_are_not_unavailable():
    assert not session.is_unavailable(ValueError("x"))
    assert session.is_unavailable(sa.exc.TimeoutError("pool"))
