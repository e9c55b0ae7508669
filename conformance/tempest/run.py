"""Tempest's image API tests against Glare (or a real Glance) registered in
a real Keystone.

::

    python -m conformance.tempest.run glare   [--regex R] [--concurrency N]
    python -m conformance.tempest.run glance  [...]      # Glance 33, uWSGI
    make tempest            # both, then the summary of docs/tempest.md

Each run sets up, in a fresh temporary directory: a Keystone 30
(``tests/keystone_server.py``, SQLite, gunicorn), a service user for the
image server, the image server itself with keystonemiddleware in front
(Glare: ``[paste_deploy] flavor = keystone``; Glance: its stock keystone
pipeline, ``conformance.glance_runner``) on a SQLite database with
Glance's standard metadata definitions loaded (``glare db load-metadefs``
/ ``glance-manage db_load_metadefs`` from the Glance venv), registered as
the ``image`` service in Keystone's catalog, and a small web server on
this host's address (not loopback, which Glance always refuses) that
serves Tempest's ``http_image``, a small qcow2 (no internet needed; both
servers are told to allow that host and port for web-download).  Then
Tempest 47 (``.cache/tempest-venv``, ``make tempest-venv``) runs
``tempest run --regex '^tempest.api.image'`` with the ``tempest.conf`` of
``TEMPEST_CONF`` -- the same file for both servers -- and the result of
every test (passed, failed, skipped, with the skip reason or the failure's
last line) is written to ``.cache/tempest/<kind>.json``.
"""

import argparse
import contextlib
import csv
import functools
import http.server
import io
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from conformance import glance_runner
from conformance import run as conformance_run
from tests import keystone_server

ROOT = glance_runner.ROOT
VENV = os.environ.get("GLARE_TEMPEST_VENV") or os.path.join(
    ROOT, ".cache", "tempest-venv")
RESULTS = os.path.join(ROOT, ".cache", "tempest")
REGEX = r"^tempest\.api\.image"
SERVICE_USER = "image-service"

# What a Glance 33 deployment (devstack's defaults for Glance) tells
# Tempest; the same file is used for Glare.
TEMPEST_CONF = """\
[DEFAULT]
log_file = {workdir}/tempest.log

[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = {admin_password}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {auth_url}
auth_version = v3
region = RegionOne

[identity-feature-enabled]
api_v2 = false

[service_available]
glance = true
nova = false
neutron = false
cinder = false
swift = false
heat = false

[image]
http_image = {http_image}
http_qcow2_image = {http_image}
build_timeout = 120

[image-feature-enabled]
import_image = true
os_glance_reserved = true
manage_locations = false
do_secure_hash = true
http_store_enabled = false

[enforce_scope]
glance = true
keystone = true

[validation]
run_validation = false
"""

# web-download of Tempest's http_image from this host: allowed explicitly
# (Glance's defaults only allow ports 80 and 443; Glare also refuses
# private and reserved addresses unless the host is allowed by name).
IMPORT_FILTERING = """
[import_filtering_opts]
allowed_hosts = {host}
allowed_ports = 80,443,{port}
"""


