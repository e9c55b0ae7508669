"""A real OpenStack Keystone on 127.0.0.1 for the tests and the Tempest
runner.

Keystone (PyPI ``keystone``, the release of Glance 33's cycle) lives in its
own venv, ``.cache/keystone-venv`` (``make keystone-venv``; or
``$GLARE_KEYSTONE_VENV``), with gunicorn to serve it.  ``keystone_server
(workdir)`` sets up a deployment the way an operator would, in a fresh
directory: a SQLite database made by ``keystone-manage db_sync``, fernet
and credential keys, ``keystone-manage bootstrap`` (the ``admin`` user,
project and role, region ``RegionOne``, the identity service and its
endpoints), then serves ``keystone.wsgi.api:application`` with gunicorn
on a free port until the block ends.  Keystone's own policies are its
defaults (scope and new defaults enforced).

``Keystone`` (what the block yields) does the administration with a
system-scoped admin token: projects, users with roles
(``add_user``; their passwords kept in ``passwords``), service and
endpoints (``register_service``), and hands out keystoneauth1 sessions and
tokens for a user scoped to a project, a domain or the system.
``keystone_with_users(workdir, users)`` is a test module's Keystone:
skipped without the venv, with its users made.  keystoneauth1 is in the
main venv, so the tests speak to Keystone exactly as clients do.
"""

import contextlib
import fcntl
import os
import sqlite3
import subprocess
import uuid

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from conformance import glance_runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("GLARE_KEYSTONE_VENV") or os.path.join(
    ROOT, ".cache", "keystone-venv")
REGION = "RegionOne"
ADMIN_PASSWORD = "admin-secret"
DOMAIN = "default"

KEYSTONE_CONF = """\
[DEFAULT]
debug = false
log_file = {workdir}/keystone.log

[database]
# Waits up to 30 s for SQLite's lock (keystone-manage and the server
# may overlap); WAL is set after db_sync.
connection = sqlite:///{workdir}/keystone.sqlite?timeout=30

[identity]
# bcrypt's minimum: Tempest creates users for every test class, and the
# default cost makes each one take seconds of CPU.
password_hash_rounds = 4

[token]
provider = fernet
# Long enough for a whole Tempest run.
expiration = 14400

[fernet_tokens]
key_repository = {workdir}/fernet-keys

[fernet_receipts]
key_repository = {workdir}/fernet-receipts

[credential]
key_repository = {workdir}/credential-keys

[oslo_policy]
enforce_scope = true
enforce_new_defaults = true
"""


class KeystoneError(RuntimeError):
    """Keystone could not be set up or did not start."""


def _ready(venv):
    python = os.path.join(venv, "bin", "python")
    return (os.access(os.path.join(venv, "bin", "keystone-manage"), os.X_OK)
            and os.access(os.path.join(venv, "bin", "gunicorn"), os.X_OK)
            and subprocess.run([python, "-c", "import keystone.wsgi"],
                               capture_output=True,
                               timeout=120).returncode == 0)


