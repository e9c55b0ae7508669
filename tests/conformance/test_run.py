"""conformance.run's re-run of a real Glance's few failed checks
(``rerun_failures``; tests/integration/test_conformance.py uses it): which
checks run again and how their second results replace the first.  Junit
files are written by hand; the re-run is a function that returns one."""

import pathlib
import subprocess
import sys

import pytest

from conformance import run

ROOT = run.ROOT


def junit(path, cases):
    """A pytest-style junit file: ``cases`` are (module, name, outcome)
    with outcome pass, FAIL, error or skip."""
    rows = []
    for module, name, outcome in cases:
        inner = {"pass": "", "FAIL": '<failure message="boom"/>',
                 "error": '<error message="setup"/>',
                 "skip": '<skipped type="pytest.skip" message="no"/>'}[outcome]
        rows.append('<testcase classname="conformance.%s" name="%s" '
                    'time="0.1">%s</testcase>' % (module, name, inner))
    path.write_text('<?xml version="1.0" encoding="utf-8"?><testsuites>'
                    '<testsuite name="pytest">%s</testsuite></testsuites>'
                    % "".join(rows))
    return path


class Rerun:
    """Records the expression; answers with the given junit cases (None:
    writes no file)."""

    def __init__(self, tmp_path, cases):
        self.path = tmp_path / "again.xml"
        self.cases = cases
        self.asked = []

    def __call__(self, expression):
        self.asked.append(expression)
        if self.cases is not None:
            junit(self.path, self.cases)
        return self.path


FIRST = [("test_list", "test_ok", "pass"),
         ("test_import", "test_flaky", "FAIL"),
         ("test_data", "test_param[a]", "pass"),
         ("test_data", "test_param[b]", "FAIL"),
         ("test_tasks", "test_skipped", "skip")]


def test_a_rerun_that_passes_replaces_the_failures(tmp_path):
    rerun = Rerun(tmp_path, [("test_data", "test_param[a]", "pass"),
                             ("test_data", "test_param[b]", "pass"),
                             ("test_import", "test_flaky", "pass")])
    results, checks = run.rerun_failures(junit(tmp_path / "j.xml", FIRST),
                                         rerun)
    assert checks == ["test_data::test_param", "test_import::test_flaky"]
    # Once, both checks in one -k expression (every parametrization).
    assert rerun.asked == ["(test_data and test_param) or "
                           "(test_import and test_flaky)"]
    assert results["test_import::test_flaky"] == {"pass": 1}
    assert results["test_data::test_param"] == {"pass": 2}
    assert results["test_list::test_ok"] == {"pass": 1}
    assert run.totals(results) == {"pass": 4, "skip": 1}


def test_a_rerun_that_fails_again_stays_failed(tmp_path):
    rerun = Rerun(tmp_path, [("test_import", "test_flaky", "error"),
                             ("test_data", "test_param[a]", "pass"),
                             ("test_data", "test_param[b]", "pass")])
    results, _ = run.rerun_failures(junit(tmp_path / "j.xml", FIRST), rerun)
    assert results["test_import::test_flaky"] == {"FAIL": 1}
    assert results["test_data::test_param"] == {"pass": 2}
    assert run.totals(results)["FAIL"] == 1


@pytest.mark.parametrize("second", [
    None,                                     # the re-run wrote no file
    [],                                       # ... or ran nothing
    [("test_list", "test_ok", "FAIL")],       # ... or only other checks
])
def test_a_check_the_rerun_did_not_report_stays_failed(tmp_path, second):
    rerun = Rerun(tmp_path, second)
    results, checks = run.rerun_failures(junit(tmp_path / "j.xml", FIRST),
                                         rerun)
    assert len(rerun.asked) == 1 and len(checks) == 2
    assert results["test_import::test_flaky"] == {"FAIL": 1}
    assert results["test_data::test_param"] == {"pass": 1, "FAIL": 1}
    # A check that had passed keeps its first result.
    assert results["test_list::test_ok"] == {"pass": 1}


def test_more_failures_than_the_limit_are_not_rerun(tmp_path):
    cases = [("test_m%d" % n, "test_c%d" % n, "FAIL")
             for n in range(run.RERUN_LIMIT + 1)] + [("test_list", "test_ok",
                                                      "pass")]
    rerun = Rerun(tmp_path, [(m, c, "pass") for m, c, _ in cases])
    results, checks = run.rerun_failures(junit(tmp_path / "j.xml", cases),
                                         rerun)
    assert (rerun.asked, checks) == ([], [])
    assert run.totals(results) == {"FAIL": run.RERUN_LIMIT + 1, "pass": 1}
    # Exactly the limit still runs again.
    rerun = Rerun(tmp_path, [])
    run.rerun_failures(junit(tmp_path / "k.xml", cases[1:]), rerun)
    assert len(rerun.asked) == 1


def test_a_clean_run_is_not_rerun(tmp_path):
    rerun = Rerun(tmp_path, [])
    results, checks = run.rerun_failures(
        junit(tmp_path / "j.xml", [("test_list", "test_ok", "pass")]), rerun)
    assert (rerun.asked, checks, dict(results)) == (
        [], [], {"test_list::test_ok": {"pass": 1}})


def test_the_expression_selects_those_checks_in_pytest():
    """The -k expression is valid pytest and collects the two checks'
    tests of the suite (no server needed to collect)."""
    keys = ["test_list::test_list_body_shape",
            "test_versions::test_versions_document_is_200"]
    names = [key.split("::")[1] for key in keys]
    for module, name in (key.split("::") for key in keys):
        assert "def %s(" % name in pathlib.Path(
            ROOT, "conformance", module + ".py").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "--collect-only",
         "-q", "-p", "no:cacheprovider", "--endpoint", "http://127.0.0.1:9",
         "-k", run.rerun_expression(keys)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected
    assert {line.split("::")[1].split("[")[0] for line in collected} == \
        set(names), collected
