#!/usr/bin/env python3
"""Throughput of the upload/download path: write_stream into a
FilesystemStore (md5 + sha512, as a Glance-compatible upload computes) and
reading the object back, warm and cold.  A script, not a test: run it by
hand.

    .venv/bin/python bench/bench_store.py [--size-mib 1024] [--chunk-kib 64]
                                          [--dir /path/on/target/disk]

Reference figures are printed alongside -- hashing alone, single-threaded --
so a regression can be told apart from a slow machine; each figure is the
best and the median of ``--repeat`` runs because VM disks are noisy.
"""

import argparse
import hashlib
import os
import sys
import tempfile
import time

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
    print("  %-44s best %7.1f  median %7.1f MiB/s"
          % (label, rate(size, times[0]), rate(size, times[len(times) // 2])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-kib", type=int, default=64,
                        help="size of the incoming chunks (a WSGI read)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per figure (disks in VMs are noisy)")
    parser.add_argument("--dir", default=None,
                        help="parent of the temporary data directory")
    args = parser.parse_args(argv)
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

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        store = FilesystemStore("bench", {"datadir": tmp})
        print("  datadir %s" % store.datadir)
        keep = None  # one object is kept for the read figures
        for label, algos in (("md5+sha512", ("md5", "sha512")),
                             ("no hashing (disk only)", ())):
            times = []
            for i in reps:
                result, seconds = bench_write(
                    store, "bench/%s/%d" % (len(algos), i), size, chunk, algos)
                times.append(seconds)
                if keep is None:
                    keep = result
                else:
                    store.delete(result.location)
            report("write_stream %s -> filesystem, with fsync" % label, size,
                   times)
        for block_kib in (64, 1024):
            times = []
            for _ in reps:
                total, seconds = bench_read(store, keep.location,
                                            block_kib * 1024)
                assert total == size
                times.append(seconds)
            report("read %d KiB blocks (page cache)" % block_kib, size, times)
        times = []
        for _ in reps:
            drop_cache(keep.location)
            times.append(bench_read(store, keep.location, MiB)[1])
        report("read 1024 KiB blocks (cold, fadvise DONTNEED)", size, times)
        store.delete(keep.location)


if __name__ == "__main__":
    main()
