#!/usr/bin/env python3
"""Load test: many clients doing mixed work while others stall.

A script, not a test (``tests/reliability/test_load_smoke.py`` runs a small
one).  It starts its own Glare on a fresh database of each ``--db`` kind
(as ``bench/run.py --start`` does: gunicorn, 2 workers, loopback only), or
uses ``--url``::

    .venv/bin/python bench/load.py --db sqlite,postgresql,mysql
    .venv/bin/python bench/load.py --db sqlite --clients 8 --duration 5

For ``--duration`` seconds, ``--clients`` threads (one keep-alive session
each, one project) run a random mix of operations:

  Image API   create, patch (a property of the client's own image), patch
              shared (the client's own property of one of 16 images every
              client patches at once: concurrent PATCHes of different
              properties of one image), upload (4 KiB - 1 MiB), download
              (md5 compared with the acknowledged upload), show, list,
              delete, and conflict: a second upload into an active image,
              which must be 409 (the one deliberate conflict; any other
              status is an error)
  /artifacts  create, patch, upload, download, delete of ``files``
              artifacts

while ``--stalled`` connections stall (half a request head; or a head with
``Content-Length`` and a body sent one byte a second), reopened whenever
the server drops them, and ``/healthcheck`` is probed once a second.

Checks, per database:

  errors      a status other than the operation's expected one, an
              exception (timeout, reset), or downloaded data whose md5 is
              not the acknowledged upload's: must be 0
  lost writes every acknowledged create, patch value, upload md5 and
              delete read back afterwards (``load_ledger.verify``): 0
  memory      RSS of the master and every worker sampled every 0.5 s: each
              one's peak <= --rss-bound-mib (200) and each worker's growth
              after the first quarter of the run <= --rss-growth-mib (64)
  server      alive at the end; its log free of tracebacks and errors

and p50/p99 latency per operation.  Exit status 1 if a check fails.
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import requests  # noqa: E402

import load_ledger  # noqa: E402
import procs  # noqa: E402
import run as bench_run  # noqa: E402

PATCH_V21 = bench_run.PATCH_V21
JSON_PATCH = "application/json-patch+json"
OCTETS = {"Content-Type": "application/octet-stream"}
SIZES = (4096, 65536, 262144, 1 << 20)
SHARED_IMAGES = 16
OWN_LIMIT = 6         # objects a client keeps before it deletes one

# (operation, weight); expected statuses per operation.
# Each client runs them once in this order first (so that even a short
# run does every kind), then at random by weight.
MIX = (("create", 10), ("patch", 14), ("patch_shared", 12), ("upload", 10),
       ("download", 10), ("show", 6), ("list", 8), ("conflict", 2),
       ("delete", 8), ("art_create", 4), ("art_patch", 5),
       ("art_upload", 4), ("art_download", 4), ("art_delete", 3))
EXPECTED = {"create": 201, "patch": 200, "patch_shared": 200, "upload": 204,
            "download": 200, "show": 200, "list": 200, "delete": 204,
            "conflict": 409, "art_create": 201, "art_patch": 200,
            "art_upload": 200, "art_download": 200, "art_delete": 204}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {op: [] for op in EXPECTED}
        self.errors = []
        self.statuses = {}

    def record(self, op, seconds, status, error=None):
        with self.lock:
            self.latency[op].append(seconds)
            key = "%s %s" % (op, status)
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if error:
                self.errors.append(error)

    def summary(self):
        out = {}
        for op, values in self.latency.items():
            out[op] = {"count": len(values),
                       "p50_ms": bench_run.ms(bench_run.percentile(values,
                                                                   50)),
                       "p99_ms": bench_run.ms(bench_run.percentile(values,
                                                                   99))}
        return out


class LoadClient:
    """One client thread's state: its session and its own objects."""

    def __init__(self, n, base, headers, ledger, stats, shared, timeout):
        self.n = n
        self.base = base
        self.ledger, self.stats, self.shared = ledger, stats, shared
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.timeout = timeout
        self.images = {}      # id -> "queued" | "active"
        self.arts = {}        # id -> "drafted" | "uploaded"
        self.seq = 0
        self.rand = random.Random(n)

    def call(self, op, method, path, obj_id=None, **kw):
        """One request; returns the response when its status is the
        expected one, else records an error and returns None."""
        kw.setdefault("timeout", self.timeout)
        start = time.perf_counter()
        try:
            resp = self.session.request(method, self.base + path, **kw)
            status, text = resp.status_code, resp.text[:200]
        except requests.RequestException as exc:
            resp, status, text = None, type(exc).__name__, str(exc)[:200]
        seconds = time.perf_counter() - start
        ok = status == EXPECTED[op]
        self.stats.record(op, seconds, status, None if ok else
                          "%s %s %s -> %s %s" % (op, method, path, status,
                                                 text))
        if not ok and obj_id and op not in ("download", "art_download",
                                            "show", "list"):
            self.ledger.uncertain(obj_id)
        return resp if ok else None

    def value(self):
        self.seq += 1
        return "c%d-%d" % (self.n, self.seq)

    def pick(self, objects, state=None):
        ids = [i for i, s in objects.items() if state is None or s == state]
        return self.rand.choice(ids) if ids else None

    # ------------------------------------------------------- Image API
    def create(self):
        if len(self.images) >= OWN_LIMIT:
            return self.delete()
        props = {"load_owner": "c%d" % self.n}
        resp = self.call("create", "POST", "/v2/images", json=dict(
            name="load-%d-%d" % (self.n, self.seq), disk_format="raw",
            container_format="bare", **props))
        if resp is not None:
            image_id = resp.json()["id"]
            self.images[image_id] = "queued"
            self.ledger.created("image", image_id, props)

    def _patch_image(self, op, image_id, key):
        value = self.value()
        resp = self.call(op, "PATCH", "/v2/images/%s" % image_id, image_id,
                         json=[{"op": "add", "path": "/" + key,
                                "value": value}],
                         headers={"Content-Type": PATCH_V21})
        if resp is not None:
            self.ledger.patched(image_id, key, value)

    def patch(self):
        image_id = self.pick(self.images)
        if image_id is None:
            return self.create()
        self._patch_image("patch", image_id, "load_value")

    def patch_shared(self):
        self._patch_image("patch_shared", self.rand.choice(self.shared),
                          "load_c%d" % self.n)

    def upload(self):
        image_id = self.pick(self.images, "queued")
        if image_id is None:
            return self.create()
        data = os.urandom(self.rand.choice(SIZES))
        resp = self.call("upload", "PUT", "/v2/images/%s/file" % image_id,
                         image_id, data=data, headers=OCTETS)
        if resp is not None:
            self.images[image_id] = "active"
            self.ledger.uploaded(image_id, hashlib.md5(
                data).hexdigest())

    def _download(self, op, path, obj_id):
        resp = self.call(op, "GET", path)
        if resp is None:
            return
        got = hashlib.md5(resp.content).hexdigest()
        want = self.ledger.md5(obj_id)
        if got != want:
            self.stats.record(op, 0.0, "corrupt", "%s %s: md5 %s, "
                              "acknowledged %s" % (op, path, got, want))

    def download(self):
        image_id = self.pick(self.images, "active")
        if image_id is None:
            return self.upload()
        self._download("download", "/v2/images/%s/file" % image_id,
                       image_id)

    def show(self):
        image_id = self.pick(self.images) or self.rand.choice(self.shared)
        self.call("show", "GET", "/v2/images/%s" % image_id)

    def list(self):
        self.call("list", "GET", "/v2/images?limit=25")

    def delete(self):
        image_id = self.pick(self.images)
        if image_id is None:
            return self.create()
        resp = self.call("delete", "DELETE", "/v2/images/%s" % image_id,
                         image_id)
        self.images.pop(image_id)
        if resp is not None:
            self.ledger.deleted(image_id)

    def conflict(self):
        image_id = self.pick(self.images, "active")
        if image_id is None:
            return self.upload()
        self.call("conflict", "PUT", "/v2/images/%s/file" % image_id,
                  image_id, data=b"never stored", headers=OCTETS)

    # ------------------------------------------------------- /artifacts
    def art_create(self):
        if len(self.arts) >= OWN_LIMIT:
            return self.art_delete()
        resp = self.call("art_create", "POST", "/artifacts/files", json={
            "name": "load-%d-%s" % (self.n, uuid.uuid4().hex[:8])})
        if resp is not None:
            art_id = resp.json()["id"]
            self.arts[art_id] = "drafted"
            self.ledger.created("files", art_id)

    def art_patch(self):
        art_id = self.pick(self.arts)
        if art_id is None:
            return self.art_create()
        value = self.value()
        resp = self.call("art_patch", "PATCH", "/artifacts/files/%s" % art_id,
                         art_id, json=[{"op": "add", "path": "/description",
                                        "value": value}],
                         headers={"Content-Type": JSON_PATCH})
        if resp is not None:
            self.ledger.patched(art_id, "description", value)

    def art_upload(self):
        art_id = self.pick(self.arts, "drafted")
        if art_id is None:
            return self.art_create()
        data = os.urandom(self.rand.choice(SIZES[:3]))
        resp = self.call("art_upload", "PUT",
                         "/artifacts/files/%s/file" % art_id, art_id,
                         data=data, headers=OCTETS)
        if resp is not None:
            self.arts[art_id] = "uploaded"
            self.ledger.uploaded(art_id, hashlib.md5(
                data).hexdigest())

    def art_download(self):
        art_id = self.pick(self.arts, "uploaded")
        if art_id is None:
            return self.art_upload()
        self._download("art_download", "/artifacts/files/%s/file" % art_id,
                       art_id)

    def art_delete(self):
        art_id = self.pick(self.arts)
        if art_id is None:
            return self.art_create()
        resp = self.call("art_delete", "DELETE",
                         "/artifacts/files/%s" % art_id, art_id)
        self.arts.pop(art_id)
        if resp is not None:
            self.ledger.deleted(art_id)

    def loop(self, deadline):
        ops = [op for op, _ in MIX]
        weights = [w for _, w in MIX]
        first = list(ops)
        while time.monotonic() < deadline:
            op = first.pop(0) if first else self.rand.choices(ops,
                                                              weights)[0]
            getattr(self, op)()
        self.session.close()


