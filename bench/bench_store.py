#!/usr/bin/env python3
"""Throughput of the upload/download path per blob store driver: write_stream
into a store (md5 + sha512, as a Glance-compatible upload computes, and with
no hashing: the driver alone) and reading the object back.  A script, not a
test: run it by hand.

    .venv/bin/python bench/bench_store.py [--size-mib 1024] [--chunk-kib 64]
                                          [--dir /path/on/target/disk]
                                          [--drivers filesystem,database,s3]
                                          [--db-url URL] [--s3-endpoint URL]

Drivers: ``filesystem`` (with fsync; reads warm and cold), ``database``
(SQLite file in the temporary directory unless ``--db-url`` names another
database, e.g. ``postgresql+psycopg2://postgres@127.0.0.1:5432/bench``; it
is upgraded by Glare's migrations, so give it a database of its own, and
only the bench's own rows are removed afterwards) and ``s3`` (a moto S3 server started on 127.0.0.1
in a subprocess unless ``--s3-endpoint`` points at a running one; needs
boto3 and ``moto[server]``).  A driver that cannot run is reported and
skipped.

Reference figures are printed alongside -- hashing alone, single-threaded --
so a regression can be told apart from a slow machine; each figure is the
best and the median of ``--repeat`` runs because VM disks are noisy.  A
summary table (median MiB/s per driver) ends the output.
"""

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from artifacts.stores.filesystem import FilesystemStore  # noqa: E402
from artifacts.stores.streaming import write_stream  # noqa: E402

MiB = 1024 * 1024


def generated_stream(size, chunk_size):
    """``size`` bytes in ``chunk_size`` pieces, drawn from a few MiB of random
    data so that generation costs next to nothing."""
    pool = os.urandom(4 * MiB)
    pieces = [pool[i:i + chunk_size] for i in range(0, len(pool), chunk_size)]
    sent, i = 0, 0
    while sent < size:
        piece = pieces[i % len(pieces)]
        if sent + len(piece) > size:
            piece = piece[:size - sent]
        sent += len(piece)
        i += 1
        yield piece


def rate(nbytes, seconds):
    return nbytes / MiB / seconds if seconds else float("inf")


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def bench_hash_only(size, chunk_size, algorithm):
    def run():
        h = hashlib.new(algorithm)
        for chunk in generated_stream(size, chunk_size):
            h.update(chunk)
    return timed(run)[1]


class _NullWriter:
    def write(self, block):
        pass

    def commit(self):
        return "null://"

    def cancel(self):
        pass


class NullStore:
    """Discards everything: isolates the CPU side of write_stream
    (re-chunking + hashing) from the disk."""

    def writer(self, key):
        return _NullWriter()


def bench_write(store, key, size, chunk_size, algorithms):
    result, seconds = timed(lambda: write_stream(
        store, key, generated_stream(size, chunk_size), algorithms=algorithms))
    assert result.size == size
    return result, seconds


def bench_read(store, location, block_size):
    def run():
        total = 0
        with store.open(location) as reader:
            while True:
                block = reader.read(block_size)
                if not block:
                    return total
                total += len(block)
    return timed(run)


