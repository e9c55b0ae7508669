#!/usr/bin/env python3
"""Glare against real Glance: the same ``bench/run.py`` on the same database.

::

    make bench-glance BENCH_DB=sqlite,mysql BENCH_REPEAT=3
    .venv/bin/python bench/compare.py --db sqlite,mysql --repeat 3
    .venv/bin/python bench/compare.py --db postgresql --size 512M \
        -- --duration 30

For each database kind, ``--repeat`` times, alternating:

1. a fresh, empty database (``tests/conftest.py``'s ``database_url``: a
   SQLite file, or a new database on the PostgreSQL / MariaDB server of the
   tests), a real Glance on it (``conformance/glance_runner.py``: Glance's
   own ``db_sync``, file store, uWSGI with 2 processes x 4 threads), then
   ``bench/run.py --url ... --identity-headers --server-pid <uWSGI master>``
   (so the worker RSS is sampled from the uWSGI workers, the master's
   children), then Glance is stopped and the database dropped;
2. the same for Glare: ``bench/run.py --start <kind> --identity-headers``
   (``glare serve``, 2 gunicorn workers, on its own fresh database).

Then the median of each figure per side, the ratio Glare / Glance, the
project's target for it and whether the medians meet it.  Every run's JSON
(``bench/run.py --json``) and its output go to ``--out`` (``.cache/bench``),
with the summary (``<stamp>-<kind>-summary.json``) and the table
(``<stamp>-<kind>.md``).  Arguments after ``--`` go to every ``bench/run.py``
of both sides.
"""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from conformance import glance_runner  # noqa: E402

KINDS = ("sqlite", "postgresql", "mysql")

# (key, label, how to read it from a run's JSON, better, target)
# target: ("ratio>=", x) / ("ratio<=", x) on Glare / Glance,
#         ("glare<", x) absolute on Glare, ("glare==", 0), or None.
FIGURES = [
    ("upload", "upload MiB/s", ("upload", "upload_mib_s"), "higher",
     ("ratio>=", 1.5)),
    ("download", "download MiB/s", ("upload", "download_mib_s"), "higher",
     ("ratio>=", 1.2)),
    ("upload_cpu", "server CPU s per GiB uploaded",
     ("upload", "upload_server_cpu_s_per_gib"), "lower", None),
    ("download_cpu", "server CPU s per GiB downloaded",
     ("upload", "download_server_cpu_s_per_gib"), "lower", None),
    ("rss", "peak worker RSS while uploading, MiB",
     ("memory", "max_peak_mib"), "lower", ("glare<", 150)),
    ("creates", "serial creates/s", ("create", "images_per_s"), "higher",
     None),
    ("create_p50", "create p50 ms", ("create", "p50_ms"), "lower", None),
    ("list_page", "images on a limit=1000 page",
     ("list", "limit1000_images_per_page"), "higher", None),
    ("list_p50", "list limit=1000 p50 ms", ("list", "limit1000_p50_ms"),
     "lower", ("ratio<=", 1 / 3.0)),
    ("list_p99", "list limit=1000 p99 ms", ("list", "limit1000_p99_ms"),
     "lower", ("ratio<=", 1 / 3.0)),
    ("walk", "default-limit page walk, total ms",
     ("list", "walk_total_ms"), "lower", ("ratio<=", 1 / 3.0)),
    ("cycles", "concurrency cycles/s", ("concurrency", "cycles_per_s"),
     "higher", ("ratio>=", 2.0)),
    ("cycle_p50", "cycle p50 ms", ("concurrency", "p50_ms"), "lower", None),
    ("cycle_p99", "cycle p99 ms", ("concurrency", "p99_ms"), "lower", None),
]
# Summed over all runs rather than a median: one error is one too many.
COUNTS = [
    ("errors", "concurrency errors (all runs)", ("concurrency", "errors"),
     ("glare==", 0)),
    ("errors_5xx", "  of which 5xx", ("concurrency", "errors_5xx"), None),
]


