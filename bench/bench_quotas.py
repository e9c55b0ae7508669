#!/usr/bin/env python3
"""Cost of per-project quotas on an upload: the same data through
``Engine.upload`` (an image: md5 + sha512, the images type's format
inspection, filesystem store) with no quota configured and with a byte
quota that binds (so every reservation step runs), interleaved run by run.
A script, not a test: run it by hand.

    .venv/bin/python bench/bench_quotas.py [--size-mib 256] [--repeat 5]
                                           [--chunk-kib 64] [--db-url URL]

``--db-url`` names an empty database for Glare's migrations (default: an
SQLite file in a temporary directory); give it a database of its own.
Prints per mode the best and median seconds and MiB/s, the reservation
steps one upload made and the time spent in them (the quota's whole cost
on the critical path), and the relative overhead of the medians.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from artifacts import stores, types  # noqa: E402
from artifacts.context import RequestContext  # noqa: E402
from artifacts.db import migrate  # noqa: E402
from artifacts.db.session import make_engine  # noqa: E402
from artifacts.engine import Engine, Limits  # noqa: E402
from artifacts.policy import Enforcer  # noqa: E402
from artifacts.quotas import QuotaDefaults, Quotas  # noqa: E402
from artifacts.types.artifact_policies import RULES as ARTIFACT_RULES  # noqa
from artifacts.types.image_policies import RULES as IMAGE_RULES  # noqa: E402
from glare import config  # noqa: E402

MiB = 1024 * 1024


def stream(size, chunk):
    pool = os.urandom(4 * MiB)
    pieces = [pool[i:i + chunk] for i in range(0, len(pool), chunk)]
    sent, i = 0, 0
    while sent < size:
        piece = pieces[i % len(pieces)][:size - sent]
        sent += len(piece)
        i += 1
        yield piece


class Timed:
    """Wraps Quotas._reserve to count the steps and their time."""

    def __init__(self, quotas_):
        self.steps = 0
        self.seconds = 0.0
        real = quotas_._reserve

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.steps += 1
                self.seconds += time.perf_counter() - start
        quotas_._reserve = timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chunk-kib", type=int, default=64)
    parser.add_argument("--db-url")
    args = parser.parse_args()
    size = args.size_mib * MiB
    images = types.get("images")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or "sqlite:///%s/bench.sqlite" % tmp
        db = make_engine(url)
        migrate.upgrade(db)
        store = stores.create("filesystem", "fs",
                              {"datadir": os.path.join(tmp, "data")})
        conf = config.load(overrides={
            "oslo_policy.policy_file": "/nonexistent/policy.yaml"})
        enforcer = Enforcer(conf, IMAGE_RULES + ARTIFACT_RULES)
        engine = Engine(db, store, enforcer, Limits(max_blob_size=None))
        unlimited = Quotas(db)
        # A limit that binds but never refuses: every step runs.
        limited = Quotas(db, QuotaDefaults(per_type={"images": {
            "stored_bytes": 2 ** 62, "uploading_bytes": 2 ** 62}}))
        timer = Timed(limited)
        results = {"none": [], "quota": []}
        steps = {}
        ctx = RequestContext(project_id="bench-" + uuid.uuid4().hex[:8],
                             user_id="u", roles=("admin", "member"))
        for run in range(args.repeat):
            for mode, q in (("none", unlimited), ("quota", limited)):
                engine.quotas = q
                image = engine.create(ctx, images, {
                    "name": "bench", "properties": {
                        "disk_format": "raw", "container_format": "bare"}})
                before = (timer.steps, timer.seconds)
                start = time.perf_counter()
                engine.data.upload(ctx, images, image["id"], "image",
                                   stream(size, args.chunk_kib * 1024))
                results[mode].append(time.perf_counter() - start)
                steps[mode] = (timer.steps - before[0],
                               timer.seconds - before[1])
                engine.delete(ctx, images, image["id"])
        print("%d MiB through engine.data.upload (%s), %d runs, %d KiB chunks"
              % (args.size_mib, db.dialect.name, args.repeat,
                 args.chunk_kib))
        for mode, times in results.items():
            med = statistics.median(times)
            n, secs = steps[mode]
            print("  %-6s best %6.3fs  median %6.3fs  %7.1f MiB/s  "
                  "%2d reservation steps, %.1f ms in them"
                  % (mode, min(times), med, args.size_mib / med, n,
                     secs * 1000))
        none, quota = (statistics.median(results[m]) for m in results)
        print("  overhead of the median: %+.1f%%"
              % (100.0 * (quota - none) / none))
        db.dispose()


if __name__ == "__main__":
    main()