def memory_check(sampler, args):
    """Peak RSS per worker and its growth after the warm-up quarter."""
    summary = sampler.summary()
    workers = summary["workers"]
    warm = sampler.warm or {}
    out = {"bound_peak_mib": args.rss_bound_mib,
           "bound_growth_mib": args.rss_growth_mib,
           "master_peak_mib": summary["master_peak_mib"],
           "workers": {}, "workers_gone": summary["workers_gone"]}
    bad = []
    for pid, w in workers.items():
        base = warm.get(int(pid), w["start_mib"] * 1024) / 1024.0
        growth = round(w["end_mib"] - base, 1)
        out["workers"][pid] = {"start_mib": w["start_mib"],
                               "after_warmup_mib": round(base, 1),
                               "peak_mib": w["peak_mib"],
                               "end_mib": w["end_mib"],
                               "growth_after_warmup_mib": growth}
        if w["peak_mib"] > args.rss_bound_mib or \
                growth > args.rss_growth_mib:
            bad.append(pid)
    if summary["master_peak_mib"] > args.rss_bound_mib:
        bad.append("master %s" % summary["master_pid"])
    out["ok"] = bool(workers) and not bad and not summary["workers_gone"]
    out["over_bound"] = bad
    return out


def run_load(url, master_pid, args, log=None, db=None, ledger=None):
    """Drive the load against ``url``; returns the summary (``ok``).
    ``ledger`` (a ``load_ledger.Ledger``) receives the acknowledged
    changes, for a caller that checks the bookkeeping itself."""
    headers = bench_run.identity_headers()
    headers["X-Roles"] = "member,reader"
    ledger = ledger if ledger is not None else load_ledger.Ledger()
    stats = Stats()

    def session():
        s = requests.Session()
        s.headers.update(headers)
        return s
    setup = session()
    shared = []
    for i in range(SHARED_IMAGES):
        r = setup.post(url + "/v2/images", json={
            "name": "load-shared-%d" % i, "disk_format": "raw",
            "container_format": "bare"}, timeout=60)
        r.raise_for_status()
        shared.append(r.json()["id"])
        ledger.created("image", shared[-1])
    stall_images = [setup.post(url + "/v2/images", json={
        "name": "load-stall-%d" % i, "disk_format": "raw",
        "container_format": "bare"}, timeout=60).json()["id"]
        for i in range(4)]
    sampler = procs.RssSampler(master_pid, interval=0.5) \
        if master_pid else None
    if sampler:
        sampler.warm = None      # RSS per worker after warm-up, set below
        sampler.start()
    stalled = load_ledger.Stalled(url, args.stalled, headers,
                                  stall_images).start()
    prober = load_ledger.Prober(session(), url).start()
    clients = [LoadClient(n, url, headers, ledger, stats, shared,
                          args.timeout) for n in range(args.clients)]
    start = time.monotonic()
    deadline = start + args.duration
    threads = [threading.Thread(target=c.loop, args=(deadline,), daemon=True)
               for c in clients]
    for t in threads:
        t.start()
    if sampler:
        time.sleep(args.duration / 4.0)
        sampler.warm = {pid: w["last"] for pid, w in sampler.workers.items()}
    for t in threads:
        t.join(args.duration + 3 * args.timeout)
    elapsed = time.monotonic() - start
    probe = prober.stop()
    stall = stalled.stop()
    if sampler:
        sampler.stop()
    checked, lost = load_ledger.verify(ledger, session, url)
    ops = stats.summary()
    total = sum(o["count"] for o in ops.values())
    out = {"database": db, "url": url, "clients": args.clients,
           "duration_s": args.duration, "elapsed_s": round(elapsed, 1),
           "operations": total, "ops_per_s": round(total / elapsed, 1),
           "latency": ops, "statuses": stats.statuses,
           "errors": len(stats.errors), "error_sample": stats.errors[:20],
           "acknowledged": ledger.acks, "objects_checked": checked,
           "lost_writes": len(lost), "lost_sample": lost[:20],
           "stalled": stall, "healthcheck": probe}
    if sampler:
        out["memory"] = memory_check(sampler, args)
    if log:
        scan = bench_run.scan_log(log)
        out["server_log"] = {k: scan.get(k) for k in
                             ("matches", "sample", "first_traceback")}
    out["failed"] = failed(out)
    out["ok"] = not out["failed"]
    return out


