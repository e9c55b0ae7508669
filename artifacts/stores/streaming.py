"""Stream an upload into a store: digests, size cap, progress, all-or-nothing.

Drivers only move bytes; everything an upload needs on top of that lives
here, once, for every driver:

* the key is checked with ``check_key``;
* digests (Glance's ``checksum`` md5 and ``os_hash_value`` sha512 by
  default) are computed while the data streams through, so the blob is read
  exactly once;
* the size cap is enforced as soon as the incoming bytes pass it, not after
  the whole body has been stored;
* ``on_chunk`` sees the running total (quotas, progress) and may abort;
* any failure -- including the client going away mid-body -- cancels the
  writer, so a failed upload leaves nothing in the store.

Input is re-chunked into ~1 MiB blocks: small WSGI reads would otherwise cost
one syscall and one hash call each, and big blocks let hashlib release the GIL
(it does so for buffers over 2 KiB).  Each algorithm then runs in its own
thread fed through a bounded queue, in parallel with the other algorithms and
with the write.  The queues give the pipeline some slack: a lock-step design
(wait for every hash of block k before writing block k+1, on a shared pool)
measured ~40% slower on a 2-CPU VM, because every stall of the disk or of a
hash thread stalled everything.  Blocks are shared, not copied, between the
threads, so at most ``QUEUE_DEPTH + 3`` blocks (~7 MiB) are alive per upload,
whatever the stream size.
"""

import hashlib
import queue
import threading
from dataclasses import dataclass, field

from artifacts import errors
from artifacts.stores import check_key, set_note

BLOCK_SIZE = 1024 * 1024
TOO_LARGE_MESSAGE = "The data is too large: it exceeds the size limit."
# Blocks a hash thread may lag behind the writer.
QUEUE_DEPTH = 4
_STOP = object()


@dataclass(frozen=True)
class WriteResult:
    """What a successful ``write_stream`` stored."""

    location: str
    size: int
    digests: dict = field(default_factory=dict)


def new_hashers(algorithms):
    """``{name: hash object}`` for hashlib algorithm names; ``Invalid`` for
    unknown names and for variable-length (shake) digests."""
    hashers = {}
    for name in algorithms:
        if not isinstance(name, str) or name.lower().startswith("shake"):
            raise errors.Invalid("Unsupported hash algorithm %r." % (name,))
        try:
            # Checksums identify data here, they are not a security control;
            # saying so keeps md5 usable on FIPS-enabled hosts.
            hashers[name] = hashlib.new(name, usedforsecurity=False)
        except (ValueError, TypeError):
            raise errors.Invalid(
                "Unsupported hash algorithm %r; available: %s"
                % (name, ", ".join(sorted(hashlib.algorithms_available))))
    return hashers


def blocks(chunks, block_size=BLOCK_SIZE, max_size=None,
           too_large_message=TOO_LARGE_MESSAGE):
    """Re-chunk an iterable of bytes-like objects into ``block_size`` blocks
    (the last may be shorter; empty chunks are skipped).

    Raises ``RequestTooLarge`` as soon as more than ``max_size`` bytes have
    arrived.  A yielded block is never modified afterwards, so it may be
    handed to another thread; ``bytes`` input is sliced without copying."""
    buf = bytearray()
    received = 0
    for chunk in chunks:
        if type(chunk) is not bytes:
            # Copy: the producer may reuse its buffer once we ask for more.
            # (memoryview also rejects str and int, which bytes() would not.)
            chunk = bytes(memoryview(chunk))
        n = len(chunk)
        if not n:
            continue
        received += n
        if max_size is not None and received > max_size:
            raise errors.RequestTooLarge(too_large_message)
        view = memoryview(chunk)
        pos = 0
        if buf:
            need = block_size - len(buf)
            if n < need:
                buf += chunk
                continue
            buf += view[:need]
            # Hand the full buffer over and start a fresh one instead of
            # copying it out.
            full, buf = buf, bytearray()
            yield full
            pos = need
        while n - pos >= block_size:
            yield view[pos:pos + block_size]
            pos += block_size
        if pos < n:
            buf += view[pos:]
    if buf:
        yield buf