def dig(doc, path):
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    if isinstance(doc, list):   # e.g. the page sizes seen: the largest
        return max(doc, default=None)
    return doc


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def glance_version(venv):
    try:
        return subprocess.run(
            [os.path.join(venv, "bin", "python"), "-c",
             "import importlib.metadata as m; print(m.version('glance'))"],
            capture_output=True, text=True, timeout=60).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_bench(cmd, log_path, timeout):
    """Run bench/run.py, echo and keep its output; returns its status."""
    print("$ " + " ".join(cmd), flush=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        try:
            for line in proc.stdout:
                sys.stdout.write("    " + line)
                sys.stdout.flush()
                log.write(line)
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
            return proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log.write("compare: killed after %d s\n" % timeout)
            return None


@contextlib.contextmanager
def fresh_database(kind, tmp):
    from tests.conftest import database_url
    try:
        with database_url(kind, tmp) as url:
            yield url
    except BaseException as exc:
        # database_url reports an unreachable server with pytest.skip.
        if type(exc).__name__ in ("Skipped", "Failed"):
            raise SystemExit("compare: no %s database: %s"
                             % (kind, getattr(exc, "msg", exc)))
        raise


def run_glance(kind, args, json_path, log_path):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="glance-bench-%s-" % kind))
    started = time.monotonic()
    status, alive = None, None
    try:
        with fresh_database(kind, tmp) as db_url:
            with glance_runner.glance_process(
                    tmp / "glance", venv=args.glance_venv, db_url=db_url,
                    processes=args.glance_processes) as glance:
                cmd = [sys.executable, str(HERE / "run.py"),
                       "--url", glance.url, "--database", kind,
                       "--identity-headers",
                       "--server-pid", str(glance.process.pid),
                       "--server-log", glance.api_log,
                       "--size", args.size, "--json", str(json_path)] \
                    + args.bench_args
                status = run_bench(cmd, log_path, args.run_timeout)
                alive = glance.process.poll() is None
    except glance_runner.GlanceError as exc:
        print("compare: Glance did not start: %s" % exc, flush=True)
        with open(log_path, "w") as log:
            log.write("compare: Glance did not start: %s\n" % exc)
    finally:
        if args.keep_tmp:
            print("Glance files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return {"status": status, "glance_alive_at_end": alive,
            "seconds": round(time.monotonic() - started, 1)}


def run_glare(kind, args, json_path, log_path):
    started = time.monotonic()
    cmd = [sys.executable, str(HERE / "run.py"), "--start", kind,
           "--identity-headers", "--size", args.size,
           "--json", str(json_path)] + args.bench_args
    if args.keep_tmp:
        cmd.append("--keep-tmp")
    status = run_bench(cmd, log_path, args.run_timeout)
    return {"status": status,
            "seconds": round(time.monotonic() - started, 1)}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cell(values, spec):
    """'median' or 'median (min–max)' of the non-missing values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a", None
    med = statistics.median(vals)
    text = spec % med
    if len(vals) > 1 and min(vals) != max(vals):
        text += " (%s–%s)" % (spec % min(vals), spec % max(vals))
    return text, med


def verdict(target, glance, glare):
    """(target text, met?) -- met is None when it cannot be decided."""
    if target is None:
        return "—", None
    op, x = target
    if op == "ratio>=":
        text = "≥ %.1f×" % x
    elif op == "ratio<=":
        text = "≤ 1/%d (%.2f×)" % (round(1 / x), x)
    elif op == "glare<":
        return "Glare < %d" % x, None if glare is None else glare < x
    elif op == "glare==":
        return "Glare = %d" % x, None if glare is None else glare == x
    else:
        raise ValueError(op)
    if glance in (None, 0) or glare is None:
        return text, None
    ratio = glare / glance
    return text, ratio >= x if op == "ratio>=" else ratio <= x


def summarize(kind, runs):
    """Rows of the table from the runs' JSON documents."""
    sides = {"glance": [r["json"] for r in runs if r["side"] == "glance"],
             "glare": [r["json"] for r in runs if r["side"] == "glare"]}
    rows = []
    for key, label, path, better, target in FIGURES:
        spec = {"create_p50": "%.2f", "list_page": "%d",
                "upload_cpu": "%.2f",
                "download_cpu": "%.2f"}.get(key, "%.1f")
        g_text, g_med = cell([dig(d, path) for d in sides["glance"]], spec)
        r_text, r_med = cell([dig(d, path) for d in sides["glare"]], spec)
        ratio = r_med / g_med if g_med and r_med is not None else None
        t_text, ok = verdict(target, g_med, r_med)
        rows.append({"key": key, "figure": label, "better": better,
                     "glance": g_text, "glare": r_text,
                     "glance_median": g_med, "glare_median": r_med,
                     "ratio": None if ratio is None else round(ratio, 3),
                     "target": t_text, "met": ok})
    for key, label, path, target in COUNTS:
        g = [dig(d, path) for d in sides["glance"]]
        r = [dig(d, path) for d in sides["glare"]]
        g_sum = sum(v for v in g if v is not None) if any(
            v is not None for v in g) else None
        r_sum = sum(v for v in r if v is not None) if any(
            v is not None for v in r) else None
        t_text, ok = verdict(target, g_sum, r_sum)
        rows.append({"key": key, "figure": label, "better": "lower",
                     "glance": "n/a" if g_sum is None else "%d" % g_sum,
                     "glare": "n/a" if r_sum is None else "%d" % r_sum,
                     "glance_median": g_sum, "glare_median": r_sum,
                     "ratio": None, "target": t_text, "met": ok})
    return rows


