"""Small helpers shared by the integration tests (not a test module)."""

import hashlib
import os
import subprocess
import sys
import uuid

import pytest
import requests

from conformance import glance_runner

ADMIN = {"X-Auth-Token": "x"}
IMAGE_PATCH = "application/openstack-images-v2.1-json-patch"


def project_headers(project, user=None, roles="member,reader"):
    """Trusted identity headers acting as ``project`` (non-admin)."""
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
            "X-User-Id": user or "user-" + project, "X-Roles": roles}


def unique(prefix="img"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def create_image(url, headers=None, session=None, **body):
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = (session or requests).post(url + "/v2/images", json=body,
                                      headers=headers or ADMIN, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()


def upload(url, image_id, data, headers=None):
    resp = requests.put(
        url + "/v2/images/%s/file" % image_id, data=data,
        headers=dict(headers or ADMIN,
                     **{"Content-Type": "application/octet-stream"}),
        timeout=60)
    return resp


def get_image(url, image_id, headers=None):
    return requests.get(url + "/v2/images/%s" % image_id,
                        headers=headers or ADMIN, timeout=30)


def md5(data):
    return hashlib.md5(data).hexdigest()


def sha512(data):
    return hashlib.sha512(data).hexdigest()


def data_files(datadir, image_id=None):
    """Regular files in the store's data directory (temp dir excluded),
    optionally only those whose name contains ``image_id``."""
    found = []
    for path in datadir.rglob("*"):
        if not path.is_file() or ".tmp" in path.relative_to(datadir).parts:
            continue
        if image_id is None or image_id in str(path.relative_to(datadir)):
            found.append(path)
    return found


def temp_files(datadir):
    tmp = datadir / ".tmp"
    return [p for p in tmp.rglob("*") if p.is_file()] if tmp.exists() else []


def glance_venv():
    """The real Glance's virtualenv (``make glance-venv``, cached under
    .cache/): its Glance serves as the reference and its data files are
    the standard metadata definitions.  Skips when it is missing, except
    in CI (``CI=true``), where it is built first within
    ``GLARE_GLANCE_VENV_TIMEOUT`` seconds (default 900) and skipped only
    if that fails."""
    venv = glance_runner.DEFAULT_VENV
    if glance_runner.venv_ok(venv):
        return venv
    if not os.environ.get("CI"):
        pytest.skip("no Glance venv in %s (make glance-venv builds it)"
                    % venv)
    timeout = int(os.environ.get("GLARE_GLANCE_VENV_TIMEOUT", "900"))
    try:
        subprocess.run(["make", "glance-venv", "PYTHON=%s" % sys.executable],
                       cwd=glance_runner.ROOT, check=True, timeout=timeout,
                       capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip("the Glance venv could not be built in time: %s" % exc)
    if not glance_runner.venv_ok(venv):
        pytest.skip("the Glance venv is incomplete after building it")
    return venv


GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")


def parse_table(text):
    """``| key | value |`` rows of a prettytable, wrapped values joined."""
    rows = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2:
            continue
        key, value = cells
        if key in ("Property", "ID") and value in ("Value", "Name", "Tags"):
            continue
        if key == "" and last is not None:
            rows[last] += value
        else:
            rows[key] = value
            last = key
    return rows


def glance_cli(server, home):
    """``run(*args, check=True)``: the ``glance`` CLI against ``server``
    (token mode, no OS_* variables, HOME=``home`` for its schema cache)."""
    env = dict(os.environ, HOME=str(home))
    for name in list(env):
        if name.startswith("OS_"):
            del env[name]

    def run(*args, check=True):
        proc = subprocess.run(
            [GLANCE, "--os-image-url", server.url, "--os-auth-token", "x"]
            + list(args), env=env, capture_output=True, text=True,
            timeout=60)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc
    run.home = home
    return run
