"""Schema migrations (Alembic), run by `glare db upgrade` and by `make run`.

The production path never calls ``metadata.create_all``: the schema is what
the migrations build, on every database.
"""

import importlib
import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

HERE = os.path.dirname(os.path.abspath(__file__))

#: Modules outside the core whose tables share the core's MetaData and its
#: migration history (importing one registers its tables).
TABLE_MODULES = ("metadefs.tables",)


def full_metadata():
    """The core's MetaData with every table the migrations build: what
    Alembic's environment and the drift checks compare against."""
    from artifacts.db import models
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return models.metadata


def _config():
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    return cfg


def upgrade(engine, revision="head"):
    _run(engine, command.upgrade, revision)


def downgrade(engine, revision):
    _run(engine, command.downgrade, revision)


def _run(engine, alembic_command, revision):
    """Run an Alembic command in one transaction.

    On SQLite, foreign keys are off while it runs: Alembic's batch mode
    changes a table by copying it and dropping the original, and with
    foreign keys on, that DROP deletes every row that references it through
    ``ON DELETE CASCADE`` (0006 would lose every blob location).  The
    pragma has no effect inside a transaction, so it is set around it; a
    foreign key the migration broke is an error before the commit."""
    cfg = _config()
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # On the driver's connection: SQLAlchemy would open a
            # transaction first, and the pragma does nothing in one.
            conn.connection.driver_connection.execute(
                "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                alembic_command(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql(
                        "PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(
                            "The migration left rows whose foreign keys "
                            "point nowhere: %r" % (broken[:5],))
        finally:
            if sqlite:
                conn.connection.driver_connection.execute(
                    "PRAGMA foreign_keys=ON")


def current(engine):
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head():
    return ScriptDirectory.from_config(_config()).get_current_head()
