"""Run a REAL OpenStack Glance locally: the conformance suite's reference.

Glance runs the way a small deployment would run it, only without Keystone:

* SQLite database by default (``--db-url``/``db_url``: any SQLAlchemy URL
  Glance's oslo.db accepts, e.g. ``mysql+pymysql://...`` or
  ``postgresql+psycopg2://...`` for the benchmark), schema made by Glance's
  own ``glance-manage db_sync``;
* the filesystem store under the work directory (single store, no cache);
  or, with ``--multi-store``/``multi_store=True``, the multi-store text of
  ``MULTI_STORE_DEFAULTS``/``MULTI_STORE_SECTIONS`` (file stores ``fast``
  and ``cold``, S3 store ``cloud`` on a moto server, locations shown,
  copy-image), which ``conformance.run`` also gives Glare; with
  ``property_protections_config`` as ``extra_conf`` (``conformance.run
  --property-protections``) the protection file ``PROPERTY_PROTECTIONS``;
* served by uWSGI on 127.0.0.1 (``http-socket``, two processes), with the
  chunked-input limit raised: glanceclient and Tempest upload with
  ``Transfer-Encoding: chunked`` in 1 MiB / 64 KiB chunks, and uWSGI's
  default limit per chunk (1 MB) would cut glanceclient's uploads;
* ``schema-image.json`` (the deployment's custom image properties) is the
  one Glare loads by default, as an operator would install it for both;
* a paste pipeline of our own where Glance's stock ``context`` filter stands
  where ``authtoken context`` stands in the ``keystone`` flavor.  That filter
  trusts ``X-Project-Id``/``X-User-Id``/``X-Roles`` when the request carries
  ``X-Identity-Status: Confirmed`` (what keystonemiddleware would have set),
  so the suite can act as several projects and roles.  Policies are Glance's
  defaults (new defaults, scope enforcement on).

Usage as a module (``with glance_server(workdir, port) as url: ...``;
``glance_process`` yields the process and log paths too) or as a command::

    python -m conformance.glance_runner --port 9393 --workdir /tmp/g
    python -m conformance.glance_runner --port 9393 --workdir /tmp/g \
        --db-url mysql+pymysql://root@127.0.0.1:3306/glance_db
    python -m conformance.glance_runner --port 9393 --workdir /tmp/g \
        -- pytest conformance --endpoint {url} --server-kind glance

Without a command it serves until interrupted; with one (after ``--``) it
runs the command with ``{url}`` replaced, stops Glance and exits with the
command's status.
"""

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from conformance import s3 as conformance_s3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VENV = os.path.join(ROOT, ".cache", "glance-venv")
SCHEMA_IMAGE = os.path.join(ROOT, "schemas", "schema-image.json")
# Glance's own default for [DEFAULT] enabled_import_methods.
GLANCE_DEFAULT_IMPORT_METHODS = ("glance-direct", "web-download",
                                 "copy-image")

GLANCE_API_CONF = """\
[DEFAULT]
debug = false
log_file = {workdir}/glance-api.log
# Needed by the staging housekeeping when several workers serve.
worker_self_reference_url = {url}
public_endpoint =
{store_defaults}
[database]
connection = {db_url}

{store_sections}

[paste_deploy]
config_file = {workdir}/etc/glance-api-paste.ini
flavor = {flavor}

[oslo_policy]
# Glance's shipped defaults, spelled out so nothing else decides them.
enforce_new_defaults = true
enforce_scope = true

[oslo_concurrency]
lock_path = {workdir}/locks

[wsgi]
task_pool_threads = 4
"""

# Single store (the default run): Glance's defaults, written out
# (interoperable import on, no locations shown), one filesystem store.
SINGLE_STORE_DEFAULTS = """\
enabled_import_methods = {import_methods}
node_staging_uri = file://{workdir}/staging
show_image_direct_url = false
show_multiple_locations = false
"""

SINGLE_STORE_SECTIONS = """\
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = {workdir}/images/
"""

