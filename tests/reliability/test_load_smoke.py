"""A small run of the load test (``bench/load.py``): 8 clients for 5 s
beside 8 stalled connections on the embedded default (SQLite), checking
that the bench's own bookkeeping works -- every kind of change was
acknowledged and read back, and a change the server does not hold is
reported as lost -- and that the run finds 0 errors and 0 lost writes.

The full run (64 clients x 60 s on SQLite, PostgreSQL and MariaDB) is
``bench/load.py --db sqlite,postgresql,mysql``; its figures are in
docs/performance.md.
"""

import os
import sys
import uuid

import pytest
import requests

from tests.conftest import ROOT, database_url, glare_server

sys.path.insert(0, os.path.join(ROOT, "bench"))
import load  # noqa: E402
import load_ledger  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load-smoke")
    with database_url("sqlite", tmp) as url:
        with glare_server(tmp, url) as srv:
            args = load.parse_args(["--clients", "8", "--duration", "5",
                                    "--stalled", "8"])
            ledger = load_ledger.Ledger()
            out = load.run_load(srv.url, srv.process.pid, args,
                                log=str(srv.log), db="sqlite", ledger=ledger)
            load.report(out)
            yield srv, out, ledger


def test_no_errors_no_lost_writes(run):
    _, out, _ = run
    assert out["errors"] == 0, out["error_sample"]
    assert out["lost_writes"] == 0, out["lost_sample"]
    assert out["ok"], out["failed"]
    assert out["memory"]["ok"], out["memory"]
    assert out["healthcheck"]["failures"] == []


def test_every_kind_of_change_was_acknowledged_and_checked(run):
    _, out, ledger = run
    assert all(n > 0 for n in out["acknowledged"].values()), \
        out["acknowledged"]
    assert out["objects_checked"] == out["acknowledged"]["create"]
    kinds = {r["kind"] for r in ledger.objects.values()}
    assert kinds == {"image", "files"}
    # Every operation ran, and the deliberate conflict was a 409.
    assert all(o["count"] > 0 for o in out["latency"].values()), \
        out["latency"]
    assert out["statuses"].get("conflict 409", 0) > 0
    assert out["stalled"]["opened"] >= 8


def test_the_check_reports_what_the_server_does_not_hold(run):
    """Tamper with copies of acknowledged records: each is reported."""
    srv, out, ledger = run
    objects = ledger.objects
    live = [i for i, r in objects.items()
            if not r["deleted"] and r["props"] and not r["uncertain"]]
    uploaded = [i for i, r in objects.items()
                if r["md5"] and not r["deleted"] and not r["uncertain"]]
    gone = [i for i, r in objects.items() if r["deleted"]]
    assert live and uploaded and gone
    fake = load_ledger.Ledger()
    wrong_value = dict(objects[live[0]], props=dict(
        objects[live[0]]["props"], load_value="never-acknowledged"))
    fake.objects = {
        live[0]: wrong_value,
        uploaded[0]: dict(objects[uploaded[0]], md5="0" * 32),
        gone[0]: dict(objects[gone[0]], deleted=False),
        str(uuid.uuid4()): dict(objects[live[0]]),     # never created
    }
    headers = {"X-Identity-Status": "Confirmed", "X-Roles": "admin",
               "X-Project-Id": "admin", "X-User-Id": "admin"}

    def session():
        s = requests.Session()
        s.headers.update(headers)
        return s
    checked, lost = load_ledger.verify(fake, session, srv.url)
    assert checked == 4
    assert len(lost) == 4, lost