def drop_cache(location):
    """Evict the (already fsynced, hence clean) object from the page cache,
    so the next read comes from the disk; needs no privileges."""
    fd = os.open(location[len("file://"):], os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def report(label, size, times):
    times = sorted(times)
    median = rate(size, times[len(times) // 2])
    print("  %-48s best %7.1f  median %7.1f MiB/s"
          % (label, rate(size, times[0]), median))
    return median


def bench_driver(name, store, size, chunk, reps, summary, extra=None):
    """Upload (md5+sha512, then no hashing) and download figures of one
    store; ``extra(store, location)`` adds driver-specific read figures."""
    figures = summary.setdefault(name, {})
    keep = None  # one object is kept for the read figures
    for label, algos, column in (
            ("md5+sha512", ("md5", "sha512"), "upload md5+sha512"),
            ("no hashing", (), "upload no hashing")):
        times = []
        for i in reps:
            result, seconds = bench_write(
                store, "bench/%s/%d/%s" % (len(algos), i, uuid.uuid4().hex),
                size, chunk, algos)
            times.append(seconds)
            if keep is None:
                keep = result
            else:
                store.delete(result.location)
        figures[column] = report("write_stream %s -> %s" % (label, name),
                                 size, times)
    times = []
    for _ in reps:
        total, seconds = bench_read(store, keep.location, MiB)
        assert total == size
        times.append(seconds)
    figures["download"] = report("read 1024 KiB blocks <- %s" % name, size,
                                 times)
    if extra is not None:
        extra(store, keep.location)
    store.delete(keep.location)


def filesystem_reads(size, reps):
    def extra(store, location):
        times = []
        for _ in reps:
            total, seconds = bench_read(store, location, 64 * 1024)
            assert total == size
            times.append(seconds)
        report("read 64 KiB blocks (page cache)", size, times)
        times = []
        for _ in reps:
            drop_cache(location)
            times.append(bench_read(store, location, MiB)[1])
        report("read 1024 KiB blocks (cold, fadvise DONTNEED)", size, times)
    return extra


def run_filesystem(args, tmp, size, chunk, reps, summary):
    datadir = os.path.join(tmp, "filesystem")
    store = FilesystemStore("bench", {"datadir": datadir})
    print("filesystem: datadir %s (writes fsync)" % store.datadir)
    bench_driver("filesystem", store, size, chunk, reps, summary,
                 filesystem_reads(size, reps))


def run_database(args, tmp, size, chunk, reps, summary):
    from artifacts.db import migrate, session
    from artifacts.stores.database import DatabaseStore

    url = args.db_url or "sqlite:///%s" % os.path.join(tmp, "bench.sqlite")
    engine = session.make_engine(url)
    try:
        migrate.upgrade(engine)
        store = DatabaseStore("bench", {"engine": engine})
        print("database: %s, %d KiB chunk rows"
              % (store.describe()["url"], store.chunk_size // 1024))
        bench_driver("database (%s)" % engine.dialect.name, store, size,
                     chunk, reps, summary)
    finally:
        engine.dispose()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto():
    """A moto S3 server in its own process (its own GIL, like a real
    server) on a free port of 127.0.0.1; returns (endpoint, process)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return "http://127.0.0.1:%d" % port, proc
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("moto server did not start (is "
                                   "moto[server] installed?)")
            time.sleep(0.1)


def run_s3(args, tmp, size, chunk, reps, summary):
    from artifacts.stores.s3 import S3Store

    proc = None
    endpoint = args.s3_endpoint
    if endpoint is None:
        endpoint, proc = start_moto()
    try:
        bucket = args.s3_bucket or "glare-bench-%s" % uuid.uuid4().hex[:12]
        store = S3Store("bench", {
            "endpoint_url": endpoint, "bucket": bucket,
            "access_key": args.s3_access_key,
            "secret_key": args.s3_secret_key,
            "chunk_size": args.s3_chunk_mib * MiB,
            "large_object_size": args.s3_chunk_mib * MiB})
        if not args.s3_bucket:
            store.client.create_bucket(Bucket=bucket)
        print("s3: %s bucket %s, %d MiB parts%s"
              % (endpoint, bucket, args.s3_chunk_mib,
                 " (moto, started by the bench)" if proc else ""))
        bench_driver("s3", store, size, chunk, reps, summary)
        if not args.s3_bucket:
            store.client.delete_bucket(Bucket=bucket)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


DRIVERS = {"filesystem": run_filesystem, "database": run_database,
           "s3": run_s3}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-kib", type=int, default=64,
                        help="size of the incoming chunks (a WSGI read)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per figure (disks in VMs are noisy)")
    parser.add_argument("--dir", default=None,
                        help="parent of the temporary data directory")
    parser.add_argument("--drivers", default=",".join(DRIVERS),
                        help="comma-separated subset of: %s"
                        % ", ".join(DRIVERS))
    parser.add_argument("--db-url", default=None,
                        help="database of the database driver (default: a "
                        "SQLite file in the temporary directory)")
    parser.add_argument("--s3-endpoint", default=None,
                        help="S3 endpoint (default: start a moto server on "
                        "127.0.0.1)")
    parser.add_argument("--s3-bucket", default=None,
                        help="existing bucket (default: a new one, removed "
                        "afterwards)")
    parser.add_argument("--s3-access-key", default="bench")
    parser.add_argument("--s3-secret-key", default="bench")
    parser.add_argument("--s3-chunk-mib", type=int, default=64,
                        help="multipart part size (and single-PUT limit)")
    args = parser.parse_args(argv)
    drivers = [d.strip() for d in args.drivers.split(",") if d.strip()]
    unknown = sorted(set(drivers) - set(DRIVERS))
    if unknown:
        parser.error("unknown driver(s): %s" % ", ".join(unknown))
    size = args.size_mib * MiB
    chunk = args.chunk_kib * 1024
    reps = range(args.repeat)

    print("object %d MiB, incoming chunks %d KiB, %d CPUs, %d runs each"
          % (args.size_mib, args.chunk_kib, os.cpu_count() or 1, args.repeat))
    for algo in ("md5", "sha512"):
        report("reference: %s alone, hashlib" % algo, size,
               [bench_hash_only(size, chunk, algo) for _ in reps])

    def sequential():
        hashers = [hashlib.md5(), hashlib.sha512()]
        for piece in generated_stream(size, chunk):
            for h in hashers:
                h.update(piece)
    report("reference: md5+sha512 one thread, hashlib", size,
           [timed(sequential)[1] for _ in reps])
    report("write_stream md5+sha512 -> null store", size,
           [bench_write(NullStore(), "k", size, chunk, ("md5", "sha512"))[1]
            for _ in reps])

    summary = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for name in drivers:
            try:
                DRIVERS[name](args, tmp, size, chunk, reps, summary)
            except Exception as exc:  # noqa: BLE001 - report and go on
                print("  %s: skipped: %s: %s"
                      % (name, type(exc).__name__, exc))
    columns = ("upload md5+sha512", "upload no hashing", "download")
    print()
    print("median MiB/s  %-22s %18s %18s %10s" % (("driver",) + columns))
    for name, figures in summary.items():
        print("              %-22s %18s %18s %10s" % ((name,) + tuple(
            "%.1f" % figures[c] if c in figures else "-" for c in columns)))


if __name__ == "__main__":
    main()
