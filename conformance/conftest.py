"""The conformance suite: the same checks against any Glance v2 endpoint.

Run it against Glare or against a real Glance; every behaviour where the two
differ shows up as a failing test on one side::

    pytest conformance --endpoint http://127.0.0.1:9292 [--server-kind glance]
    glare conformance --url http://127.0.0.1:9292

The suite needs nothing but HTTP.  Identities:

* trusted headers (default, for servers without Keystone whose context
  middleware trusts keystonemiddleware's headers, as Glance's ``context``
  filter and Glare's embedded mode do): every request carries
  ``X-Identity-Status: Confirmed`` plus ``X-Project-Id``, ``X-User-Id`` and
  ``X-Roles``.  ``--project-a``/``--project-b`` name the two projects (fresh
  random ids by default, so runs never see each other's private images).
* tokens (``--token`` for a member of project A, plus optional
  ``--token-admin``, ``--token-reader``, ``--token-b``): sent as
  ``X-Auth-Token``; project ids are learnt from the ``owner`` of an image
  each token creates.  Tests that need an identity you did not give skip.

``--server-kind glance|glare`` says which server this is.  Tests marked
``glance_deviation(reason)`` pin the correct behaviour where real Glance is
knowingly wrong: strict xfail on Glance, plain tests on Glare.  Tests marked
``glare_not_yet(reason)`` are strict xfail on Glare only.

The multi-store modules (test_stores.py, test_locations.py) need the
multi-store configuration (``python -m conformance.run glance|glare
--multi-store``); elsewhere they skip with a reason starting with
``MULTI_STORE_SKIP``, which conformance.report leaves out of the results.
The cache module (test_cache.py) likewise needs ``--cache``
(``CACHE_SKIP``), the property protection module
(test_property_protections.py) ``--property-protections``
(``PROTECTIONS_SKIP``).
"""

import uuid

import pytest
import requests

from conformance import glance_runner
# Start of the skip reason of a multi-store check in another configuration
# (conformance.report drops such skips: they are not a result).
from conformance.report import CACHE_SKIP, MULTI_STORE_SKIP, PROTECTIONS_SKIP
from conformance.client import (ADMIN_A, MEMBER_A, MEMBER_B, READER_A,
                                Client, Identity, Tracker)



def pytest_addoption(parser):
    group = parser.getgroup("conformance", "Glance v2 conformance suite")
    group.addoption("--endpoint", default=None,
                    help="unversioned URL of the image API under test, "
                         "e.g. http://127.0.0.1:9292")
    group.addoption("--server-kind", default="glare",
                    choices=("glare", "glance"),
                    help="which server --endpoint is (decides which side "
                         "known deviations are expected to fail on)")
    group.addoption("--project-a", default=None,
                    help="project id of the primary identities (trusted "
                         "header mode; default: a fresh random id)")
    group.addoption("--project-b", default=None,
                    help="project id of the second project (trusted header "
                         "mode; default: a fresh random id)")
    group.addoption("--admin-roles", default="admin,member,reader",
                    help="X-Roles of the admin identity")
    group.addoption("--token", default=None,
                    help="token of a member of project A (token mode)")
    group.addoption("--token-admin", default=None,
                    help="token with the admin role (token mode)")
    group.addoption("--token-reader", default=None,
                    help="token of a reader-only user of project A")
    group.addoption("--token-b", default=None,
                    help="token of a member of a second project B")
    group.addoption("--multi-store", action="store_true",
                    help="the endpoint has the multi-store configuration of "
                         "conformance.glance_runner (stores fast and cold): "
                         "run the multi-store checks even if it does not "
                         "say so in /v2/info/stores")
    group.addoption("--property-protections", action="store_true",
                    help="the endpoint has the property protection file "
                         "of conformance.glance_runner: run "
                         "test_property_protections.py")
    group.addoption("--cache", action="store_true",
                    help="the endpoint has an image cache (image_cache_dir "
                         "set; Glance with its cache filter): run the "
                         "cache checks (test_cache.py)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "glance_deviation(reason): real Glance is knowingly "
        "wrong here; the test pins the correct behaviour (xfail on Glance)")
    config.addinivalue_line(
        "markers", "glare_not_yet(reason): Glare does not implement this "
        "Glance behaviour yet (xfail on Glare)")
    config.addinivalue_line(
        "markers", "feature(name): the test needs an optional feature the "
        "endpoint may not offer (it skips then)")


