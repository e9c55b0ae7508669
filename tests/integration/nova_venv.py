"""Nova's venv for the tests that drive ``nova.image.glance.API``.

``python()`` returns the interpreter of ``.cache/nova-venv`` (or of
``$GLARE_NOVA_VENV``), building it with ``make nova-venv`` first when it is
missing: the same cached venv ``make test`` prepares, built once (under a
file lock, so parallel test workers build it once).  Only when it cannot
be built (no package index reachable, ...) do the callers skip, with the
build's own error as the reason.
"""

import fcntl
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VENV = os.environ.get("GLARE_NOVA_VENV") or os.path.join(ROOT, ".cache",
                                                         "nova-venv")
PROBE = os.path.join(ROOT, "tests", "integration", "nova_image_probe.py")


def _ready(python):
    return os.access(python, os.X_OK) and subprocess.run(
        [python, "-c", "import nova.image.glance"], capture_output=True,
        timeout=120).returncode == 0


def python():
    """The Nova venv's interpreter; skips the test when it cannot be
    built."""
    python = os.path.join(VENV, "bin", "python")
    if _ready(python):
        return python
    os.makedirs(os.path.dirname(VENV), exist_ok=True)
    with open(VENV + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _ready(python):
            built = subprocess.run(
                ["make", "-s", "-C", ROOT, "nova-venv", "NOVA_VENV=" + VENV],
                capture_output=True, text=True, timeout=1800)
            if built.returncode or not _ready(python):
                pytest.skip("Nova's venv (%s) could not be built by `make "
                            "nova-venv`: %s" % (VENV, (built.stderr or
                                                       built.stdout)[-800:]))
    return python


def probe(python, **args):
    """Run nova_image_probe.py in Nova's venv; returns its JSON."""
    done = subprocess.run([python, PROBE, json.dumps(args)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)
