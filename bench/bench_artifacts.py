"""Artifact core benchmark (a script, not a test): folders and big lists.

* folder upload: N small files (default 1,000 × 4 KiB) into one folder field
  through the engine, files/s;
* list latency with M artifacts (default 100,000) of one type in the
  database: first page (limit 25 and 1000), a filtered page, a page sorted
  by version, and ``version=latest``; p50/p99 over repeats.

Runs in-process against the engine (SQLite by default, or ``--db-url``
for PostgreSQL/MariaDB), so it measures the core and the database, not
HTTP.  Rows for the big list are inserted in batches straight through the
core's db layer (creating 100,000 artifacts one request at a time would
measure the create path instead, which bench/run.py already does).

    .venv/bin/python bench/bench_artifacts.py [--artifacts 100000]
        [--files 1000] [--db-url postgresql+psycopg2://postgres@127.0.0.1/x]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from artifacts import stores, types, versions  # noqa: E402
from artifacts.context import RequestContext  # noqa: E402
from artifacts.db import api as db  # noqa: E402
from artifacts.db import migrate  # noqa: E402
from artifacts.db.query import Filter, Scope  # noqa: E402
from artifacts.db.session import make_engine, transaction  # noqa: E402
from artifacts.engine import Engine, Limits  # noqa: E402
from artifacts.policy import Enforcer  # noqa: E402
from artifacts.types.artifact_policies import RULES as A_RULES  # noqa: E402
from artifacts.types.image_policies import RULES as I_RULES  # noqa: E402
from glare import config  # noqa: E402

CTX = RequestContext(project_id="bench", user_id="bench",
                     roles=("member", "reader"))


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values)
                                                               - 1))))]


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 99)


def bench_folder(engine, files, size):
    atype = types.get("files")
    art = engine.create(CTX, atype, {"name": "folder-%s" % uuid.uuid4().hex,
                                     "version": "1.0.0"})
    payload = os.urandom(size)
    start = time.perf_counter()
    for i in range(files):
        engine.upload_blob(CTX, atype, art["id"], "files", [payload],
                           path="dir%d/file-%05d.txt" % (i % 10, i))
    elapsed = time.perf_counter() - start
    print("folder upload: %d files of %d B in %.1f s -> %.0f files/s"
          % (files, size, elapsed, files / elapsed))


def populate(engine, count, batch=2000):
    atype = types.get("files")
    now = db.utcnow()
    made = 0
    while made < count:
        rows = []
        for i in range(made, min(count, made + batch)):
            version = versions.parse("%d.%d.0" % (i % 7, i % 13))
            art = {"id": str(uuid.uuid4()), "type_name": atype.name,
                   "name": "artifact-%d" % (i % 5000), "owner": "bench",
                   "visibility": "private", "status": "active",
                   "protected": False, "hidden": False, "version": version,
                   "version_sort": versions.sort_key(version),
                   "unique_key": None, "created_at": now, "updated_at": now,
                   "properties": {"description": "artifact %d" % i},
                   "tags": {"t%d" % (i % 50)}}
            rows.append(art)

        def run(conn, rows=rows):
            for art in rows:
                db.insert(conn, art)
        transaction(engine.db, run)
        made += len(rows)
    if engine.db.dialect.name == "sqlite":
        # A live server refreshes statistics every 500 writes; these bulk
        # batches are too few to trigger it, so do it once here.
        with engine.db.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    print("populated %d artifacts" % count)


def bench_lists(engine, repeats):
    atype = types.get("files")
    scope = Scope(project_id="bench")
    cases = [
        ("limit 25", dict(limit=25)),
        ("limit 1000", dict(limit=1000)),
        ("name filter", dict(limit=25, filters=[
            Filter("name", "eq", "artifact-42")])),
        ("tag filter", dict(limit=25, filters=[Filter("tag", "eq", "t7",
                                                      "tag")])),
        ("sort version desc", dict(limit=25, sort=[("version", "desc",
                                                    "string")])),
        ("version=latest", dict(limit=25, filters=[
            Filter("version", "latest", None, "latest")])),
    ]
    for label, kwargs in cases:
        try:
            p50, p99 = timed(lambda: engine.list(CTX, atype, scope, **kwargs),
                             repeats)
        except Exception as exc:  # noqa: BLE001 - report and go on
            print("list %-18s failed: %s" % (label, exc))
            continue
        print("list %-18s p50 %7.1f ms  p99 %7.1f ms" % (label, p50, p99))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", type=int, default=100000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db-url")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="glare-bench-")
    url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
    dbe = make_engine(url)
    migrate.upgrade(dbe)
    store = stores.create("filesystem", "file", {"datadir": tmp + "/data"})
    engine = Engine(dbe, store, Enforcer(config.load(), I_RULES + A_RULES),
                    Limits())
    print("database %s" % dbe.url.render_as_string(hide_password=True))
    bench_folder(engine, args.files, args.file_size)
    populate(engine, args.artifacts)
    bench_lists(engine, args.repeats)


if __name__ == "__main__":
    main()
