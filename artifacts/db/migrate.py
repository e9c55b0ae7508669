"""Schema migrations (Alembic), run by `glare db upgrade` and by `make run`.

The production path never calls ``metadata.create_all``: the schema is what
the migrations build, on every database.
"""

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

HERE = os.path.dirname(os.path.abspath(__file__))


def _config():
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    return cfg


def upgrade(engine, revision="head"):
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current(engine):
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head():
    return ScriptDirectory.from_config(_config()).get_current_head()