def failed(out):
    bad = []
    if out["errors"]:
        bad.append("errors")
    if out["lost_writes"]:
        bad.append("lost writes")
    if not all(out["acknowledged"].values()):
        bad.append("bookkeeping (an operation kind was never acknowledged)")
    if "memory" in out and not out["memory"]["ok"]:
        bad.append("memory")
    if out["healthcheck"]["failures"]:
        bad.append("healthcheck")
    if (out.get("server_log") or {}).get("matches"):
        bad.append("server log")
    return bad


def report(out):
    print("load %s: %d clients x %ss, %d stalled: %d operations (%.1f/s)"
          % (out["database"] or out["url"], out["clients"],
             out["duration_s"], out["stalled"]["stalled"], out["operations"],
             out["ops_per_s"]))
    print("  %-13s %7s %9s %9s" % ("operation", "count", "p50 ms", "p99 ms"))
    for op, o in out["latency"].items():
        print("  %-13s %7d %9s %9s" % (op, o["count"], o["p50_ms"],
                                       o["p99_ms"]))
    print("  errors %d; acknowledged %s; %d objects checked, lost writes %d"
          % (out["errors"], out["acknowledged"], out["objects_checked"],
             out["lost_writes"]))
    for line in out["error_sample"][:10] + out["lost_sample"][:10]:
        print("    | " + line)
    if "memory" in out:
        mem = out["memory"]
        print("  memory: master peak %.1f MiB; %s; bound peak <= %d MiB, "
              "growth after warm-up <= %d MiB: %s"
              % (mem["master_peak_mib"], "; ".join(
                  "worker %s start %.1f peak %.1f end %.1f (+%.1f)"
                  % (p, w["start_mib"], w["peak_mib"], w["end_mib"],
                     w["growth_after_warmup_mib"])
                  for p, w in mem["workers"].items()),
                 mem["bound_peak_mib"], mem["bound_growth_mib"],
                 "OK" if mem["ok"] else "FAILED"))
    print("  stalled %s; healthcheck %s" % (out["stalled"],
                                           out["healthcheck"]))
    if out.get("server_log", {}).get("matches"):
        print("  server log: %s" % out["server_log"]["matches"])
        for line in out["server_log"]["sample"][:10]:
            print("    | " + line[:200])
    print("  result: %s" % ("all checks passed" if out["ok"] else
                            "FAILED: " + ", ".join(out["failed"])))


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--db", default="sqlite",
                   help="comma separated: sqlite, postgresql, mysql")
    p.add_argument("--url", help="a running server instead (loopback)")
    p.add_argument("--server-pid", type=int, help="its master pid (memory)")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--stalled", type=int, default=64)
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a client waits for one answer")
    # Measured (2026-12-07, 64 clients x 60 s, all three databases): peaks
    # 112-142 MiB, growth after warm-up at most +13 MiB.
    p.add_argument("--rss-bound-mib", type=float, default=200.0,
                   help="largest peak RSS of a worker (MiB)")
    p.add_argument("--rss-growth-mib", type=float, default=64.0,
                   help="largest growth of a worker after warm-up (MiB)")
    p.add_argument("--server-conf", default="",
                   help="[DEFAULT] lines for the started server")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    args.db = [d for d in args.db.split(",") if d]
    return args


def main(argv=None):
    args = parse_args(argv)
    results = []
    if args.url:
        port = int(args.url.rsplit(":", 1)[1].split("/")[0])
        pid, _ = procs.discover(port, args.server_pid)
        results.append(run_load(args.url.rstrip("/"), pid, args))
        report(results[-1])
    for kind in ([] if args.url else args.db):
        with bench_run.started_glare(kind, False, args.server_conf) as srv:
            results.append(run_load(srv.url, srv.process.pid, args,
                                    log=str(srv.log), db=kind))
            results[-1]["server_alive"] = srv.process.poll() is None
            if not results[-1]["server_alive"]:
                results[-1]["failed"].append("server died")
                results[-1]["ok"] = False
        report(results[-1])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "runs": results}, f,
                      indent=2, default=str)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
