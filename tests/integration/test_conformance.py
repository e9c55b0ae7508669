"""The conformance suite (conformance/) as part of ``make test``.

* Against Glare on every run: a real ``glare serve`` on SQLite, the whole
  suite in a subprocess; it must pass (expected failures are the ones the
  suite marks) and actually run its tests.  Its results must also be what
  docs/compatibility.md says for Glare.
* Against a real Glance when its virtualenv is there (``make
  conformance-glance`` builds it under .cache/).  In CI (``CI=true``) a
  missing venv is built first, within ``GLARE_GLANCE_VENV_TIMEOUT`` seconds
  (default 900); if that fails or takes too long the Glance side is skipped,
  never failed.
* docs/compatibility.md lists every check of the suite with its current
  docstring and status (no server needed).
"""

import subprocess

import pytest

from conformance import glance_runner, report, run
from tests.integration.helpers import glance_venv

pytestmark = pytest.mark.integration

ROOT = run.ROOT
MIN_TESTS = 300
REGENERATE = ("regenerate with: make compatibility-doc (or make "
              "compatibility-doc-glare when only Glare changed)")


def _run(url, kind, junit):
    done = subprocess.run(
        run.pytest_command(url, kind, ["-q", "--junitxml", str(junit)]),
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    return done


def _outcomes(junit):
    results = report.parse_junit(str(junit))
    return results, run.totals(results)


def _assert_clean(done, junit):
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    results, total = _outcomes(junit)
    assert total.get("pass", 0) >= MIN_TESTS, (total, tail)
    assert not total.get("FAIL"), tail
    return results


def test_compatibility_doc_lists_every_check():
    """docs/compatibility.md has a row per test, with its current docstring
    and the status its markers imply."""
    problems = report.check(report.DOC)
    assert not problems, "\n".join(
        problems + [REGENERATE])


def test_conformance_against_glare(tmp_path):
    with run.glare_server(tmp_path / "glare") as url:
        junit = tmp_path / "glare.xml"
        done = _run(url, "glare", junit)
    results = _assert_clean(done, junit)
    problems = report.check(report.DOC, glare=results)
    assert not problems, "\n".join(
        problems + [REGENERATE])


def _rerun_failed(url, junit, tmp_path):
    """Real Glance on SQLite now and then leaves an import task pending
    for good under the full suite's load (seen twice on 2026-12-07: its
    task thread loses a 'database is locked' race); the checks that
    failed (at most run.RERUN_LIMIT) run once more against the same
    server and their second results replace the first
    (``run.rerun_failures``).  Returns (results, total, output)."""
    output = []

    def rerun(expression):
        again = tmp_path / "glance-again.xml"
        done = subprocess.run(
            run.pytest_command(url, "glance", [
                "-q", "--junitxml", str(again), "-k", expression]),
            cwd=ROOT, capture_output=True, text=True, timeout=900)
        output.append((done.stdout + done.stderr)[-4000:])
        return again
    results, _ = run.rerun_failures(junit, rerun)
    return results, run.totals(results), "".join(output)


def test_conformance_against_real_glance(tmp_path):
    venv = glance_venv()
    with glance_runner.glance_server(tmp_path / "glance", venv=venv) as url:
        junit = tmp_path / "glance.xml"
        done = _run(url, "glance", junit)
        if done.returncode == 0:
            results = _assert_clean(done, junit)
        else:
            results, total, again = _rerun_failed(url, junit, tmp_path)
            tail = (done.stdout + done.stderr)[-4000:] + again
            assert total.get("pass", 0) >= MIN_TESTS, (total, tail)
            assert not total.get("FAIL"), tail
    problems = report.check(report.DOC, glance=results)
    assert not problems, "\n".join(
        problems + [REGENERATE])


@pytest.mark.parametrize("kind", ["glare", "glance"])
def test_property_protections_pass(tmp_path, kind):
    """The property protections pass (the same protection file on both
    servers): clean, and what docs/compatibility.md says."""
    if kind == "glance":
        server = glance_runner.glance_server(
            tmp_path / kind, venv=glance_venv(), extra_conf=(
                glance_runner.property_protections_config(tmp_path)))
    else:
        server = run.glare_server(tmp_path / kind, protections=True)
    junit = tmp_path / "protections.xml"
    with server as url:
        done = subprocess.run(
            run.pytest_command(url, kind, ["-q", "--junitxml", str(junit)],
                               protections=True),
            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    results, total = _outcomes(junit)
    assert total.get("pass", 0) >= 3 and not total.get("FAIL"), total
    # This pass runs its own module only: compare that module's rows.
    problems = [p for p in report.check(report.DOC, **{kind: results})
                if p.startswith("test_property_protections::")]
    assert not problems, "\n".join(problems + [REGENERATE])