def table(rows):
    out = ["| figure | Glance | Glare | Glare ÷ Glance | target | met? |",
           "|---|---|---|---|---|---|"]
    for row in rows:
        if row["glance_median"] is None and row["glare_median"] is None:
            continue   # a scenario that did not run
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            row["figure"].strip(), row["glance"], row["glare"],
            "—" if row["ratio"] is None else "%.2f×" % row["ratio"],
            row["target"],
            {True: "yes", False: "**no**", None: "—"}[row["met"]]))
    return "\n".join(out)


def checks_line(runs):
    parts = []
    for r in runs:
        bad = (r["json"] or {}).get("failed_checks")
        parts.append("%s #%d: %s" % (
            r["side"], r["round"],
            "no JSON (exit %s)" % r["status"] if r["json"] is None else
            "all checks passed" if not bad else "failed " + ", ".join(bad)))
    return "; ".join(parts)


def compare(kind, args, stamp, out_dir, meta):
    runs = []
    print("=== %s: %d round(s) of Glance then Glare, size %s"
          % (kind, args.repeat, args.size), flush=True)
    for n in range(1, args.repeat + 1):
        for side, fn in (("glance", run_glance), ("glare", run_glare)):
            base = out_dir / ("%s-%s-%s-%d" % (stamp, kind, side, n))
            json_path = base.with_suffix(".json")
            load = loadavg()
            print("--- %s %s round %d/%d (load average %s)"
                  % (kind, side, n, args.repeat, load), flush=True)
            info = fn(kind, args, json_path, base.with_suffix(".log"))
            info.update(side=side, round=n, load_before=load,
                        load_after=loadavg(), json_path=str(json_path),
                        json=load_json(json_path))
            runs.append(info)
    rows = summarize(kind, runs)
    text = table(rows)
    summary = dict(meta, database=kind, repeat=args.repeat, size=args.size,
                   bench_args=args.bench_args, rows=rows,
                   runs=[{k: v for k, v in r.items() if k != "json"}
                         for r in runs])
    with open(out_dir / ("%s-%s-summary.json" % (stamp, kind)), "w") as f:
        json.dump(summary, f, indent=2, default=str)
        f.write("\n")
    loads = [r["load_before"][0] for r in runs if r["load_before"]] + \
        [r["load_after"][0] for r in runs if r["load_after"]]
    heading = ("%s, %d round(s), size %s%s; medians (min–max); load average "
               "(1 min) %s–%s during the runs"
               % (kind, args.repeat, args.size,
                  (", bench args: " + " ".join(args.bench_args))
                  if args.bench_args else "",
                  min(loads) if loads else "?", max(loads) if loads else "?"))
    md = "%s\n\n%s\n\nRuns: %s\n" % (heading, text, checks_line(runs))
    with open(out_dir / ("%s-%s.md" % (stamp, kind)), "w") as f:
        f.write(md)
    print("\n" + md, flush=True)
    return rows


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    bench_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, bench_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--db", default="sqlite",
                   help="database kind(s), comma separated: %s (sqlite)"
                   % ", ".join(KINDS))
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of Glance-then-Glare per database (1; 3 "
                   "recommended: figures move a lot between runs)")
    p.add_argument("--size", default="1G",
                   help="upload size for both sides (1G; the issue's "
                   "reference Glance figures used 512M)")
    p.add_argument("--glance-venv", default=glance_runner.DEFAULT_VENV,
                   help="venv with Glance, uWSGI and the database drivers "
                   "(make glance-venv)")
    p.add_argument("--glance-processes", type=int, default=2,
                   help="uWSGI processes of Glance (2, as Glare's workers)")
    p.add_argument("--out", default=str(ROOT / ".cache" / "bench"),
                   help="directory for every run's JSON and output")
    p.add_argument("--run-timeout", type=float, default=3600,
                   help="bound of one bench/run.py, seconds (3600)")
    p.add_argument("--keep-tmp", action="store_true",
                   help="keep both servers' directories (logs, config)")
    args = p.parse_args(argv)
    args.bench_args = bench_args
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    bad = set(kinds) - set(KINDS)
    if bad or not kinds:
        p.error("--db: unknown kind(s) %s" % ", ".join(sorted(bad)))
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    if not glance_runner.venv_ok(args.glance_venv):
        p.error("no Glance/uWSGI in %s: run make glance-venv"
                % args.glance_venv)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {"when": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="seconds"),
            "host": platform.node(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "glance_version": glance_version(args.glance_venv),
            "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])}
    print("compare: Glance %s vs Glare, %s, %d CPUs, results in %s"
          % (meta["glance_version"], ", ".join(kinds), os.cpu_count(),
             out_dir), flush=True)
    unmet = []
    for kind in kinds:
        for row in compare(kind, args, stamp, out_dir, meta):
            if row["met"] is False:
                unmet.append("%s: %s" % (kind, row["figure"].strip()))
    print("targets not met: %s" % ("none" if not unmet else "; ".join(unmet)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