def pytest_collection_modifyitems(config, items):
    kind = config.getoption("--server-kind")
    for item in items:
        deviation = item.get_closest_marker("glance_deviation")
        if deviation and kind == "glance":
            item.add_marker(pytest.mark.xfail(
                strict=True, reason="Glance deviation: " + _reason(deviation)))
        not_yet = item.get_closest_marker("glare_not_yet")
        if not_yet and kind == "glare":
            item.add_marker(pytest.mark.xfail(
                strict=True, reason="Glare: not yet: " + _reason(not_yet)))


def _reason(marker):
    if marker.args:
        return marker.args[0]
    return marker.kwargs.get("reason", "")


# ------------------------------------------------------------------ fixtures


class Setup:
    """Session-wide: endpoint, server kind and the identities."""

    def __init__(self, config):
        self.endpoint = config.getoption("--endpoint")
        self.kind = config.getoption("--server-kind")
        self.identities = {}
        token = config.getoption("--token")
        if token is None:
            run = uuid.uuid4().hex[:8]
            project_a = config.getoption("--project-a") or "conf-a-" + run
            project_b = config.getoption("--project-b") or "conf-b-" + run
            admin_roles = [r.strip() for r in
                           config.getoption("--admin-roles").split(",")
                           if r.strip()]
            self.identities = {
                ADMIN_A: Identity(ADMIN_A, project_a, "admin-a-" + run,
                                  admin_roles),
                MEMBER_A: Identity(MEMBER_A, project_a, "member-a-" + run,
                                   ("member", "reader")),
                READER_A: Identity(READER_A, project_a, "reader-a-" + run,
                                   ("reader",)),
                MEMBER_B: Identity(MEMBER_B, project_b, "member-b-" + run,
                                   ("member", "reader")),
            }
            self.token_mode = False
        else:
            self.token_mode = True
            tokens = {MEMBER_A: token,
                      ADMIN_A: config.getoption("--token-admin"),
                      READER_A: config.getoption("--token-reader"),
                      MEMBER_B: config.getoption("--token-b")}
            for name, tok in tokens.items():
                if tok:
                    self.identities[name] = Identity(name, token=tok)
        self._learnt = False

    def learn_projects(self):
        """Token mode: a token's project is the owner of what it creates."""
        if not self.token_mode or self._learnt:
            return
        self._learnt = True
        for name, ident in self.identities.items():
            if name == READER_A:
                continue
            tracker = Tracker()
            client = Client(self.endpoint, ident, tracker)
            resp = client.create_image_raw({"name": "conformance-whoami"})
            if resp.status_code == 201:
                ident.project_id = resp.json()["owner"]
            tracker.cleanup()
        reader = self.identities.get(READER_A)
        member = self.identities.get(MEMBER_A)
        if reader and member:
            reader.project_id = member.project_id


@pytest.fixture(scope="session")
def setup(request):
    s = Setup(request.config)
    if not s.endpoint:
        pytest.skip("no --endpoint given: the conformance suite needs a "
                    "running Glance v2 endpoint")
    s.learn_projects()
    return s


@pytest.fixture(scope="session")
def server_kind(setup):
    return setup.kind


def _client_factory(setup, tracker):
    def make(name):
        ident = setup.identities.get(name)
        if ident is None:
            pytest.skip("identity %s was not given (token mode)" % name)
        return Client(setup.endpoint, ident, tracker)
    return make


@pytest.fixture
def tracker(setup):
    t = Tracker()
    yield t
    admin = setup.identities.get(ADMIN_A)
    t.cleanup(Client(setup.endpoint, admin, Tracker()) if admin else None)


