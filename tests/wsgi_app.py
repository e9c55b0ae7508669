"""An in-process Glare for tests that go through the WSGI app without a
server: a config with everything under one directory, the engine on its
migrated database, and a werkzeug test client."""

import werkzeug.test

from artifacts.db import migrate
from glare import app as app_factory
from glare import config

# A policy file that is never there: only the built-in rules, whatever
# policy.yaml the machine's config directories hold.
NO_POLICY_FILE = "/nonexistent/policy.yaml"


def policy_file(root, text):
    """Writes ``text`` to ``root/policy.yaml``; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "policy.yaml"
    path.write_text(text)
    return str(path)


def sqlite_conf(root, overrides=None):
    """``config.load`` of a Glare on SQLite ``root/g.sqlite`` with its
    filesystem store in ``root/images``; ``overrides`` (``config.load``'s
    ``section.option`` keys) are added."""
    root.mkdir(parents=True, exist_ok=True)
    return config.load(overrides=dict({
        "database.connection": "sqlite:///%s" % (root / "g.sqlite"),
        "glance_store.filesystem_store_datadir": str(root / "images")},
        **(overrides or {})))


def migrated_engine(conf):
    """The engine ``glare`` builds from ``conf``, its database migrated to
    the head."""
    engine = app_factory.build_engine(conf)
    migrate.upgrade(engine.db)
    return engine


def client(conf, engine=None):
    """A werkzeug test client of ``conf``'s app on ``engine`` (default: a
    ``migrated_engine``), which is ``.engine``."""
    if engine is None:
        engine = migrated_engine(conf)
    api = werkzeug.test.Client(app_factory.create_app(conf, engine))
    api.engine = engine
    return api