def ensure_venv(venv=VENV):
    """Keystone's venv, built with ``make keystone-venv`` when missing (once,
    under a file lock, so parallel test workers build it once).  Returns
    None and the build's error when it cannot be built."""
    if _ready(venv):
        return venv, ""
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    with open(venv + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ready(venv):
            return venv, ""
        built = subprocess.run(
            ["make", "-s", "-C", ROOT, "keystone-venv",
             "KEYSTONE_VENV=" + venv],
            capture_output=True, text=True, timeout=1800)
        if built.returncode or not _ready(venv):
            return None, (built.stderr or built.stdout)[-800:]
    return venv, ""


def venv_or_skip():
    """For tests: the venv, or skip with the reason it cannot be built."""
    venv, error = ensure_venv()
    if venv is None:
        pytest.skip("Keystone's venv (%s) could not be built by `make "
                    "keystone-venv`: %s" % (VENV, error))
    return venv


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(venv, workdir, *args):
    # keystone-manage reads only --config-file (or /etc/keystone), never
    # OS_KEYSTONE_CONFIG_DIR: name the file, and run in the workdir so
    # nothing can land anywhere else.
    conf = os.path.join(workdir, "etc", "keystone.conf")
    done = subprocess.run(
        [os.path.join(venv, "bin", "keystone-manage"), "--config-file",
         conf] + list(args),
        cwd=workdir, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise KeystoneError("keystone-manage %s failed:\n%s"
                            % (args[0], done.stderr[-4000:]))


def _setup(venv, workdir, url):
    etc = os.path.join(workdir, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "keystone.conf"), "w") as f:
        f.write(KEYSTONE_CONF.format(workdir=workdir))
    for keys in ("fernet-keys", "fernet-receipts", "credential-keys"):
        os.makedirs(os.path.join(workdir, keys), mode=0o700, exist_ok=True)
    me = [str(os.getuid()), str(os.getgid())]
    _manage(venv, workdir, "db_sync")
    # WAL (kept in the file): readers no longer block the writer.
    with contextlib.closing(sqlite3.connect(
            os.path.join(workdir, "keystone.sqlite"))) as db:
        db.execute("PRAGMA journal_mode=WAL")
    _manage(venv, workdir, "fernet_setup", "--keystone-user", me[0],
            "--keystone-group", me[1])
    _manage(venv, workdir, "receipt_setup", "--keystone-user", me[0],
            "--keystone-group", me[1])
    _manage(venv, workdir, "credential_setup", "--keystone-user", me[0],
            "--keystone-group", me[1])
    _manage(venv, workdir, "bootstrap",
            "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-region-id", REGION,
            "--bootstrap-public-url", url + "/v3",
            "--bootstrap-internal-url", url + "/v3",
            "--bootstrap-admin-url", url + "/v3")


def _wait_ready(url, proc, log, timeout=90):
    def ready():
        try:
            return requests.get(url + "/v3", timeout=2).ok
        except requests.RequestException:
            return False
    glance_runner.wait_until_up(ready, proc, log, lambda text: KeystoneError(
        "Keystone did not start on %s:\n%s" % (url, text)), timeout)


@contextlib.contextmanager
def keystone_server(workdir, venv=None):
    """Set up and serve a Keystone until the block ends; yields a
    ``Keystone``.  ``venv`` defaults to the built ``.cache/keystone-venv``
    (KeystoneError when there is none).

    One process with one thread: Keystone's transactions read before they
    write, and on SQLite two of them in parallel end in "database is
    locked" (a 500) whatever the busy timeout (Tempest's parallel classes
    hit it at once).  Serialised, every request is short enough."""
    # Imported here: the conftest pulls in the suite's fixtures.
    from tests.conftest import stop_process_group
    venv = os.path.abspath(venv or VENV)
    if not _ready(venv):
        raise KeystoneError("no Keystone/gunicorn in %s (make keystone-venv "
                            "builds it)" % venv)
    workdir = os.path.abspath(workdir)
    port = _free_port()
    url = "http://127.0.0.1:%d" % port
    _setup(venv, workdir, url)
    env = dict(os.environ, OS_KEYSTONE_CONFIG_DIR=os.path.join(workdir,
                                                               "etc"))
    log = os.path.join(workdir, "gunicorn.log")
    # Keystone's oslo.config parses sys.argv: a worker must not see
    # gunicorn's arguments, so it loads the app through this shim.
    with open(os.path.join(workdir, "keystone_app.py"), "w") as f:
        f.write("import sys\nsys.argv = sys.argv[:1]\n"
                "from keystone.wsgi.api import application  # noqa\n")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [os.path.join(venv, "bin", "gunicorn"), "--bind",
             "127.0.0.1:%d" % port, "--workers", "1",
             "--threads", "1", "--worker-class", "sync",
             "--timeout", "120", "--pythonpath", workdir,
             "--no-control-socket",
             "keystone_app:application"],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        _wait_ready(url, proc, log)
        yield Keystone(url, workdir, proc)
    finally:
        stop_process_group(proc)


@contextlib.contextmanager
def keystone_with_users(workdir, users=None):
    """For a test module: skip when Keystone's venv cannot be built, else
    ``keystone_server(workdir)`` with ``users`` ({name: (project, roles)})
    added (their passwords in ``.passwords``)."""
    venv_or_skip()
    with keystone_server(workdir) as ks:
        for name, (project, roles) in (users or {}).items():
            ks.add_user(name, project, roles)
        yield ks


class Keystone:
    """A running Keystone: its ``url`` (``auth_url`` is ``url + '/v3'``)
    and administration through a system-scoped admin session."""

    def __init__(self, url, workdir, process):
        self.url = url
        self.auth_url = url + "/v3"
        self.workdir = workdir
        self.process = process
        self.admin = self.session("admin", ADMIN_PASSWORD, system="all")
        self._roles = {}
        self.passwords = {}     # user name -> password, of add_user

    # -- sessions and tokens ------------------------------------------------

    def session(self, username, password, project=None, domain=None,
                system=None):
        """A keystoneauth1 session for the user, scoped to ``project``
        (name), ``domain`` (id) or ``system`` ("all")."""
        scope = {}
        if project:
            scope = {"project_name": project,
                     "project_domain_id": DOMAIN}
        elif domain:
            scope = {"domain_id": domain}
        elif system:
            scope = {"system_scope": system}
        auth = v3.Password(auth_url=self.auth_url, username=username,
                           password=password, user_domain_id=DOMAIN, **scope)
        return ks_session.Session(auth=auth)

    def token(self, username, password, **scope):
        """A token string for the user (see ``session`` for the scope)."""
        return self.session(username, password, **scope).get_token()

    # -- administration -----------------------------------------------------

    def _call(self, method, path, **body):
        resp = self.admin.request(self.auth_url + path, method,
                                  json=body or None, raise_exc=False)
        if resp.status_code >= 400:
            raise KeystoneError("%s %s: %d %s" % (method, path,
                                                  resp.status_code,
                                                  resp.text[:500]))
        return resp.json() if resp.content else {}

    def _find(self, collection, name):
        found = self._call("GET", "/%s?name=%s" % (collection, name))
        items = found[collection]
        return items[0] if items else None

    def role_id(self, name):
        """The id of role ``name``, created when Keystone has none."""
        if name not in self._roles:
            role = self._find("roles", name) or self._call(
                "POST", "/roles", role={"name": name})["role"]
            self._roles[name] = role["id"]
        return self._roles[name]

    def project(self, name):
        """The id of project ``name`` in the default domain (created)."""
        found = self._find("projects", name)
        if found:
            return found["id"]
        return self._call("POST", "/projects", project={
            "name": name, "domain_id": DOMAIN})["project"]["id"]

    def add_user(self, name, project, roles, password=None):
        """A user with ``roles`` on ``project`` (a name; created if
        needed).  Returns (user id, password)."""
        password = password or "pw-" + uuid.uuid4().hex[:12]
        project_id = self.project(project)
        user = self._find("users", name) or self._call(
            "POST", "/users", user={"name": name, "password": password,
                                    "domain_id": DOMAIN})["user"]
        self._call("PATCH", "/users/%s" % user["id"],
                   user={"password": password})
        for role in roles:
            self._call("PUT", "/projects/%s/users/%s/roles/%s"
                       % (project_id, user["id"], self.role_id(role)))
        self.passwords[name] = password
        return user["id"], password

    def grant_domain_role(self, user_id, role, domain=DOMAIN):
        self._call("PUT", "/domains/%s/users/%s/roles/%s"
                   % (domain, user_id, self.role_id(role)))

    def grant_system_role(self, user_id, role):
        self._call("PUT", "/system/users/%s/roles/%s"
                   % (user_id, self.role_id(role)))

    def register_service(self, service_type, name, url):
        """The service of ``service_type`` (created once) with public,
        internal and admin endpoints at ``url`` in ``REGION`` (moved there
        when they exist: each Glare of a parametrised module listens on
        its own port); returns the service id."""
        found = [s for s in self._call(
            "GET", "/services?type=%s" % service_type)["services"]
            if s["name"] == name]
        service = found[0] if found else self._call(
            "POST", "/services", service={"type": service_type,
                                          "name": name})["service"]
        endpoints = self._call("GET", "/endpoints?service_id=%s"
                               % service["id"])["endpoints"]
        for endpoint in endpoints:
            self._call("PATCH", "/endpoints/%s" % endpoint["id"],
                       endpoint={"url": url})
        have = {e["interface"] for e in endpoints}
        for interface in ("public", "internal", "admin"):
            if interface not in have:
                self._call("POST", "/endpoints", endpoint={
                    "service_id": service["id"], "interface": interface,
                    "url": url, "region_id": REGION})
        return service["id"]

    def add_region_endpoints(self, service_id, url, region):
        """Public, internal and admin endpoints of ``service_id`` at
        ``url`` in ``region`` (created first): a second region, as
        glance-download's remote Glance."""
        if not any(r["id"] == region for r in self._call(
                "GET", "/regions")["regions"]):
            self._call("POST", "/regions", region={"id": region})
        for interface in ("public", "internal", "admin"):
            self._call("POST", "/endpoints", endpoint={
                "service_id": service_id, "interface": interface,
                "url": url, "region_id": region})

    def authtoken_section(self, username, password, project="service"):
        """The ``[keystone_authtoken]`` section a service (Glare, Glance)
        validates tokens with, as user ``username`` of ``project``."""
        return ("[keystone_authtoken]\n"
                "www_authenticate_uri = %(auth)s\n"
                "auth_url = %(auth)s\n"
                "auth_type = password\n"
                "username = %(user)s\n"
                "password = %(password)s\n"
                "user_domain_id = default\n"
                "project_name = %(project)s\n"
                "project_domain_id = default\n"
                "region_name = %(region)s\n"
                "service_token_roles_required = true\n"
                % {"auth": self.auth_url, "user": username,
                   "password": password, "project": project,
                   "region": REGION})

    def glare_sections(self, username, password=None):
        """The sections of a Glare behind keystonemiddleware validating
        tokens as ``username`` (password: the one ``add_user`` gave):
        ``[paste_deploy] flavor = keystone`` and ``authtoken_section``."""
        return ("\n[paste_deploy]\nflavor = keystone\n\n"
                + self.authtoken_section(
                    username, password or self.passwords[username]))