# Profiles: ``base`` is the file above (one filesystem store, locations
# hidden, format enforced: devstack's defaults).  ``locations`` also turns
# on what more Tempest classes need: locations shown (ImageLocationsTest),
# an http store for them, and Glance's require_image_format_match off
# (ListUserImagesTest uploads placeholder bytes in every disk format).
# Each entry: (tempest.conf lines, Glance's extra conf, Glare's [DEFAULT]
# lines, Glare's extra sections); {host} is the web server's address.
PROFILES = {
    "base": ("", "", "", ""),
    "locations": (
        "\n[image-feature-enabled]\nmanage_locations = true\n"
        "http_store_enabled = true\nimage_format_enforcement = false\n",
        "\n[DEFAULT]\nshow_multiple_locations = true\n"
        "show_image_direct_url = true\n"
        "\n[image_format]\nrequire_image_format_match = false\n",
        "show_multiple_locations = true\nshow_image_direct_url = true\n",
        "\n[image_format]\nrequire_image_format_match = false\n"
        # Tempest's http_image is on this host's private address: Glare
        # reads an http location there only when the store names it.
        "\n[store:web]\ndriver = http\ninternal_hosts = {host}\n"
        "\n[glare]\nexternal_allowed_hosts = {host}\n"),
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _host_address():
    """This host's address other than loopback (Glance refuses to
    web-download from loopback whatever its import filtering says),
    else 127.0.0.1."""
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            # No packet is sent: connect() only picks the route's source.
            sock.connect(("192.0.2.1", 9))
            address = sock.getsockname()[0]
            if not ipaddress.ip_address(address).is_loopback:
                return address
    return "127.0.0.1"


def _write_image(path):
    """Tempest's http_image: a small qcow2 (Tempest creates the image
    with the first of its disk_formats, qcow2, and both servers inspect
    the data), or raw bytes without qemu-img."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img and subprocess.run(
            [qemu_img, "create", "-f", "qcow2", path, "16M"],
            capture_output=True).returncode == 0:
        return
    with open(path, "wb") as f:
        f.write(os.urandom(1024 * 1024))


@contextlib.contextmanager
def web_server(root):
    """Tempest's http_image served on this host's address; yields (host,
    port, URL)."""
    os.makedirs(root, exist_ok=True)
    _write_image(os.path.join(root, "cirros.img"))
    host = _host_address()
    httpd = http.server.ThreadingHTTPServer(
        (host, 0), functools.partial(_Quiet, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield host, httpd.server_port, "http://%s:%d/cirros.img" % (
            host, httpd.server_port)
    finally:
        httpd.shutdown()
        httpd.server_close()


# What this runner runs from the venv (``make tempest-venv`` checks the
# same before it accepts a venv).
TEMPEST_TOOLS = ("tempest", "stestr", "subunit2csv")


def ensure_tempest_venv():
    if not all(os.access(os.path.join(VENV, "bin", tool), os.X_OK)
               for tool in TEMPEST_TOOLS):
        subprocess.run(["make", "-s", "-C", ROOT, "tempest-venv",
                        "TEMPEST_VENV=" + VENV], check=True)
    return VENV


@contextlib.contextmanager
def glare(workdir, keystone, password, import_filtering, profile):
    sections = (keystone.glare_sections(SERVICE_USER, password)
                + import_filtering + profile[3])
    defaults = ("enabled_import_methods = "
                "[glance-direct,web-download,copy-image]\n" + profile[2])
    with conformance_run.glare_server(workdir, extra_defaults=defaults,
                                      extra_sections=sections) as url:
        subprocess.run([sys.executable, "-m", "glare.cli", "--config",
                        os.path.join(workdir, "glare.conf"), "db",
                        "load-metadefs", glance_runner.DEFAULT_VENV],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        yield url


@contextlib.contextmanager
def glance(workdir, keystone, password, import_filtering, profile):
    extra = ("\n" + keystone.authtoken_section(SERVICE_USER, password)
             + import_filtering + profile[1])
    with glance_runner.glance_process(workdir, extra_conf=extra,
                                      keystone=True) as running:
        venv = glance_runner.DEFAULT_VENV
        subprocess.run(
            [os.path.join(venv, "bin", "glance-manage"), "--config-file",
             os.path.join(workdir, "etc", "glance-api.conf"),
             "db_load_metadefs", os.path.join(venv, "etc", "glance",
                                              "metadefs")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield running.url


SERVERS = {"glare": glare, "glance": glance}


def _reasons(log):
    """{test id: skip reason or failure's exception line} from the
    subunit-trace output of ``tempest run``."""
    reasons = {}
    with open(log, errors="replace") as f:
        text = f.read()
    for match in re.finditer(r"^\{\d+\} (\S+?)(?:\[[^\]]*\])? .*?\.\.\. "
                             r"SKIPPED: (.*)$", text, re.M):
        reasons[match.group(1)] = match.group(2).strip()
    # Failures: "<test id>\n----...\n" then the captured traceback; keep
    # the last exception line.
    for match in re.finditer(r"^(tempest\.\S+?)(?:\[[^\]]*\])?\n-{5,}\n(.*?)"
                             r"(?=^\{\d+\}|^tempest\.\S+\n-{5,}|\Z)",
                             text, re.M | re.S):
        lines = [ln for ln in match.group(2).splitlines()
                 if re.match(r"^\S*(Error|Exception|Failure|exceptions\.)\S*:",
                             ln.strip()) or ln.startswith("Details:")]
        if lines:
            reasons.setdefault(match.group(1), lines[-1].strip()[:300])
    return reasons


def run_tempest(workdir, conf_text, regex, concurrency):
    """``tempest init`` + ``tempest run``; returns (exit status, results
    {test id: (status, detail)})."""
    tempest = os.path.join(VENV, "bin", "tempest")
    workspace = os.path.join(workdir, "tempest")
    # A workspace registry of its own: ~/.tempest/workspace.yaml is shared
    # by every run on the machine and refuses a name twice.
    subprocess.run([tempest, "init", "--workspace-path",
                    os.path.join(workdir, "workspaces.yaml"), workspace],
                   check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(workspace, "etc", "tempest.conf"), "w") as f:
        f.write(conf_text)
    log = os.path.join(workdir, "tempest-run.log")
    with open(log, "w") as out:
        status = subprocess.call(
            [tempest, "run", "--regex", regex, "--concurrency",
             str(concurrency)], cwd=workspace, stdout=out,
            stderr=subprocess.STDOUT)
    results = collect(workspace)
    for test, reason in _reasons(log).items():
        if test in results:
            results[test][1] = reason
    return status, results


# subunit2csv's statuses in the words of the summary.
OUTCOMES = {"success": "passed", "skip": "skipped", "fail": "failed",
            "failure": "failed"}


def collect(workspace):
    """Every test of the last stestr run: {id: [status, detail]}."""
    stestr = os.path.join(VENV, "bin", "stestr")
    subunit = subprocess.run([stestr, "last", "--subunit"], cwd=workspace,
                             capture_output=True).stdout
    rows = subprocess.run([os.path.join(VENV, "bin", "subunit2csv")],
                          input=subunit, capture_output=True).stdout
    results = {}
    for row in csv.DictReader(io.StringIO(rows.decode())):
        test = row["test"].split("[")[0]
        if not test.startswith("tempest."):
            # setUpClass failures are reported under the class name.
            test = row["test"]
        results[test] = [OUTCOMES.get(row["status"], row["status"]), ""]
    return results


def run(kind, regex=REGEX, concurrency=2, keep=None, profile="base"):
    keystone_venv, error = keystone_server.ensure_venv()
    if keystone_venv is None:
        raise SystemExit("no Keystone venv: %s" % error)
    ensure_tempest_venv()
    workdir = keep or tempfile.mkdtemp(prefix="tempest-%s-" % kind)
    os.makedirs(workdir, exist_ok=True)
    started = time.time()
    try:
        with web_server(os.path.join(workdir, "web")) as (
                host, port, http_image), \
                keystone_server.keystone_server(
                    os.path.join(workdir, "keystone")) as ks:
            _, password = ks.add_user(SERVICE_USER, "service",
                                      ["service", "admin"])
            filtering = IMPORT_FILTERING.format(host=host, port=port)
            extra = [text.replace("{host}", host)
                     for text in PROFILES[profile]]
            with SERVERS[kind](os.path.join(workdir, kind), ks, password,
                               filtering, extra) as url:
                ks.register_service("image", kind, url)
                conf = TEMPEST_CONF.format(
                    workdir=workdir, auth_url=ks.auth_url,
                    admin_password=keystone_server.ADMIN_PASSWORD,
                    http_image=http_image) + extra[0]
                status, results = run_tempest(workdir, conf, regex,
                                              concurrency)
    finally:
        if keep is None:
            os.makedirs(RESULTS, exist_ok=True)
            for name in ("tempest-run.log",):
                path = os.path.join(workdir, name)
                if os.path.exists(path):
                    shutil.copy(path, os.path.join(RESULTS,
                                                   "%s-%s" % (kind, name)))
            shutil.rmtree(workdir, ignore_errors=True)
    counts = {}
    for outcome, _ in results.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    summary = {"kind": kind, "profile": profile, "regex": regex,
               "exit": status,
               "seconds": round(time.time() - started), "counts": counts,
               "tests": dict(sorted(results.items()))}
    os.makedirs(RESULTS, exist_ok=True)
    name = kind if profile == "base" else "%s-%s" % (kind, profile)
    with open(os.path.join(RESULTS, name + ".json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("tempest against %s: %s in %d s (log: %s)" % (
        kind, ", ".join("%s %d" % kv for kv in sorted(counts.items())),
        summary["seconds"],
        os.path.join(keep, "tempest-run.log") if keep else
        os.path.join(RESULTS, kind + "-tempest-run.log")))
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m conformance.tempest.run")
    parser.add_argument("kind", choices=sorted(SERVERS))
    parser.add_argument("--regex", default=REGEX)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--profile", choices=sorted(PROFILES),
                        default="base")
    parser.add_argument("--keep", default=None,
                        help="work in this directory and keep it")
    args = parser.parse_args(argv)
    return run(args.kind, args.regex, args.concurrency, args.keep,
               args.profile)


if __name__ == "__main__":
    sys.exit(main())
