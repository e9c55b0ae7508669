#!/usr/bin/env python3
"""Benchmark ``glare migrate-from-glance`` on a large Glance database.

A script, not a test::

    PYTHONPATH=. .venv/bin/python bench/migrate_bench.py --target sqlite
    PYTHONPATH=. .venv/bin/python bench/migrate_bench.py --target postgresql

1. a Glance database made by real Glance 33 ``glance-manage db sync``
   (``--source`` sqlite, postgresql or mysql; the Glance venv of
   ``make glance-venv``), filled with SQL: ``--images`` images (default
   100,000), each with 10 properties, 2 tags, 1 member and 1 file location
   (an empty file under a Glance image directory);
2. a fresh Glare database (``--target``), ``glare db upgrade``;
3. ``migrate()`` timed (the first run), then again with nothing changed
   (the re-run), then ``--since`` after changing 100 images.  Each run's
   wall time and the CPU time of the tool's process (all its threads;
   SQLite works inside it, a PostgreSQL server does not) are printed: on a
   shared machine the wall time is mostly waiting for a core.

Prints one line per figure; ``--json FILE`` writes them too.  The
databases made are dropped at the end.
"""

import argparse
import datetime
import json
import os
import pathlib
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

from migrate_from_glance import run  # noqa: E402
from tests.migrate_from_glance.conftest import (  # noqa: E402
    glance_db, glare_engine)
from tests.conftest import database_url  # noqa: E402


def fill(url, datadir, count, chunk=5000):
    """``count`` images with their children, inserted in bulk."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=("images", "image_properties", "image_tags",
                               "image_members", "image_locations"))
    t = meta.tables
    t0 = datetime.datetime(2024, 1, 1)
    started = time.monotonic()
    for start in range(0, count, chunk):
        images, props, tags, members, locs = [], [], [], [], []
        for n in range(start, min(start + chunk, count)):
            image_id = str(uuid.UUID(int=n + 1))
            when = t0 + datetime.timedelta(seconds=n)
            common = dict(image_id=image_id, created_at=when,
                          updated_at=when, deleted_at=None, deleted=False)
            images.append(dict(
                id=image_id, name="image-%d" % n, size=0, status="active",
                created_at=when, updated_at=when, deleted_at=None,
                deleted=False, disk_format="qcow2", container_format="bare",
                checksum="d41d8cd98f00b204e9800998ecf8427e",
                owner="project-%d" % (n % 50), min_disk=1, min_ram=512,
                protected=False, virtual_size=0, visibility="shared",
                os_hidden=False, os_hash_algo="sha512",
                os_hash_value="cf83e1357eefb8bdf1542850d66d8007d620e4050b5715"
                              "dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877e"
                              "ec2f63b931bd47417a81a538327af927da3e"))
            props.extend(dict(common, name="prop_%d" % i,
                              value="value %d of image %d" % (i, n))
                         for i in range(10))
            tags.extend(dict(common, value=v) for v in ("tag-a", "tag-b"))
            members.append(dict(common, member="project-x", status="accepted",
                                can_share=False))
            path = os.path.join(datadir, image_id)
            open(path, "wb").close()
            locs.append(dict(common, value="file://" + path, meta_data="{}",
                             status="active"))
        with engine.begin() as conn:
            conn.execute(t["images"].insert(), images)
            conn.execute(t["image_properties"].insert(), props)
            conn.execute(t["image_tags"].insert(), tags)
            conn.execute(t["image_members"].insert(), members)
            conn.execute(t["image_locations"].insert(), locs)
    engine.dispose()
    return time.monotonic() - started


def touch(url, count):
    """Change ``count`` images the way Glance's API would (a property edit
    bumps the property's and the image's updated_at)."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=("images", "image_properties"))
    images, props = meta.tables["images"], meta.tables["image_properties"]
    later = datetime.datetime(2030, 1, 1)
    ids = [str(uuid.UUID(int=n * 97 + 1)) for n in range(count)]
    with engine.begin() as conn:
        for image_id in ids:
            conn.execute(props.update().where(
                props.c.image_id == image_id, props.c.name == "prop_0")
                .values(value="edited", updated_at=later))
            conn.execute(images.update().where(images.c.id == image_id)
                         .values(updated_at=later))
    engine.dispose()
    return later


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100000)
    parser.add_argument("--source", default="sqlite",
                        choices=("sqlite", "postgresql", "mysql"))
    parser.add_argument("--target", default="sqlite",
                        choices=("sqlite", "postgresql", "mysql"))
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json")
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    datadir = tmp / "glance-images"
    datadir.mkdir()
    figures = {"images": args.images, "source": args.source,
               "target": args.target, "batch": args.batch}

    def say(key, value, unit="s"):
        figures[key] = round(value, 2)
        print("%-28s %10.2f %s" % (key, value, unit), flush=True)

    print("load average before: %.1f %.1f %.1f" % os.getloadavg())
    with glance_db(args.source, tmp) as src, \
            database_url(args.target, tmp) as dst:
        say("fill_source", fill(src, datadir, args.images))
        engine = glare_engine(tmp, dst, glance_datadir=datadir)
        options = run.Options(batch=args.batch, show_progress=False)
        for label in ("first_run", "rerun_unchanged"):
            cpu = time.process_time()
            report = run.migrate(src, engine, options)
            say(label, report.seconds)
            say(label + "_cpu", time.process_time() - cpu, "s CPU (tool)")
            assert report.ok, report.render()
        say("first_run_images_per_s", args.images / figures["first_run"],
            "images/s")
        since = touch(src, 100)
        report = run.migrate(src, engine, run.Options(
            batch=args.batch, since=since, show_progress=False))
        say("since_100_changed", report.seconds)
        assert report.written == 100, report.render()
        report = run.migrate(src, engine, options)
        say("rerun_after_since", report.seconds)
        engine.db.dispose()
    print("load average after: %.1f %.1f %.1f" % os.getloadavg())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