# The multi-store run (``--multi-store``): the SAME text goes into Glance's
# glance-api.conf and Glare's glare.conf (``multi_store_config``), so both
# servers are configured identically.  Two filesystem stores, ``fast`` (the
# default) and ``cold``, one S3 store, ``cloud`` (a moto server on
# 127.0.0.1 with a fresh bucket, conformance.s3, started by the runner),
# the reserved staging and tasks stores, locations and direct_url shown,
# glance-direct and copy-image offered, and a location quota of 2: an image
# copied to both file stores is at the quota, so one more location is over
# it (with only file stores no location can be added by URL: Glance
# refuses file:// locations, so the quota cannot be reached that way).
MULTI_STORE_IDS = ("fast", "cold")
MULTI_STORE_S3 = "cloud"
MULTI_STORE_ALL = MULTI_STORE_IDS + (MULTI_STORE_S3,)
MULTI_STORE_DESCRIPTIONS = {"fast": "Fast store (conformance)",
                            "cold": "Cold store (conformance)",
                            "cloud": "S3 store (conformance)"}
MULTI_STORE_LOCATION_QUOTA = 2

MULTI_STORE_DEFAULTS = """\
enabled_backends = fast:file, cold:file, cloud:s3
enabled_import_methods = [glance-direct,copy-image]
show_image_direct_url = true
show_multiple_locations = true
image_location_quota = %d
""" % MULTI_STORE_LOCATION_QUOTA

MULTI_STORE_SECTIONS = """\
[glance_store]
default_backend = fast

[fast]
filesystem_store_datadir = {workdir}/stores/fast/
store_description = %s
weight = 100

[cold]
filesystem_store_datadir = {workdir}/stores/cold/
store_description = %s
weight = 50

[cloud]
{s3_section}store_description = %s
weight = 10

[os_glance_staging_store]
filesystem_store_datadir = {workdir}/staging/

[os_glance_tasks_store]
filesystem_store_datadir = {workdir}/tasks/
""" % (MULTI_STORE_DESCRIPTIONS["fast"], MULTI_STORE_DESCRIPTIONS["cold"],
       MULTI_STORE_DESCRIPTIONS["cloud"])


