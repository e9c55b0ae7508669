"""Bookkeeping of ``bench/load.py``: every acknowledged change, checked
against the server afterwards; and the stalled connections held open
during the run.

A change is *acknowledged* when the server answered it with its success
status (create 201, PATCH 200, upload 204/200, DELETE 204).  The ledger
keeps, per object (an image of the Image API or a ``files`` artifact), the
last acknowledged value of every property a client set, the md5 of the
last acknowledged upload, and whether a DELETE was acknowledged.  Each
property is written by one client only (its own objects, or its own key on
a shared image), and a client waits for each answer before its next
request, so the last acknowledged value is the value the server must hold.
A change that got no answer (a timeout, a reset connection) is an error of
the run and makes the object *uncertain*: it is left out of the check
rather than reported as lost.

``verify`` reads every object back (GET, and the data for those with an
acknowledged upload) and returns the lost writes: a created object that is
gone, a property whose value differs, data whose md5 differs, a deleted
object that is still there.
"""

import contextlib
import hashlib
import select
import socket
import threading
import time
import urllib.parse

from procs import Background


class Ledger:
    """Acknowledged changes by object id (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.objects = {}          # id -> record (see ``created``)
        self.acks = {"create": 0, "patch": 0, "upload": 0, "delete": 0}

    def created(self, kind, obj_id, props=None):
        with self._lock:
            self.objects[obj_id] = {"kind": kind, "props": dict(props or {}),
                                    "md5": None, "deleted": False,
                                    "uncertain": False}
            self.acks["create"] += 1

    def patched(self, obj_id, key, value):
        with self._lock:
            self.objects[obj_id]["props"][key] = value
            self.acks["patch"] += 1

    def uploaded(self, obj_id, md5):
        with self._lock:
            self.objects[obj_id]["md5"] = md5
            self.acks["upload"] += 1

    def deleted(self, obj_id):
        with self._lock:
            self.objects[obj_id]["deleted"] = True
            self.acks["delete"] += 1

    def uncertain(self, obj_id):
        with self._lock:
            if obj_id in self.objects:
                self.objects[obj_id]["uncertain"] = True

    def md5(self, obj_id):
        with self._lock:
            return self.objects[obj_id]["md5"]


PATHS = {"image": ("/v2/images/%s", "/v2/images/%s/file"),
         "files": ("/artifacts/files/%s", "/artifacts/files/%s/file")}


def check_one(session, base, obj_id, rec, timeout=60):
    """The lost writes of one object: a list of strings (empty: none)."""
    meta_path, data_path = PATHS[rec["kind"]]
    lost = []
    resp = session.get(base + meta_path % obj_id, timeout=timeout)
    if rec["deleted"]:
        if resp.status_code != 404:
            lost.append("%s %s: DELETE acknowledged, GET answers %d"
                        % (rec["kind"], obj_id, resp.status_code))
        return lost
    if resp.status_code != 200:
        return ["%s %s: created, GET answers %d"
                % (rec["kind"], obj_id, resp.status_code)]
    body = resp.json()      # both faces show properties at the top
    for key, value in sorted(rec["props"].items()):
        if body.get(key) != value:
            lost.append("%s %s: %s acknowledged %r, server has %r"
                        % (rec["kind"], obj_id, key, value, body.get(key)))
    if rec["md5"] is not None:
        data = session.get(base + data_path % obj_id, timeout=timeout)
        got = hashlib.md5(data.content).hexdigest() \
            if data.status_code == 200 else "HTTP %d" % data.status_code
        if got != rec["md5"]:
            lost.append("%s %s: upload md5 %s acknowledged, data is %s"
                        % (rec["kind"], obj_id, rec["md5"], got))
    return lost


def verify(ledger, session_factory, base, threads=8):
    """Check every certain object of ``ledger``; returns (checked, lost)."""
    import concurrent.futures
    items = [(i, r) for i, r in ledger.objects.items() if not r["uncertain"]]
    local = threading.local()

    def one(item):
        if not hasattr(local, "s"):
            local.s = session_factory()
        try:
            return check_one(local.s, base, *item)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return ["%s %s: check failed: %r" % (item[1]["kind"], item[0],
                                                 exc)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        lost = [line for found in pool.map(one, items) for line in found]
    return len(items), lost


# ------------------------------------------------------------- stalling

class Stalled(Background):
    """``count`` connections that stall for as long as the run lasts: half
    send half a request head and then nothing; the others send a whole
    head with ``Content-Length`` and then the body one byte a second.  A
    connection the server drops (its header or body timeout) is opened
    again at once, so ``count`` stalled clients are there the whole time;
    ``reopened`` counts how often."""

    thread_name = "stalled"

    def __init__(self, url, count, headers, image_ids):
        super().__init__()
        parts = urllib.parse.urlsplit(url)
        self.addr = (parts.hostname, parts.port)
        self.count = count
        self.auth = "".join("%s: %s\r\n" % kv for kv in headers.items())
        self.image_ids = image_ids or [None]
        self.socks = {}
        self.opened = 0
        self.reopened = 0
        self.failed_connects = 0

    def _head(self, slot):
        host = "Host: %s:%d\r\n" % self.addr
        if slot % 2 == 0:
            return ("GET /v2/images HTTP/1.1\r\n%sX-Auth-To" % host).encode()
        if slot % 4 == 1:
            return ("POST /v2/images HTTP/1.1\r\n%s%sContent-Type: "
                    "application/json\r\nContent-Length: 100000\r\n\r\n{"
                    % (host, self.auth)).encode()
        image = self.image_ids[slot % len(self.image_ids)]
        return ("PUT /v2/images/%s/file HTTP/1.1\r\n%s%sContent-Type: "
                "application/octet-stream\r\nContent-Length: 100000\r\n\r\nx"
                % (image, host, self.auth)).encode()

    def _open(self, slot):
        try:
            sock = socket.create_connection(self.addr, timeout=10)
            sock.sendall(self._head(slot))
            sock.setblocking(False)
        except OSError:
            self.failed_connects += 1
            return
        self.socks[slot] = sock
        self.opened += 1

    def _closed(self, sock):
        """True once the server closed (or answered) the connection."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                return True        # EOF, or an answer (408/400): gone
        except (OSError, ValueError):
            return True
        return False

    def _run(self):
        while not self._stop.wait(1.0):
            for slot in range(self.count):
                sock = self.socks.get(slot)
                if sock is not None and self._closed(sock):
                    with contextlib.suppress(OSError):
                        self.socks.pop(slot).close()
                    sock = None
                    self.reopened += 1
                if sock is None:
                    self._open(slot)
                elif slot % 2 == 1:
                    with contextlib.suppress(OSError):
                        sock.send(b"0")

    def start(self):
        for slot in range(self.count):
            self._open(slot)
        return super().start()

    def stop(self):
        super().stop()
        for sock in self.socks.values():
            with contextlib.suppress(OSError):
                sock.close()
        return {"stalled": self.count, "opened": self.opened,
                "reopened_after_server_drop": self.reopened,
                "failed_connects": self.failed_connects}


class Prober(Background):
    """GET ``path`` once a second during the run: the slowest answer and
    any that failed (what other users see while the load and the stalled
    clients run)."""

    join_seconds = 40

    def __init__(self, session, url, path="/healthcheck"):
        super().__init__()
        self.session, self.url, self.path = session, url, path
        self.worst = 0.0
        self.failures = []
        self.count = 0

    def _run(self):
        while not self._stop.wait(1.0):
            start = time.perf_counter()
            try:
                status = self.session.get(self.url + self.path,
                                          timeout=30).status_code
            except Exception as exc:  # noqa: BLE001
                status = repr(exc)
            self.worst = max(self.worst, time.perf_counter() - start)
            self.count += 1
            if status != 200:
                self.failures.append(status)

    def stop(self):
        super().stop()
        return {"path": self.path, "probes": self.count,
                "worst_ms": round(self.worst * 1000, 1),
                "failures": self.failures[:10]}
