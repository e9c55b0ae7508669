"""Run the conformance suite against Glare, a real Glance, or any URL.

::

    python -m conformance.run glare  [-- PYTEST ARGS]  # make conformance
    python -m conformance.run glance [-- PYTEST ARGS]  # conformance-glance
    python -m conformance.run url http://host:9292 [--server-kind glance]
    python -m conformance.run glance --multi-store [-- PYTEST ARGS]
    python -m conformance.run glare --multi-store [-- PYTEST ARGS]

``glare`` starts ``glare serve`` (gunicorn, 2 workers) on a fresh SQLite
database and filesystem store in a temporary directory, with Glare's
default configuration; ``glance`` starts a real Glance the same way (see
``conformance.glance_runner``).  Both stop the server afterwards and exit
with pytest's status.

``--multi-store`` configures either server with the same multi-store text
(``glance_runner.MULTI_STORE_DEFAULTS``/``MULTI_STORE_SECTIONS``: file
stores ``fast`` and ``cold``, S3 store ``cloud`` on a moto server that the
runner starts on 127.0.0.1 (conformance.s3), locations shown, copy-image)
and runs only the
multi-store modules (``MULTI_STORE_MODULES``) with ``--multi-store``, which
tells them the endpoint is configured that way.  ``--cache`` likewise sets
``image_cache_dir`` on either server (Glance with its ``cache`` filter) and
runs only ``CACHE_MODULES``; ``--property-protections`` gives both the
same property protection file (``glance_runner.PROPERTY_PROTECTIONS``) and
runs only ``PROPERTY_PROTECTION_MODULES``.  The other modules assume
the default single-store configuration, so each mode runs its own files.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from conformance import glance_runner, report

ROOT = glance_runner.ROOT
SUITE = os.path.join(ROOT, "conformance")
# The modules that need the multi-store configuration (they skip, with a
# reason naming it, in a single-store run).
MULTI_STORE_MODULES = ("test_stores", "test_locations")
# The modules that need an image cache (``--cache``: image_cache_dir set on
# either server, Glance with its cache filter).
CACHE_MODULES = ("test_cache",)
# The modules that need the property protection file (the same file for
# both servers).
PROPERTY_PROTECTION_MODULES = report.PROTECTION_MODULES


def pytest_command(url, kind="glare", extra=(), python=None,
                   multi_store=False, cache=False, protections=False):
    """The pytest command line that runs the suite against ``url``;
    ``multi_store``: only the multi-store modules, told the endpoint has
    the multi-store configuration; ``cache``: only the cache modules;
    ``protections``: only the property protection modules."""
    paths = [SUITE]
    options = []
    if protections:
        paths = [os.path.join(SUITE, m + ".py")
                 for m in PROPERTY_PROTECTION_MODULES]
        options = ["--property-protections"]
    elif multi_store:
        paths = [os.path.join(SUITE, m + ".py") for m in MULTI_STORE_MODULES]
        options = ["--multi-store"]
    elif cache:
        paths = [os.path.join(SUITE, m + ".py") for m in CACHE_MODULES]
        options = ["--cache"]
    return ([python or sys.executable, "-m", "pytest"] + paths +
            ["--endpoint", url, "--server-kind", kind] + options +
            ["-p", "no:cacheprovider", "--rootdir", ROOT] + list(extra))


def run_suite(url, kind="glare", extra=(), multi_store=False, cache=False,
              protections=False, **kwargs):
    """Run the suite in a subprocess; returns its exit status."""
    started = time.time()
    status = subprocess.call(pytest_command(url, kind, extra,
                                            multi_store=multi_store,
                                            cache=cache,
                                            protections=protections),
                             cwd=ROOT, **kwargs)
    print("conformance (%s%s%s%s at %s): exit %d in %.1f s"
          % (kind, " multi-store" if multi_store else "",
             " cache" if cache else "",
             " property-protections" if protections else "", url, status,
             time.time() - started), flush=True)
    return status


# A full run against a real Glance whose failures are this few has them
# run once more (see ``rerun_failures``); more are taken as they are.
RERUN_LIMIT = 3


def totals(results):
    """{outcome: count} over ``report.parse_junit`` results."""
    total = {}
    for counter in results.values():
        for outcome, n in counter.items():
            total[outcome] = total.get(outcome, 0) + n
    return total


def failed_checks(results):
    """The "module::test" keys of ``results`` with a failure, sorted."""
    return sorted(key for key, counter in results.items()
                  if counter.get("FAIL"))


def rerun_expression(checks):
    """A ``pytest -k`` expression selecting ``checks`` ("module::test"
    keys; every parametrization of each)."""
    return " or ".join("(%s and %s)" % tuple(key.split("::", 1))
                       for key in checks)


def rerun_failures(junit, rerun, limit=RERUN_LIMIT):
    """The results of the suite's ``junit`` file, with its failed checks
    run once more when there are at most ``limit`` of them.

    ``rerun(expression)`` runs the suite with ``-k expression`` against
    the same server and returns the path of its junit file (None, or a
    path that does not exist, when it wrote none).  A re-run result
    replaces a failed check's first one (pass or fail again); a check the
    re-run has no result for stays failed, and checks that had not failed
    keep their results even if the expression selected them again.  More
    than ``limit`` failures: no re-run, the results as they are (a broken
    server, not a flaky check).  Returns (results, re-run checks)."""
    results = report.parse_junit(str(junit))
    checks = failed_checks(results)
    if not checks or len(checks) > limit:
        return results, []
    again = rerun(rerun_expression(checks))
    if again and os.path.exists(str(again)):
        second = report.parse_junit(str(again))
        for key in checks:
            if second.get(key):
                results[key] = second[key]
    return results, checks


GLARE_CONF = """\
[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
workers = 2
log_file = {workdir}/glare.log
{store_defaults}
[database]
connection = sqlite:///{workdir}/glare.sqlite

[glance_store]
filesystem_store_datadir = {workdir}/images

{store_sections}
"""


@contextlib.contextmanager
def glare_server(workdir, port=None, python=None, multi_store=False,
                 s3=None, cache=False, protections=False, extra_defaults="",
                 extra_sections=""):
    """``glare serve`` on a fresh SQLite database; yields its URL.

    ``multi_store``: with the same multi-store text as Glance's (added to
    Glare's own options), its S3 store ``s3`` = (endpoint, bucket) or, by
    default, a moto server started for the duration; ``cache``: an image
    cache (``image_cache_dir``); ``protections``: the property protection
    file of ``glance_runner.PROPERTY_PROTECTIONS``.  ``extra_defaults``
    (lines for [DEFAULT]) and ``extra_sections`` (whole sections) are
    added as given (the Tempest runner's Keystone and import options)."""
    with glance_runner.s3_for(multi_store, s3) as s3:
        with _glare_server(workdir, port, python, multi_store, s3,
                           cache, protections, extra_defaults,
                           extra_sections) as url:
            yield url


@contextlib.contextmanager
def _glare_server(workdir, port, python, multi_store, s3, cache=False,
                  protections=False, extra_defaults="", extra_sections=""):
    python = python or sys.executable
    port = port or glance_runner.free_port()
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "glare.conf")
    store_defaults, store_sections = "", ""
    if multi_store:
        store_defaults, store_sections = glance_runner.multi_store_config(
            workdir, s3)
    if cache:
        # Glance's run names its node the same way (glance_runner).
        store_defaults += glance_runner.cache_config(workdir) + \
            "worker_self_reference_url = http://127.0.0.1:%d\n" % port
    store_defaults += extra_defaults
    store_sections += extra_sections
    with open(conf, "w") as f:
        f.write(GLARE_CONF.format(port=port, workdir=workdir,
                                  store_defaults=store_defaults,
                                  store_sections=store_sections))
        if protections:
            f.write(glance_runner.property_protections_config(workdir))
    glare = [python, "-m", "glare.cli", "--config", conf]
    subprocess.run(glare + ["db", "upgrade"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    out_path = os.path.join(workdir, "server.out")
    with open(out_path, "w") as out:
        proc = subprocess.Popen(glare + ["serve"], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthcheck",
                                            timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.time() > deadline:
                with open(out_path) as f:
                    raise RuntimeError("Glare did not start:\n" + f.read())
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m conformance.run")
    sub = parser.add_subparsers(dest="target", required=True)
    sub.add_parser("glare", help="start Glare (SQLite) and run the suite")
    g = sub.add_parser("glance", help="start a real Glance and run the suite")
    g.add_argument("--venv", default=glance_runner.DEFAULT_VENV)
    u = sub.add_parser("url", help="run the suite against a running server")
    u.add_argument("url")
    u.add_argument("--server-kind", default="glare",
                   choices=("glare", "glance"))
    for p in sub.choices.values():
        p.add_argument("--workdir", default=None,
                       help="keep server files here (default: a temp dir)")
        p.add_argument("--multi-store", action="store_true",
                       help="the multi-store configuration and checks "
                            "(%s)" % ", ".join(MULTI_STORE_MODULES))
        p.add_argument("--cache", action="store_true",
                       help="an image cache (image_cache_dir) and its "
                            "checks (%s)" % ", ".join(CACHE_MODULES))
        p.add_argument("--property-protections", action="store_true",
                       help="a property protection file and its checks "
                            "(%s)" % ", ".join(PROPERTY_PROTECTION_MODULES))
    args = parser.parse_args(argv)
    modes = dict(multi_store=args.multi_store, cache=args.cache)
    protections = args.property_protections
    if args.target == "url":
        return run_suite(args.url, args.server_kind, extra,
                         protections=protections, **modes)
    signal.signal(signal.SIGTERM, glance_runner._terminate)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="conformance-%s-"
                                        % args.target))
        started = time.time()
        try:
            if args.target == "glare":
                url = stack.enter_context(glare_server(
                    workdir, protections=protections, **modes))
            else:
                url = stack.enter_context(glance_runner.glance_server(
                    workdir, venv=args.venv, extra_conf=(
                        glance_runner.property_protections_config(workdir)
                        if protections else ""), **modes))
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print("conformance: %s" % exc, file=sys.stderr)
            return 2
        print("%s is serving on %s (started in %.1f s)"
              % (args.target, url, time.time() - started), flush=True)
        try:
            return run_suite(url, args.target, extra,
                             protections=protections, **modes)
        except glance_runner.Terminated:
            return 143


if __name__ == "__main__":
    sys.exit(main())
