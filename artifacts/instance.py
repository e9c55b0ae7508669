"""Who does the work: a per-process instance id that can be proven dead.

Every upload claim, recorded store write and running data job names the
process working on it (``current()``).  When that process dies (kill -9,
OOM, a crashed host), its work must be released so that it can start
again, and its partial data removed.  Two ways to know it died:

* **Proof** (``is_dead``): on the same host -- same kernel boot and pid
  namespace, so pids mean the same thing -- a process whose pid is gone,
  is a zombie, or belongs to a process started at another time (the pid
  was reused) is dead.  A restarting server releases such work at once.
* **Lease**: work of another host (or of a host that cannot tell) is dead
  once it stopped heartbeating for ``[glare] stale_upload_seconds``.

The id is ``<hostname>/<host tag>/<pid>/<start time>``: the host tag is a
hash of the kernel's boot id and the pid namespace (containers on one
kernel that cannot see each other's pids get different tags); the start
time is the process's start in clock ticks since boot (``/proc/<pid>/stat``
field 22).  Without ``/proc`` (not Linux) the tag is ``-`` and nothing is
ever proven dead: only leases apply.  At most 64 characters.
"""

import hashlib
import os
import socket

_PROC = "/proc"
_UNKNOWN = "-"
_cache = {}


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace").strip()
    except OSError:
        return None


def host_tag():
    """A hash of the boot id and pid namespace; ``-`` when unknown."""
    boot = _read(os.path.join(_PROC, "sys/kernel/random/boot_id"))
    try:
        namespace = os.readlink(os.path.join(_PROC, "self/ns/pid"))
    except OSError:
        namespace = None
    if not boot or not namespace:
        return _UNKNOWN
    return hashlib.sha256(("%s\x00%s" % (boot, namespace)).encode(
        "ascii")).hexdigest()[:16]


def _stat(pid):
    """(state, start time) of a process from /proc, or None if it has no
    entry there (no such process)."""
    text = _read(os.path.join(_PROC, str(pid), "stat"))
    if not text:
        return None
    # The command name (field 2) may hold spaces and parentheses: the
    # fields after it start after the last ')'.
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]


def current():
    """This process's instance id (computed once per pid, so a forked
    worker gets its own)."""
    pid = os.getpid()
    found = _cache.get(pid)
    if found is None:
        tag = host_tag()
        stat = _stat(pid) if tag != _UNKNOWN else None
        start = stat[1] if stat else _UNKNOWN
        host = "".join(c for c in socket.gethostname()
                       if c.isalnum() or c in ".-")[:20] or "host"
        found = "%s/%s/%d/%s" % (host, tag, pid, start)
        _cache.clear()
        _cache[pid] = found
    return found


def parse(holder):
    """(host tag, pid, start time) of an instance id, or None."""
    if not isinstance(holder, str):
        return None
    parts = holder.rsplit("/", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


def is_dead(holder):
    """True only when ``holder`` is proven dead: an instance of this host
    whose process is gone.  Another host's instance, or one that cannot be
    checked, is not (its lease decides)."""
    parsed = parse(holder)
    if parsed is None:
        return False
    tag, pid, start = parsed
    if tag == _UNKNOWN or tag != host_tag() or start == _UNKNOWN:
        return False
    if pid == os.getpid():
        return holder != current()
    stat = _stat(pid)
    if stat is None:
        # No /proc entry.  With /proc mounted hidepid, another user's
        # process is hidden but alive: ask the kernel.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    state, started = stat
    return state in ("Z", "X", "x") or started != start


def dead(holders):
    """The subset of ``holders`` proven dead (see ``is_dead``)."""
    return {h for h in holders if h and is_dead(h)}