def multi_store_config(workdir, s3):
    """(lines for [DEFAULT], the other sections) of the multi-store run,
    with the store directories under ``workdir`` (created here) and the
    S3 store at ``s3`` = (endpoint URL, bucket)."""
    workdir = os.path.abspath(workdir)
    for sub in ("stores/fast", "stores/cold", "staging", "tasks"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    return (MULTI_STORE_DEFAULTS,
            MULTI_STORE_SECTIONS.format(
                workdir=workdir, s3_section=conformance_s3.glance_section(
                    *s3)))


@contextlib.contextmanager
def s3_for(multi_store, s3=None):
    """The S3 store of a multi-store run: ``s3`` if given, else a moto
    server and bucket for the duration (None in a single-store run)."""
    if not multi_store or s3 is not None:
        yield s3
        return
    with conformance_s3.s3_store() as started:
        yield started


# The stock ``glance-api`` composites; the ``conformance`` flavor is the
# keystone flavor with ``authtoken`` (and the no-op osprofiler) left out.
GLANCE_API_PASTE = """\
[composite:glance-api-conformance]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:glance-api-conformance+cache]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:glance-api-keystone]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
conformance = cors http_proxy_to_wsgi versionnegotiation context rootapp
conformance+cache = cors http_proxy_to_wsgi versionnegotiation context cache rootapp
keystone = cors http_proxy_to_wsgi versionnegotiation authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = {workdir}/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:cache]
paste.filter_factory = glance.api.middleware.cache:CacheFilter.factory

[filter:cors]
paste.filter_factory =  oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


class GlanceError(RuntimeError):
    """Glance could not be set up or did not start."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_ok(venv=DEFAULT_VENV):
    """True when ``venv`` has Glance and uWSGI installed."""
    return all(os.access(os.path.join(venv, "bin", name), os.X_OK)
               for name in ("python", "glance-manage", "uwsgi"))


def default_db_url(workdir):
    return "sqlite:///%s" % os.path.join(os.path.abspath(workdir),
                                         "glance.sqlite")


def cache_config(workdir):
    """The [DEFAULT] lines of the image cache run (``--cache``), the same
    for Glance and Glare: a cache directory and Glance's defaults for the
    rest (driver centralized_db, 10 GiB)."""
    return "image_cache_dir = %s\n" % os.path.join(
        os.path.abspath(workdir), "cache")


# The property protections run (``--property-protections``): the same
# file, roles format, for Glance and Glare (conformance/
# test_property_protections.py relies on these sections).
PROPERTY_PROTECTIONS = """\
[^x_admin_only_.*]
create = admin
read = admin
update = admin
delete = admin

[^x_frozen_.*]
create = admin,member
read = admin,member,reader
update = admin
delete = admin

[^x_blind$]
create = admin,member
read = !
update = !
delete = !

[^x_members_.*]
create = member
read = member
update = member
delete = member

[^x_never_created$]
create = !
read = @
update = @
delete = @

[.*]
create = @
read = @
update = @
delete = @
"""


def property_protections_config(workdir):
    """Writes ``PROPERTY_PROTECTIONS`` into ``workdir`` and returns the
    ``[DEFAULT]`` section (appended to either server's file; oslo.config
    merges a repeated section) that points at it."""
    path = os.path.join(os.path.abspath(workdir),
                        "property-protections.conf")
    with open(path, "w") as f:
        f.write(PROPERTY_PROTECTIONS)
    return ("\n[DEFAULT]\nproperty_protection_file = %s\n"
            "property_protection_rule_format = roles\n" % path)


def write_config(workdir, port, import_methods=GLANCE_DEFAULT_IMPORT_METHODS,
                 db_url=None, multi_store=False, s3=None, extra_conf="",
                 cache=False, keystone=False, store_config=None):
    """Write glance-api.conf and the paste ini under ``workdir/etc``.

    ``multi_store``: the stores of ``multi_store_config`` (its S3 store at
    ``s3`` = (endpoint, bucket)) instead of the single filesystem store
    (``import_methods`` is then ignored: the multi-store configuration
    names its own).  ``extra_conf``: more sections, appended (e.g.
    ``[oslo_messaging_notifications]``).  ``cache``: ``cache_config`` and
    the pipeline with Glance's ``cache`` filter (downloads served from and
    filling the cache).  ``keystone``: Glance's stock ``keystone`` flavor
    (keystonemiddleware's ``authtoken`` before ``context``), whose
    ``[keystone_authtoken]`` section comes in ``extra_conf``.
    ``store_config``: (lines for [DEFAULT], the store
    sections) of the caller's own, instead of either store text (e.g. the
    migration fixture's two file stores and an http store)."""
    workdir = os.path.abspath(workdir)
    etc = os.path.join(workdir, "etc")
    for sub in ("etc", "images", "staging", "locks"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    if store_config:
        store_defaults, store_sections = store_config
    elif multi_store:
        store_defaults, store_sections = multi_store_config(workdir, s3)
    else:
        fill = {"workdir": workdir,
                "import_methods": "[%s]" % ",".join(import_methods)}
        store_defaults = SINGLE_STORE_DEFAULTS.format(**fill)
        store_sections = SINGLE_STORE_SECTIONS.format(**fill)
    if cache:
        store_defaults += cache_config(workdir)
    flavor = "conformance+cache" if cache else "conformance"
    if keystone:
        flavor = "keystone"
    values = {"flavor": flavor,
              "workdir": workdir, "url": "http://127.0.0.1:%d" % port,
              "store_defaults": store_defaults,
              "store_sections": store_sections,
              # oslo.config interpolates "$name": escape a literal "$".
              "db_url": (db_url or default_db_url(workdir)).replace("$",
                                                                    "$$")}
    conf = os.path.join(etc, "glance-api.conf")
    with open(conf, "w") as f:
        f.write(GLANCE_API_CONF.format(**values) + extra_conf)
    with open(os.path.join(etc, "glance-api-paste.ini"), "w") as f:
        f.write(GLANCE_API_PASTE.format(**values))
    # A deployment installs schema-image.json next to glance-api.conf (the
    # wheel does not ship it).  Give Glance the same custom properties
    # Glare loads by default, so both servers describe the same schema.
    shutil.copyfile(SCHEMA_IMAGE, os.path.join(etc, "schema-image.json"))
    return conf


def db_sync(venv, conf, log):
    """Glance's own schema migrations on its (empty) database."""
    with open(log, "a") as out:
        done = subprocess.run(
            [os.path.join(venv, "bin", "glance-manage"), "--config-file",
             conf, "db_sync"], stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        with open(log) as f:
            raise GlanceError("glance-manage db_sync failed:\n" + f.read())


def uwsgi_command(venv, port, workdir, processes=2):
    # The WSGI script Glance ships (pbr entry point ``glance-wsgi-api``) is
    # the module glance.wsgi.api, whose ``application`` calls
    # glance.common.wsgi_app.init_app().
    return [
        os.path.join(venv, "bin", "uwsgi"),
        "--http-socket", "127.0.0.1:%d" % port,
        "--module", "glance.wsgi.api:application",
        "--virtualenv", venv,
        "--master", "--processes", str(processes), "--threads", "4",
        "--enable-threads", "--lazy-apps", "--need-app", "--die-on-term",
        "--buffer-size", "65535",
        # Each chunk of a chunked upload may be this large (default 1 MB).
        "--chunked-input-limit", str(64 * 1024 * 1024),
        "--chunked-input-timeout", "60",
        "--add-header", "Connection: close",
        "--hook-master-start", "unix_signal:15 gracefully_kill_them_all",
        "--env", "OS_GLANCE_CONFIG_DIR=%s" % os.path.join(workdir, "etc"),
        "--logto", os.path.join(workdir, "uwsgi.log"),
    ]


def wait_until_up(ready, proc, log, failure, timeout=90):
    """Polls ``ready()`` (true once the server answers) every 0.3 s;
    raises ``failure(the end of the server's log)`` when ``proc`` exits or
    ``timeout`` seconds pass."""
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None or time.time() > deadline:
            text = ""
            if os.path.exists(log):
                with open(log) as f:
                    text = f.read()[-6000:]
            raise failure(text)
        time.sleep(0.3)


def wait_ready(url, proc, log, timeout=90):
    def ready():
        try:
            with urllib.request.urlopen(url + "/versions", timeout=2) as r:
                return r.status == 200
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False
    wait_until_up(ready, proc, log, lambda text: GlanceError(
        "Glance did not start on %s:\n%s" % (url, text)), timeout)


def stop(proc, timeout=20):
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Running:
    """A started Glance: ``url``, the uWSGI master ``process`` (its workers
    are its children), ``workdir``, the log files and ``config`` (its
    glance-api.conf)."""

    def __init__(self, url, process, workdir, db_url, config=None):
        self.url = url
        self.config = config
        self.process = process
        self.workdir = workdir
        self.db_url = db_url
        self.api_log = os.path.join(workdir, "glance-api.log")
        self.uwsgi_log = os.path.join(workdir, "uwsgi.log")


@contextlib.contextmanager
def glance_server(workdir, port=None, venv=DEFAULT_VENV,
                  import_methods=GLANCE_DEFAULT_IMPORT_METHODS, db_url=None,
                  multi_store=False, s3=None, extra_conf="", cache=False):
    """Set up and run Glance until the block ends; yields its base URL.

    ``db_url`` is the ``[database] connection`` (an empty database Glance's
    ``db_sync`` fills; default: a SQLite file in ``workdir``);
    ``multi_store`` selects the multi-store configuration, whose S3 store
    is ``s3`` = (endpoint, bucket) or, by default, a moto server started
    for the duration; ``cache`` the image cache one."""
    with glance_process(workdir, port, venv, import_methods,
                        db_url, multi_store=multi_store, s3=s3,
                        extra_conf=extra_conf, cache=cache) as running:
        yield running.url


@contextlib.contextmanager
def glance_process(workdir, port=None, venv=DEFAULT_VENV,
                   import_methods=GLANCE_DEFAULT_IMPORT_METHODS, db_url=None,
                   processes=2, multi_store=False, s3=None, extra_conf="",
                   cache=False, keystone=False, store_config=None,
                   sync=True):
    """Like ``glance_server`` but yields a ``Running``; ``keystone`` and
    ``store_config`` as in ``write_config``; ``sync=False``: ``db_url``
    already has Glance's schema (e.g. a copy of a synced SQLite file), no
    db_sync."""
    with s3_for(multi_store, s3) as s3:
        with _glance_process(workdir, port, venv, import_methods, db_url,
                             processes, multi_store, s3,
                             extra_conf, cache, keystone, store_config,
                             sync) as running:
            yield running


@contextlib.contextmanager
def _glance_process(workdir, port, venv, import_methods, db_url, processes,
                    multi_store, s3, extra_conf="", cache=False,
                    keystone=False, store_config=None, sync=True):
    venv = os.path.abspath(venv)
    if not venv_ok(venv):
        raise GlanceError("no Glance/uWSGI in %s (make conformance-glance "
                          "creates it)" % venv)
    port = port or free_port()
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise GlanceError("port %d is not free: %s" % (port, exc))
    workdir = os.path.abspath(workdir)
    conf = write_config(workdir, port, import_methods, db_url, multi_store,
                        s3, extra_conf, cache=cache, keystone=keystone,
                        store_config=store_config)
    setup_log = os.path.join(workdir, "setup.log")
    if sync:
        db_sync(venv, conf, setup_log)
    url = "http://127.0.0.1:%d" % port
    with open(os.path.join(workdir, "uwsgi.out"), "w") as out:
        proc = subprocess.Popen(uwsgi_command(venv, port, workdir,
                                              processes),
                                cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_ready(url, proc, os.path.join(workdir, "uwsgi.log"))
        yield Running(url, proc, workdir, db_url or default_db_url(workdir),
                      conf)
    finally:
        stop(proc)


class Terminated(BaseException):
    """SIGTERM arrived."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(
        prog="python -m conformance.glance_runner",
        description="Run a real Glance (SQLite or --db-url, file store, "
                    "uWSGI, no Keystone) on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default: a free one)")
    parser.add_argument("--workdir", required=True,
                        help="directory for config, database and images")
    parser.add_argument("--venv", default=DEFAULT_VENV,
                        help="virtualenv with glance and uwsgi")
    parser.add_argument("--db-url", default=None,
                        help="[database] connection: an existing, empty "
                        "database (default: sqlite file in --workdir)")
    parser.add_argument("--processes", type=int, default=2,
                        help="uWSGI worker processes (2)")
    parser.add_argument("--import-methods",
                        default=",".join(GLANCE_DEFAULT_IMPORT_METHODS),
                        help="[DEFAULT] enabled_import_methods")
    parser.add_argument("--multi-store", action="store_true",
                        help="two filesystem stores (fast, cold) and an S3 "
                        "store (cloud, on a moto server), locations shown, "
                        "copy-image (see MULTI_STORE_DEFAULTS)")
    args = parser.parse_args(argv)
    methods = tuple(m for m in args.import_methods.split(",") if m)
    # SIGTERM (make, CI, kill) must still stop uWSGI: turn it into an
    # exception so the context manager's cleanup runs.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with glance_process(args.workdir, args.port or None, args.venv,
                            methods, args.db_url, args.processes,
                            args.multi_store) as running:
            url = running.url
            print("Glance is serving on %s (uWSGI master pid %d, logs in %s)"
                  % (url, running.process.pid, args.workdir), flush=True)
            if command:
                return subprocess.call([c.replace("{url}", url)
                                        for c in command])
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except Terminated:
        return 143
    except GlanceError as exc:
        print("glance_runner: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