class _HashThread:
    """One hash object fed from a bounded queue by its own thread.

    A thread per upload and algorithm (not a shared pool) keeps updates in
    order without any coordination, and a finished upload leaves no threads
    behind."""

    def __init__(self, name, hasher, depth=QUEUE_DEPTH):
        self.name = name
        self.hasher = hasher
        self.error = None
        self._skip = False
        self._stopped = False
        self._queue = queue.Queue(depth)
        # Daemon: an interpreter shutting down mid-upload must not hang here.
        self._thread = threading.Thread(
            target=self._run, name="blob-hash-%s" % name, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            block = self._queue.get()
            if block is _STOP:
                return
            if self.error is None and not self._skip:
                try:
                    self.hasher.update(block)
                except BaseException as exc:
                    self.error = exc

    def feed(self, block):
        if self.error is not None:
            raise self.error
        self._queue.put(block)

    def _stop(self):
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
        self._thread.join()

    def finish(self):
        """Wait for the queued blocks; the hex digest."""
        self._stop()
        if self.error is not None:
            raise self.error
        return self.hasher.hexdigest()

    def abandon(self):
        """Stop quickly, skipping queued blocks; no thread may still be
        reading our buffers once we return."""
        self._skip = True
        self._stop()


def write_stream(store, key, chunks, algorithms=("md5", "sha512"),
                 max_size=None, on_chunk=None, *,
                 too_large_message=TOO_LARGE_MESSAGE, expected_digests=None,
                 block_size=BLOCK_SIZE, note=None):
    """Store ``chunks`` (an iterable of bytes) under ``key``; all or nothing.

    ``algorithms``: hashlib names whose hex digests are returned.
    ``max_size``: byte cap; exceeding it raises ``RequestTooLarge`` with
    ``too_large_message`` and stores nothing.
    ``on_chunk(total)``: called once per block with the byte count so far,
    this block included, *before* the block is written, so a quota check can
    refuse bytes before they take space; whatever it raises aborts.
    ``expected_digests``: ``{algo: hexdigest}`` (algos among ``algorithms``)
    that must match before the data is committed, else ``Invalid``.

    Returns ``WriteResult(location, size, digests)``.  On any exception the
    writer is cancelled and the exception re-raised.
    """
    check_key(key)
    hashers = new_hashers(algorithms)
    expected = {}
    for name, value in (expected_digests or {}).items():
        if name not in hashers:
            raise errors.Invalid(
                "Cannot verify a %s digest: it is not among the computed "
                "algorithms (%s)." % (name, ", ".join(hashers)))
        expected[name] = str(value).lower()
    # note: the write record's ``note`` for a writer that notes details
    # (artifacts.recovery.Writes.noter).
    writer = set_note(store.writer(key), note)
    workers = []
    total = 0
    try:
        for block in blocks(chunks, block_size, max_size, too_large_message):
            first = total == 0
            total += len(block)
            if on_chunk is not None:
                on_chunk(total)
            if first:
                # Most objects are one block (templates, folder files):
                # hash it here rather than paying for threads.  Threads
                # start with the second block, when parallel hashing pays.
                for hasher in hashers.values():
                    hasher.update(block)
            else:
                if not workers:
                    workers = [_HashThread(name, hasher)
                               for name, hasher in hashers.items()]
                for worker in workers:
                    worker.feed(block)
            writer.write(block)
        if workers:
            digests = {worker.name: worker.finish() for worker in workers}
        else:
            digests = {name: hasher.hexdigest()
                       for name, hasher in hashers.items()}
        for name, value in expected.items():
            if digests[name] != value:
                raise errors.Invalid(
                    "The uploaded data's %s digest %s does not match the "
                    "expected %s." % (name, digests[name], value))
        location = writer.commit()
    except BaseException:
        for worker in workers:
            worker.abandon()
        writer.cancel()
        raise
    return WriteResult(location=location, size=total, digests=digests)
