"""A plain ``pip install .`` (no extras) gives a Glare that starts and serves.

The shared development venv has every extra installed, so a dependency
missing from setup.py's install_requires (cryptography for oslo.utils'
format inspector, the schema files) goes unnoticed there.  This test builds
a venv with nothing but ``pip install <project>``, runs ``glare db upgrade``
and ``glare serve`` from it on SQLite, and uploads and downloads an image.

The venv is cached in ``.cache/plain-venv`` and rebuilt only when setup.py
changes (its sha256 is kept in the venv); on every run Glare itself is
reinstalled into it without dependencies, so the code tested is the
working tree's.  A cached run takes a few seconds.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, free_port, stop_process_group

pytestmark = pytest.mark.integration

VENV = os.path.join(ROOT, ".cache", "plain-venv")
KEY_FILE = os.path.join(VENV, ".setup-py-sha256")
# Everything of the tree that is not the project: never copied for a build.
# The top-level names only at the top (``artifacts/data`` is code, ``data``
# beside it is make run's store); the others anywhere.
TOP_LEVEL_NOT_PROJECT = {".git", ".venv", ".cache", "data", "build", "dist",
                         "bench", "docs"}
ANYWHERE_NOT_PROJECT = shutil.ignore_patterns("*.egg-info", "__pycache__",
                                              ".pytest_cache")


def NOT_PROJECT(directory, names):
    ignored = set(ANYWHERE_NOT_PROJECT(directory, names))
    if os.path.abspath(directory) == os.path.abspath(ROOT):
        ignored |= TOP_LEVEL_NOT_PROJECT & set(names)
    return ignored


# Bump when plain_venv() builds the venv differently.
RECIPE = b"2"


def _setup_key():
    with open(os.path.join(ROOT, "setup.py"), "rb") as f:
        return hashlib.sha256(RECIPE + f.read()).hexdigest()


def _env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(),
                          **kw)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (
        " ".join(args), proc.stdout[-4000:], proc.stderr[-4000:])
    return proc.stdout


def plain_venv(source):
    """The cached venv, with the project at ``source`` installed."""
    pip = [os.path.join(VENV, "bin", "python"), "-m", "pip", "-q"]
    key = _setup_key()
    cached = None
    if os.path.exists(KEY_FILE):
        with open(KEY_FILE) as f:
            cached = f.read().strip()
    if cached != key:
        shutil.rmtree(VENV, ignore_errors=True)
        _run([sys.executable, "-m", "venv", "--clear", VENV])
        # The dependencies exactly as a user's `pip install .` gets them.
        _run(pip + ["install", source])
        # Build tools for the quick reinstalls below (no build isolation,
        # so no download); a Python 3.11 venv has setuptools already.
        _run(pip + ["install", "--upgrade", "setuptools", "wheel"])
        with open(KEY_FILE, "w") as f:
            f.write(key)
    else:
        # Dependencies unchanged: refresh only Glare's own code.
        _run(pip + ["install", "--no-deps", "--no-build-isolation",
                    "--force-reinstall", source])
    return VENV


@contextlib.contextmanager
def serving(glare, config, log):
    with open(log, "w") as out:
        proc = subprocess.Popen([glare, "--config", config, "serve"],
                                stdout=out, stderr=subprocess.STDOUT,
                                cwd=os.path.dirname(config), env=_env(),
                                start_new_session=True)
    try:
        yield proc
    finally:
        stop_process_group(proc)


def test_plain_pip_install_starts_and_stores_an_image(tmp_path):
    source = str(tmp_path / "src")
    shutil.copytree(ROOT, source, ignore=NOT_PROJECT)
    venv = plain_venv(source)
    python = os.path.join(venv, "bin", "python")
    # The installed copy is what runs, not a source tree on sys.path.
    where = _run([python, "-c", "import glare; print(glare.__file__)"],
                 cwd=str(tmp_path)).strip()
    assert "site-packages" in where, where
    # No extra came along by accident (s3's boto3 is one).
    extras = subprocess.run([python, "-c", "import boto3"],
                            capture_output=True, env=_env())
    assert extras.returncode != 0, "the plain venv must not have extras"

    port = free_port()
    config = tmp_path / "glare.conf"
    config.write_text(
        "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 1\n"
        "[database]\nconnection = sqlite:///%s\n"
        "[glance_store]\nfilesystem_store_datadir = %s\n"
        % (port, tmp_path / "glare.sqlite", tmp_path / "images"))
    glare = os.path.join(venv, "bin", "glare")
    _run([glare, "--config", str(config), "db", "upgrade"],
         cwd=str(tmp_path))

    url = "http://127.0.0.1:%d" % port
    log = tmp_path / "server.log"
    with serving(glare, str(config), str(log)) as proc:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(url + "/healthcheck", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, "Glare exited:\n" + log.read_text()
            assert time.time() < deadline, "no start:\n" + log.read_text()
            time.sleep(0.2)
        headers = {"X-Auth-Token": "x"}
        resp = requests.post(url + "/v2/images", headers=headers, json={
            "name": "plain", "disk_format": "raw",
            "container_format": "bare"})
        assert resp.status_code == 201, resp.text
        image_id = resp.json()["id"]
        data = os.urandom(4096)
        resp = requests.put(
            url + "/v2/images/%s/file" % image_id, data=data,
            headers=dict(headers, **{
                "Content-Type": "application/octet-stream"}))
        assert resp.status_code == 204, resp.text
        image = requests.get(url + "/v2/images/" + image_id,
                             headers=headers).json()
        assert (image["status"], image["size"]) == ("active", 4096)
        resp = requests.get(url + "/v2/images/%s/file" % image_id,
                            headers=headers)
        assert resp.status_code == 200 and resp.content == data
    assert "Traceback" not in log.read_text()
