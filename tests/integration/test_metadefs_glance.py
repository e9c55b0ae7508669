"""Glance's standard metadata definitions, loaded into a real Glance 33
(``glance-manage db load_metadefs``) and into Glare (``glare db
load-metadefs``) from the same Glance virtualenv, render the same: every
namespace, its objects, properties, tags and associations, byte for byte
but for the times.  Needs the Glance venv (``make glance-venv``; built in
CI, see ``helpers.glance_venv``); SQLite on both sides."""

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from conformance import glance_runner
from tests.conftest import glare_server
from tests.integration.helpers import glance_venv

pytestmark = pytest.mark.integration

TIMES = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
ADMIN = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p",
         "X-User-Id": "u", "X-Roles": "admin,member,reader"}


def _load_into_glance(venv, workdir):
    data = os.path.join(venv, "etc", "glance", "metadefs")
    subprocess.run([os.path.join(venv, "bin", "glance-manage"),
                    "--config-file",
                    os.path.join(workdir, "etc", "glance-api.conf"),
                    "db", "load_metadefs", "--path", data],
                   check=True, capture_output=True, timeout=300)


def _load_into_glare(server, venv):
    done = subprocess.run(
        [sys.executable, "-m", "glare.cli", "--config", server.config, "db",
         "load-metadefs", venv], capture_output=True, text=True, timeout=300,
        cwd=glance_runner.ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def _paths(url):
    body = requests.get(url + "/v2/metadefs/namespaces",
                        params={"limit": 1000}, headers=ADMIN,
                        timeout=30).json()
    paths = []
    for ns in sorted(n["namespace"] for n in body["namespaces"]):
        base = "/v2/metadefs/namespaces/" + ns
        paths += [base, base + "/objects", base + "/properties",
                  base + "/tags", base + "/resource_types"]
    return paths


def _get(url, path):
    resp = requests.get(url + path, headers=ADMIN, timeout=30)
    return resp.status_code, TIMES.sub("T", resp.text)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """(Glance URL, Glare URL), each with the standard definitions."""
    venv = glance_venv()
    tmp = tmp_path_factory.mktemp("metadefs-vs-glance")
    with glance_runner.glance_server(tmp / "glance", venv=venv) as glance:
        _load_into_glance(venv, str(tmp / "glance"))
        (tmp / "glare").mkdir()
        url = "sqlite:///%s" % (tmp / "glare" / "glare.sqlite")
        with glare_server(tmp / "glare", url) as glare:
            _load_into_glare(glare, venv)
            yield glance, glare.url


def test_same_namespaces(both):
    glance, glare = both
    paths = _paths(glance)
    assert len(paths) >= 5 * 30
    assert _paths(glare) == paths


def test_every_definition_renders_as_in_glance(both):
    glance, glare = both
    differences = [path for path in _paths(glance)
                   if _get(glance, path) != _get(glare, path)]
    assert differences == []


def test_resource_types_and_a_prefixed_namespace(both):
    glance, glare = both
    types = {}
    for url in (glance, glare):
        body = json.loads(_get(url, "/v2/metadefs/resource_types")[1])
        types[url] = sorted(json.dumps(t) for t in body["resource_types"])
    assert types[glance] == types[glare]
    path = ("/v2/metadefs/namespaces/OS::Compute::Libvirt?"
            "resource_type=OS::Nova::Flavor")
    assert _get(glance, path) == _get(glare, path)
    assert '"hw:serial_port_count"' in _get(glare, path)[1]
