"""The ``glare`` command: serve, db upgrade, scrub, conformance,
migrate-from-glance."""

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
    reset = engine.data.recover_stale_uploads(types.all_types().values())
    done = engine.scrub()
    print("Reset %d stalled uploads; removed data of %d deleted blobs"
          % (reset, done))


def cmd_conformance(args):
    """Run the conformance suite (conformance/) against ``--url``."""
    from conformance import run
    extra = []
    tokens = {"--token": args.token, "--token-admin": args.token_admin,
              "--token-reader": args.token_reader, "--token-b": args.token_b}
    if args.keystone:
        users = {"--token": args.user, "--token-admin": args.admin_user,
                 "--token-reader": args.reader_user,
                 "--token-b": args.user_b}
        if not args.user:
            sys.exit("glare conformance: --keystone needs --user")
        for option, cred in users.items():
            if cred:
                tokens[option] = _keystone_token(args.keystone, cred,
                                                 args.domain)
    for option, value in tokens.items():
        if value:
            extra += [option, value]
    for option in ("project_a", "project_b", "admin_roles"):
        value = getattr(args, option)
        if value:
            extra += ["--" + option.replace("_", "-"), value]
    pytest_args = [a for a in args.pytest_args if a != "--"]
    sys.exit(run.run_suite(args.url, args.server_kind, extra + pytest_args))


def _keystone_token(auth_url, credentials, domain):
    """A project-scoped token for ``USER:PASSWORD@PROJECT``."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    user, _, rest = credentials.partition(":")
    password, _, project = rest.rpartition("@")
    if not (user and password and project):
        sys.exit("glare conformance: credentials must look like "
                 "USER:PASSWORD@PROJECT")
    auth = v3.Password(auth_url=auth_url, username=user, password=password,
                       project_name=project, user_domain_name=domain,
                       project_domain_name=domain)
    return session.Session(auth=auth).get_token()


def _add_conformance_parser(sub):
    conf = sub.add_parser(
        "conformance", help="run the Glance v2 conformance suite against an "
                            "endpoint (Glare or Glance)")
    conf.add_argument("--url", required=True,
                      help="unversioned image API URL, e.g. "
                           "http://127.0.0.1:9292")
    conf.add_argument("--server-kind", default="glare",
                      choices=("glare", "glance"),
                      help="which side known Glance deviations fail on")
    conf.add_argument("--token", help="token of a member of project A "
                                      "(default: trusted headers)")
    conf.add_argument("--token-admin", help="token with the admin role")
    conf.add_argument("--token-reader", help="token of a reader of project A")
    conf.add_argument("--token-b", help="token of a member of project B")
    conf.add_argument("--keystone", metavar="AUTH_URL",
                      help="get the tokens from Keystone v3 for --user, "
                           "--admin-user, --reader-user, --user-b")
    for name in ("user", "admin-user", "reader-user", "user-b"):
        conf.add_argument("--" + name, metavar="USER:PASSWORD@PROJECT")
    conf.add_argument("--domain", default="Default",
                      help="user and project domain name (Keystone)")
    conf.add_argument("--project-a", help="trusted-header project A id")
    conf.add_argument("--project-b", help="trusted-header project B id")
    conf.add_argument("--admin-roles", help="X-Roles of the admin identity")
    conf.add_argument("pytest_args", nargs=argparse.REMAINDER,
                      help="extra pytest arguments (after --)")
    conf.set_defaults(func=cmd_conformance)


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
    _add_conformance_parser(sub)
    from migrate_from_glance import cli as migrate_cli
    migrate_cli.add_parser(sub, _conf)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
