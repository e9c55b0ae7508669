"""`glare migrate-from-glance` killed with SIGKILL (between batches, inside
a batch's transaction, during --copy-data) leaves no half-written image,
and a re-run finishes the job: `verify` (and `verify --data`) is clean.
The tool runs as the operator runs it: the `glare` CLI in a subprocess."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, database_url, selected_databases
from tests.migrate_from_glance.conftest import (GlanceRows, glance_db,
                                                glare_engine)

IMAGES = 40

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=selected_databases())
def source(request, tmp_path_factory):
    """A Glance database with IMAGES images (half with data)."""
    kind = request.param
    tmp = tmp_path_factory.mktemp("interrupt-%s" % kind)
    datadir = tmp / "glance-images"
    datadir.mkdir()
    with glance_db(kind, tmp) as url:
        rows = GlanceRows(url, datadir=str(datadir))
        for n in range(IMAGES):
            rows.image(data=os.urandom(3000 + n) if n % 2 else None,
                       properties={"n": str(n), "p": "v" * n},
                       tags=["t%d" % n], members=["m%d" % n])
        rows.kind = kind
        yield rows
        rows.dispose()


@pytest.fixture
def target(source, tmp_path):
    with database_url(source.kind, tmp_path) as url:
        engine = glare_engine(tmp_path, url, glance_datadir=source.datadir)
        yield engine
        engine.db.dispose()


def cli(target, source, *args, fault=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("GLARE_MIGRATE_FAULT", None)
    if fault:
        env["GLARE_MIGRATE_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "glare.cli", "--config", target.config_path,
         "migrate-from-glance", *args, "--source-db", source.url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def half_written(lines):
    """verify's differences other than whole images not (yet) there."""
    return [line for line in lines if "missing in Glare" not in line
            and not line.endswith("differences.")]


@pytest.mark.parametrize("fault", ["after-batch:2", "in-batch:3"])
def test_killed_run_then_rerun_is_complete(source, target, fault):
    killed = cli(target, source, "--batch", "7", fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    check = cli(target, source, "verify")
    assert check.returncode == 1
    assert half_written(check.stdout.splitlines()) == [], check.stdout
    missing = [line for line in check.stdout.splitlines()
               if "missing in Glare" in line]
    done = 2 if fault.startswith("after") else 2     # batches committed
    assert len(missing) == IMAGES - done * 7
    again = cli(target, source, "--batch", "7")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "%d written" % (IMAGES - done * 7) in again.stdout
    clean = cli(target, source, "verify", "--data")
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.strip().endswith("0 differences.")


def test_killed_during_copy_data_then_rerun(source, target):
    killed = cli(target, source, "--copy-data", "--batch", "10",
                 fault="copied:3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # The copy that was cut off before its switch still serves the old
    # location too: every image reads right.
    check = cli(target, source, "verify", "--data")
    assert not [line for line in check.stdout.splitlines()
                if "data in Glare" in line or "cannot be read" in line], \
        check.stdout
    again = cli(target, source, "--copy-data", "--batch", "10")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Data copied: %d images" % (IMAGES // 2 - 2) in again.stdout
    clean = cli(target, source, "verify", "--data")
    assert clean.returncode == 0, clean.stdout
    # Every active image is now served from Glare's own store only, and
    # Glance's files are untouched.
    glare_dir = os.path.join(os.path.dirname(target.config_path),
                             "glare-images")
    assert len([f for f in os.listdir(glare_dir)
                if not f.startswith(".")]) == IMAGES // 2
    assert len(os.listdir(source.datadir)) >= IMAGES // 2


def test_killed_at_a_random_moment(source, target):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("GLARE_MIGRATE_FAULT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "glare.cli", "--config", target.config_path,
         "migrate-from-glance", "--batch", "3", "--copy-data",
         "--source-db", source.url], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = cli(target, source, "--batch", "3", "--copy-data")
    assert again.returncode == 0, again.stdout + again.stderr
    clean = cli(target, source, "verify", "--data")
    assert clean.returncode == 0, clean.stdout