@pytest.fixture
def clients(setup, tracker):
    """``clients(name)``: a Client for ``admin_a``, ``member_a``, ..."""
    return _client_factory(setup, tracker)


@pytest.fixture
def admin(clients):
    """Admin (role ``admin``) of project A."""
    return clients(ADMIN_A)


@pytest.fixture
def member(clients):
    """Member of project A: the ordinary user most tests act as."""
    return clients(MEMBER_A)


@pytest.fixture
def reader(clients):
    """Reader-only user of project A."""
    return clients(READER_A)


@pytest.fixture
def member_b(clients):
    """Member of project B: the other project of sharing/isolation tests."""
    return clients(MEMBER_B)


@pytest.fixture
def anonymous(setup, tracker):
    """No identity headers at all (version documents need none)."""
    return Client(setup.endpoint, Identity("anonymous", anonymous=True),
                  tracker)


@pytest.fixture(scope="module")
def module_clients(setup):
    """Like ``clients`` but for module-scoped data (cleaned at module end)."""
    t = Tracker()
    yield _client_factory(setup, t)
    admin = setup.identities.get(ADMIN_A)
    t.cleanup(Client(setup.endpoint, admin, Tracker()) if admin else None)


@pytest.fixture(scope="session")
def discovery(setup):
    """What the endpoint offers: version ids and import methods."""
    s = requests.get(setup.endpoint.rstrip("/") + "/versions", timeout=30)
    versions = [v["id"] for v in s.json().get("versions", [])]
    ident = (setup.identities.get(MEMBER_A)
             or next(iter(setup.identities.values())))
    r = requests.get(setup.endpoint.rstrip("/") + "/v2/info/import",
                     headers=ident.headers(), timeout=30)
    methods = []
    if r.status_code == 200:
        methods = r.json().get("import-methods", {}).get("value", [])
    return {"versions": versions, "import_methods": methods,
            "info_import_status": r.status_code}


@pytest.fixture(scope="session")
def multi_store(setup, request):
    """The stores of the multi-store configuration ({id: description}).

    Skips (reason starting with MULTI_STORE_SKIP) unless ``--multi-store``
    says the endpoint has that configuration or its /v2/info/stores lists
    the same stores.  With ``--multi-store`` nothing is discovered: a server
    that does not answer /v2/info/stores fails the checks instead."""
    wanted = dict(glance_runner.MULTI_STORE_DESCRIPTIONS)
    if request.config.getoption("--multi-store"):
        return wanted
    ident = (setup.identities.get(MEMBER_A)
             or next(iter(setup.identities.values())))
    resp = requests.get(setup.endpoint.rstrip("/") + "/v2/info/stores",
                        headers=ident.headers(), timeout=30)
    offered = {}
    if resp.status_code == 200:
        offered = {s.get("id"): s.get("description")
                   for s in resp.json().get("stores", [])}
    if offered != wanted:
        pytest.skip("%s GET /v2/info/stores is %d %s; these checks need the "
                    "multi-store configuration (python -m conformance.run "
                    "glance|glare --multi-store)"
                    % (MULTI_STORE_SKIP, resp.status_code,
                       sorted(offered) or "(no stores)"))
    return wanted


@pytest.fixture(scope="session")
def image_cache(request):
    """Skips (reason starting with CACHE_SKIP) unless ``--cache`` says the
    endpoint has an image cache: without one the cache API is a 404 on
    both servers, which test_cache.py checks only in that run."""
    if not request.config.getoption("--cache"):
        pytest.skip("%s these checks need image_cache_dir (python -m "
                    "conformance.run glance|glare --cache)" % CACHE_SKIP)
    return True


@pytest.fixture(scope="session")
def property_protections(request):
    """Skips (reason starting with PROTECTIONS_SKIP) unless
    ``--property-protections`` says the endpoint runs with the protection
    file of ``glance_runner.PROPERTY_PROTECTIONS``."""
    if not request.config.getoption("--property-protections"):
        pytest.skip("%s these checks need the property protection file "
                    "(python -m conformance.run glance|glare "
                    "--property-protections)" % PROTECTIONS_SKIP)
    return True
