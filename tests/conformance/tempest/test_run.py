"""conformance.tempest.run's venv check: a venv missing any tool the
runner runs (tempest, stestr, subunit2csv) is handed to ``make
tempest-venv`` rather than used."""

import subprocess

import pytest

from conformance.tempest import run


@pytest.mark.parametrize("missing", [None] + list(run.TEMPEST_TOOLS))
def test_ensure_tempest_venv_builds_when_a_tool_is_missing(
        tmp_path, monkeypatch, missing):
    venv = tmp_path / "tempest-venv"
    (venv / "bin").mkdir(parents=True)
    for tool in run.TEMPEST_TOOLS:
        if tool != missing:
            (venv / "bin" / tool).write_text("#!/bin/sh\n")
            (venv / "bin" / tool).chmod(0o755)
    made = []
    # Recorded instead of run: make would pip-install Tempest.
    monkeypatch.setattr(subprocess, "run",
                        lambda cmd, **kw: made.append(cmd))
    monkeypatch.setattr(run, "VENV", str(venv))
    assert run.ensure_tempest_venv() == str(venv)
    if missing is None:
        assert made == []
    else:
        assert made == [["make", "-s", "-C", run.ROOT, "tempest-venv",
                         "TEMPEST_VENV=" + str(venv)]]
