"""``glare migrate-from-glance [verify]``: argument parsing and exit codes.

Exit codes: 0 all moved (verify: no difference), 1 some images were
skipped (each named in the report) or differ, 2 the run could not start or
stopped (unreachable database, unknown schema, configuration).
"""

import argparse
import datetime
import logging
import sys

from migrate_from_glance import glance_config, run
from migrate_from_glance.records import Fatal
from migrate_from_glance.source import SourceError


def add_parser(sub, conf_loader):
    mig = sub.add_parser(
        "migrate-from-glance",
        help="bring a Glance database's images into Glare (safe to re-run)")
    mig.add_argument("--config", dest="config", default=argparse.SUPPRESS,
                     help="Glare's configuration file")
    mig.add_argument("action", nargs="?", choices=("run", "verify"),
                     default="run", help="verify: compare source and "
                                         "target record by record")
    mig.add_argument("--source-db", required=True, metavar="URL",
                     help="Glance's database (SQLAlchemy URL), read-only")
    mig.add_argument("--glance-config", metavar="FILE",
                     help="glance-api.conf: stores and "
                          "metadata_encryption_key")
    mig.add_argument("--store-map", metavar="GLANCE=GLARE,...",
                     help="Glare store serving each Glance store id")
    mig.add_argument("--metadata-encryption-key", metavar="KEY",
                     help="Glance's metadata_encryption_key")
    mig.add_argument("--copy-data", action="store_true",
                     help="copy active images' data into Glare's store")
    mig.add_argument("--dry-run", action="store_true",
                     help="read and check everything, write nothing")
    mig.add_argument("--batch", type=int, default=1000,
                     help="images per transaction (default 1000)")
    mig.add_argument("--since", metavar="TIMESTAMP",
                     help="only images changed at or after this UTC time "
                          "(ISO 8601)")
    mig.add_argument("--data", action="store_true",
                     help="verify: read every active image's data too")
    mig.set_defaults(func=lambda args: sys.exit(main(args, conf_loader)))


def _since(text):
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Fatal("--since %r is not an ISO 8601 time." % text) from None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def options_from(args, stores):
    store_map = glance_config.parse_store_map(args.store_map)
    key = args.metadata_encryption_key
    if args.glance_config:
        store_map, glance_key = glance_config.read(args.glance_config,
                                                   stores, store_map)
        key = key or glance_key
    if args.batch < 1:
        raise Fatal("--batch must be at least 1.")
    return run.Options(batch=args.batch, since=_since(args.since),
                       dry_run=args.dry_run, copy_data=args.copy_data,
                       store_map=store_map, encryption_key=key)


def main(args, conf_loader):
    conf = conf_loader(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s "
                        "%(name)s: %(message)s", stream=sys.stderr)
    from glare.app import build_engine
    try:
        engine = build_engine(conf)
        options = options_from(args, engine.stores)
        if args.action == "verify":
            from migrate_from_glance.compare import verify
            diffs = verify(args.source_db, engine, options, data=args.data)
            for line in diffs:
                print(line)
            print("%d differences." % len(diffs))
            return 1 if diffs else 0
        report = run.migrate(args.source_db, engine, options)
    except (run.MigrationError, Fatal, SourceError) as exc:
        print("glare migrate-from-glance: %s" % exc, file=sys.stderr)
        return 2
    print(report.render())
    return 0 if report.ok else 1
