"""Finding a server's processes and sampling their RSS, from /proc (Linux).

The server is found by its listening port first (any server: Glare's
gunicorn, Glance's uwsgi or eventlet workers), then by command line (a
process whose cmdline has ``glare`` and ``serve``).  The *master* is the
oldest ancestor that still holds the listening socket / matches; the
*workers* are its children, re-read on every sample so a worker that gunicorn
replaces mid-run is picked up (and the dead one reported as gone).

``Background`` is the daemon-thread loop the samplers and probes of the
bench scripts run in.
"""

import os
import threading
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def cmdline(pid):
    raw = _read("/proc/%d/cmdline" % pid, "rb")
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() \
        if raw else ""


def ppid(pid):
    stat = _read("/proc/%d/stat" % pid)
    if not stat:
        return None
    # The command name may contain spaces and parentheses: split after it.
    return int(stat[stat.rindex(")") + 2:].split()[1])


def alive(pid):
    stat = _read("/proc/%d/stat" % pid)
    if not stat:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def cpu_seconds(pid):
    """User + system CPU time of ``pid`` (all its threads), None if gone."""
    stat = _read("/proc/%d/stat" % pid)
    if not stat:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    """Resident set size in KiB, None if the process is gone."""
    statm = _read("/proc/%d/statm" % pid)
    if not statm:
        return None
    return int(statm.split()[1]) * PAGE_KIB


def all_pids():
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def children(pid):
    """Live child pids of ``pid``."""
    found = set()
    task_dir = "/proc/%d/task" % pid
    try:
        tasks = os.listdir(task_dir)
    except FileNotFoundError:
        return []
    ok = False
    for tid in tasks:
        text = _read("%s/%s/children" % (task_dir, tid))
        if text is not None:
            ok = True
            found.update(int(p) for p in text.split())
    if not ok:  # kernel without CONFIG_PROC_CHILDREN
        found = {p for p in all_pids() if ppid(p) == pid}
    return sorted(p for p in found if alive(p))


def _listen_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read(table)
        if not text:
            continue
        for line in text.splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % inode)
    return inodes


def _holders(inodes):
    pids = set()
    for pid in all_pids():
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                if os.readlink("%s/%s" % (fd_dir, fd)) in inodes:
                    pids.add(pid)
                    break
            except OSError:
                continue
    return pids


def _topmost(pid, members):
    while True:
        parent = ppid(pid)
        if parent is None or parent not in members:
            return pid
        pid = parent


def master_by_port(port):
    """The master pid of whatever listens on 127.0.0.1/any ``port``."""
    holders = _holders(_listen_inodes(port))
    masters = {_topmost(p, holders) for p in holders}
    return masters.pop() if len(masters) == 1 else None


def glare_masters():
    """Masters of every ``glare ... serve`` process tree on the machine."""
    matching = {p for p in all_pids()
                if "glare" in cmdline(p) and " serve" in cmdline(p)}
    return sorted({_topmost(p, matching) for p in matching})


def discover(port, explicit_pid=None):
    """(master pid, how it was found) or (None, why not)."""
    if explicit_pid:
        if not alive(explicit_pid):
            return None, "--server-pid %d is not a live process" % explicit_pid
        return explicit_pid, "--server-pid"
    pid = master_by_port(port) if port else None
    if pid:
        return pid, "listening socket of port %d" % port
    masters = glare_masters()
    if len(masters) == 1:
        return masters[0], "the only 'glare serve' process tree"
    if masters:
        return None, ("%d 'glare serve' process trees (%s) and none found by "
                      "port; pass --server-pid"
                      % (len(masters), ", ".join(map(str, masters))))
    return None, "no process listening on port %s nor any 'glare serve'" % port


class Background:
    """``_run`` in a daemon thread between ``start()`` and ``stop()``;
    ``_run`` ends once ``self._stop`` is set.  ``stop`` waits for it at
    most ``join_seconds``."""

    thread_name = None
    join_seconds = 10

    def __init__(self):
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=self.thread_name)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(self.join_seconds)
        return self


class RssSampler(Background):
    """Samples the RSS of a master's workers every ``interval`` seconds in a
    background thread, between ``start()`` and ``stop()``."""

    thread_name = "rss-sampler"

    def __init__(self, master_pid, interval=0.05, max_seconds=3600):
        super().__init__()
        self.master = master_pid
        self.interval = interval
        self.max_seconds = max_seconds
        self.workers = {}   # pid -> {"first", "peak", "last", "samples"}
        self.master_peak = 0
        self.gone = []
        self.samples = 0

    def _sample(self):
        seen = set(children(self.master))
        for pid in seen:
            kib = rss_kib(pid)
            if kib is None:
                continue
            cpu = cpu_seconds(pid)
            w = self.workers.get(pid)
            if w is None:
                w = self.workers[pid] = {"first": kib, "peak": kib,
                                         "last": kib, "samples": 0,
                                         "cpu_first": cpu, "cpu_last": cpu}
            if cpu is not None:
                w["cpu_last"] = cpu
            w["peak"] = max(w["peak"], kib)
            w["last"] = kib
            w["samples"] += 1
        for pid in self.workers:
            if pid not in seen and pid not in self.gone:
                self.gone.append(pid)
        self.master_peak = max(self.master_peak, rss_kib(self.master) or 0)
        self.samples += 1

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            self._sample()
            self._stop.wait(max(0.0, self.interval
                                - (time.monotonic() - started)))

    def start(self):
        self._sample()
        return super().start()

    def stop(self):
        super().stop()
        self._sample()
        return self

    def summary(self):
        mib = 1024.0
        return {
            "master_pid": self.master,
            "interval_ms": int(self.interval * 1000),
            "samples": self.samples,
            "master_peak_mib": round(self.master_peak / mib, 1),
            "workers": {
                str(pid): {"start_mib": round(w["first"] / mib, 1),
                           "peak_mib": round(w["peak"] / mib, 1),
                           "end_mib": round(w["last"] / mib, 1),
                           "growth_mib": round((w["peak"] - w["first"]) / mib,
                                               1),
                           "samples": w["samples"],
                           "cpu_s": _cpu_delta(w)}
                for pid, w in sorted(self.workers.items())},
            "workers_gone": list(self.gone),
            # CPU time the workers used between start() and stop(): what
            # the work cost the server, whatever else the machine ran.
            "workers_cpu_s": round(sum(_cpu_delta(w) or 0.0
                                       for w in self.workers.values()), 2),
        }


def _cpu_delta(w):
    if w.get("cpu_first") is None or w.get("cpu_last") is None:
        return None
    return round(w["cpu_last"] - w["cpu_first"], 2)
