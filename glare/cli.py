"""The ``glare`` command: serve, db upgrade|load-metadefs|unload-metadefs|
export-metadefs, scrub, cache-prune, cache-clean, config-check,
conformance, migrate-from-glance."""

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


def _metadef_engine(args):
    conf = _conf(args)
    logs.setup(conf)
    from artifacts.db.session import make_engine
    return conf, make_engine(conf.database.connection)


def cmd_load_metadefs(args):
    """Load Glance's definition files (glance-manage db load_metadefs)."""
    from metadefs import loader
    conf, engine = _metadef_engine(args)
    try:
        files, where = loader.find_source(args.path,
                                          conf.metadata_source_path)
        print("Loading metadata definitions from %s" % where)
        loaded, skipped, failed = loader.load(
            engine, files, merge=args.merge, prefer_new=args.prefer_new,
            overwrite=args.overwrite)
    except loader.LoadError as exc:
        sys.exit("glare: %s" % exc)
    print("%d namespaces loaded, %d skipped (already there), %d files not "
          "loaded" % (loaded, skipped, failed))
    if failed:
        sys.exit(1)


def cmd_unload_metadefs(args):
    """Delete every metadata definition (glance-manage unload_metadefs)."""
    from metadefs import loader
    _, engine = _metadef_engine(args)
    print("%d namespaces deleted" % loader.unload(engine))


def cmd_export_metadefs(args):
    """Write every namespace to a file (glance-manage export_metadefs)."""
    from metadefs import loader
    conf, engine = _metadef_engine(args)
    directory = args.path or conf.metadata_source_path
    print("%d namespaces exported to %s"
          % (loader.export(engine, directory), directory))


def _add_metadef_parsers(dbsub):
    load = dbsub.add_parser(
        "load-metadefs", help="load metadata definition files (Glance's "
                              "/etc/glance/metadefs or an installed glance)")
    load.add_argument("path", nargs="?",
                      help="directory, file or Glance virtualenv (default: "
                           "[DEFAULT] metadata_source_path, then the files "
                           "of an installed glance)")
    load.add_argument("--merge", action="store_true",
                      help="add what existing namespaces lack")
    load.add_argument("--prefer-new", action="store_true",
                      help="with --merge: replace what they have")
    load.add_argument("--overwrite", action="store_true",
                      help="with --merge: reload them from scratch")
    load.set_defaults(func=cmd_load_metadefs)
    unload = dbsub.add_parser("unload-metadefs",
                              help="delete every metadata definition")
    unload.set_defaults(func=cmd_unload_metadefs)
    export = dbsub.add_parser("export-metadefs",
                              help="write every namespace to a JSON file")
    export.add_argument("path", nargs="?",
                        help="directory (default: [DEFAULT] "
                             "metadata_source_path)")
    export.set_defaults(func=cmd_export_metadefs)
    for parser in (load, unload, export):
        parser.add_argument("--config", dest="config",
                            default=argparse.SUPPRESS)


def cmd_scrub(args):
    conf = _conf(args)
    logs.setup(conf)
    from artifacts import types
    from glare.app import build_engine
    engine = build_engine(conf)
    reset = engine.data.recover_stale_uploads(types.all_types().values())
    done = engine.scrub()
    print("Released %d interrupted uploads, imports, writes or jobs; "
          "removed data of %d deleted blobs" % (reset, done))


def _image_cache(args):
    conf = _conf(args)
    logs.setup(conf)
    if not conf.image_cache_dir:
        sys.exit("glare: [DEFAULT] image_cache_dir is not set: there is no "
                 "image cache on this node.")
    from artifacts.db.session import make_engine
    from glare.app import image_cache
    # With centralized_db, evictions are also dropped from the database's
    # record of this node's cache.
    return image_cache(conf, make_engine(conf.database.connection))


def cmd_cache_prune(args):
    """Evict least recently used cached images down to
    image_cache_max_size (Glance's glance-cache-pruner, for cron)."""
    files, freed = _image_cache(args).prune()
    print("Pruned %d file(s), %d byte(s)." % (files, freed))


def cmd_cache_clean(args):
    """Remove stalled incomplete and invalid cache files (Glance's
    glance-cache-cleaner, for cron)."""
    removed = _image_cache(args).clean()
    print("Removed %d stalled or invalid cache file(s)." % removed)


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


def cmd_config_check(args):
    """Say of every option in FILE whether Glare honours or ignores it;
    an option Glare rejects (a bad value, a missing file) is printed and
    the exit status is 1."""
    try:
        conf = config.load(args.file)
    except config.ConfigError as exc:
        print("rejected: %s" % exc)
        sys.exit(1)
    report = config.check_report(conf)
    for verdict, section, name, why in report:
        print("%-9s [%s] %s%s" % (verdict, section, name,
                                  ": " + why if why else ""))
    counts = {v: sum(1 for r in report if r[0] == v)
              for v in ("honoured", "ignored")}
    print("%(honoured)d honoured, %(ignored)d ignored, 0 rejected" % counts)


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
    _add_metadef_parsers(dbsub)
    scrub = sub.add_parser("scrub", help="finish pending deletions, release "
                                         "what crashed processes left")
    scrub.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    scrub.set_defaults(func=cmd_scrub)
    for name, func, text in (
            ("cache-prune", cmd_cache_prune,
             "evict cached images down to image_cache_max_size (cron)"),
            ("cache-clean", cmd_cache_clean,
             "remove stalled and invalid image cache files (cron)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--config", dest="config",
                         default=argparse.SUPPRESS)
        cmd.set_defaults(func=func)
    check = sub.add_parser(
        "config-check", help="report which options of a glance-api.conf "
                             "Glare honours, ignores or rejects")
    check.add_argument("file", help="the configuration file to check")
    check.set_defaults(func=cmd_config_check)
    _add_conformance_parser(sub)
    from migrate_from_glance import cli as migrate_cli
    migrate_cli.add_parser(sub, _conf)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
