"""Crash points for the interruption tests (kill -9 at a chosen place).

``GLARE_MIGRATE_FAULT=<point>:<n>`` makes the process SIGKILL itself the
n-th time it reaches ``point``: ``after-batch`` (a batch committed),
``in-batch`` (inside a batch's transaction, rows written, not committed),
``copied`` (--copy-data: a copy committed, the switch to it not made).
Unset (always, outside tests) it costs one dict lookup.
"""

import os
import signal

_SEEN = {}


def point(name):
    spec = os.environ.get("GLARE_MIGRATE_FAULT")
    if not spec:
        return
    where, _, count = spec.partition(":")
    if where != name:
        return
    _SEEN[name] = _SEEN.get(name, 0) + 1
    if _SEEN[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
