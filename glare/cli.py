"""The ``glare`` command: serve, db upgrade, scrub."""

import argparse
import os
import sys

from glare import config, logs


def _conf(args):
    try:
        return config.load(args.config)
    except config.ConfigError as exc:
        sys.exit("glare: configuration error: %s" % exc)


def cmd_serve(args):
    conf = _conf(args)
    logs.setup(conf)
    from glare import server
    server.run(conf, args.config)


def cmd_db_upgrade(args):
    conf = _conf(args)
    logs.setup(conf)
    from artifacts.db import migrate
    from artifacts.db.session import make_engine
    engine = make_engine(conf.database.connection)
    migrate.upgrade(engine)
    print("Database at revision %s" % migrate.current(engine))


def cmd_scrub(args):
    conf = _conf(args)
    logs.setup(conf)
    from artifacts import types
    from glare.app import build_engine
    engine = build_engine(conf)
    reset = engine.reset_stale_uploads(types.all_types().values())
    done = engine.scrub()
    print("Reset %d stalled uploads; removed data of %d deleted blobs"
          % (reset, done))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="glare")
    parser.add_argument("--config", default=os.environ.get("GLARE_CONFIG"),
                        help="INI file (glance-api.conf option names)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)
    db = sub.add_parser("db", help="database schema")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    up.set_defaults(func=cmd_db_upgrade)
    scrub = sub.add_parser("scrub", help="finish pending deletions")
    scrub.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    scrub.set_defaults(func=cmd_scrub)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
