"""A real Glance 33 deployment moved onto Glare, read by real clients.

Per database kind: real Glance (``conformance.glance_runner``, its own
database of that kind) gets the deployment of ``glance_deployment.make``
through its API -- every status, every visibility, members in each
status, two file stores and an http store; then ``glare
migrate-from-glance --glance-config glance-api.conf`` (the CLI, as an
operator runs it) moves it into a running Glare whose stores are
configured with the same ids and directories.  python-glanceclient,
openstacksdk and Nova's ``nova.image.glance.API``, pointed first at Glance
and then at Glare, as every project of the fixture, must list and show the
same records and download the same bytes.  Then the live step (Glance
changed through its API between two runs) and the interruptions (kill -9
between batches, inside a batch and during --copy-data, on the real
fixture).

What may differ between the two endpoints, and why (``normalise``): the
address of the server, where a client puts it into a record
(openstacksdk's ``location`` names the endpoint it was built on), and the
order of an image's tags (Glance's is a Python set's hash order, which
changes from one Glance process to the next).  Everything else -- ids,
timestamps, list order, locations and their metadata, ``stores``,
checksums, properties, members, metadef namespaces, error classes -- must
be the same.  Metadata definitions are compared as the API shows them.
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import glanceclient
import openstack.connection
import pytest
import requests

from conformance import glance_runner
from tests.conftest import ROOT, database_url, glare_server
from tests.integration import glance_deployment as fixture
from tests.integration import nova_venv
from tests.migrate_from_glance.conftest import cached_glance_sqlite
from tests.web_source import web_source

pytestmark = pytest.mark.integration

# Who reads: the admin and each project of the fixture.
READERS = {"admin": fixture.ADMIN}
READERS.update({p[:4]: fixture.headers(p) for p in fixture.PROJECTS})
GAMMA = fixture.GAMMA[:4]


class Deployment:
    """The running pair and what was made: ``glance``, ``glare`` (URLs),
    ``manifest``, ``first`` (the first run's CLI result), ``cli()``."""


def _cli(glare_conf, source_db, glance_conf, *args, fault=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("GLARE_MIGRATE_FAULT", None)
    if fault:
        env["GLARE_MIGRATE_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "glare.cli", "--config", glare_conf,
         "migrate-from-glance", *args, "--source-db", source_db,
         "--glance-config", glance_conf],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _glare_stores(gwork, rwork, own_store=False):
    """Glare's store text: Glance's stores (same ids, same directories),
    Glare's own staging; ``own_store``: new data (--copy-data) goes to a
    store ``own`` of Glare's, not into Glance's directories."""
    defaults, sections = fixture.store_config(str(gwork))
    for sub in ("staging", "tasks"):
        sections = sections.replace("%s/%s" % (gwork, sub),
                                    "%s/%s" % (rwork, sub))
    # Glare reads an http location only from a global address unless the
    # store names the host (the fixture's web server is on loopback).
    sections = sections.replace("[web]\n",
                                "[web]\nhttp_internal_hosts = 127.0.0.1\n")
    if own_store:
        defaults = defaults.replace("web:http", "web:http, own:file")
        sections = sections.replace("default_backend = fast",
                                    "default_backend = own")
        sections += "\n[own]\nfilesystem_store_datadir = %s/own/\n" % rwork
    return defaults, sections


@contextlib.contextmanager
def _glance_db(kind, tmp):
    """Glance's own database: a copy of the synced Glance 33 SQLite file
    the migration tests cache (no db_sync: seconds saved), or a fresh
    database of ``kind`` that glance-manage db_sync fills."""
    if kind == "sqlite":
        path = tmp / "glance.sqlite"
        shutil.copy(cached_glance_sqlite(tmp), path)
        yield "sqlite:///%s" % path, False
        return
    with database_url(kind, tmp) as url:
        yield url, True


@pytest.fixture(scope="module")
def deployment(db_kind, tmp_path_factory):
    if not glance_runner.venv_ok():
        pytest.skip("real Glance's venv (make glance-venv) is not built")
    tmp = tmp_path_factory.mktemp("e2e-%s" % db_kind)
    gwork, rwork = tmp / "glance", tmp / "glare"
    rwork.mkdir()
    with web_source() as web, _glance_db(db_kind, tmp) as (glance_db, sync), \
            glance_runner.glance_process(
                str(gwork), db_url=glance_db, processes=1, sync=sync,
                store_config=fixture.store_config(str(gwork), web.port)) \
            as glance:
        manifest = fixture.make(glance.url, glance.db_url, web)
        defaults, sections = _glare_stores(gwork, rwork)
        with database_url(db_kind, rwork) as glare_db, glare_server(
                rwork, glare_db, extra_conf=defaults,
                extra_sections=sections) as glare:
            dep = Deployment()
            dep.glance, dep.glare, dep.manifest = glance.url, glare.url, \
                manifest
            dep.kind, dep.tmp, dep.web = db_kind, tmp, web
            dep.source_db, dep.glance_conf = glance.db_url, glance.config
            dep.glare_conf = glare.config
            dep.cli = lambda *a, **kw: _cli(glare.config, glance.db_url,
                                            glance.config, *a, **kw)
            dep.first = dep.cli()
            yield dep


def _ids(dep):
    return list(dep.manifest["images"].values())


def _with_data(dep):
    images = dep.manifest["images"]
    return [images[label] for label in dep.manifest["data"]]


def test_first_run_moves_everything(deployment):
    first = deployment.first
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    images = len(deployment.manifest["images"])
    assert "%d images read, %d written, 0 unchanged, 0 skipped" % (
        images, images) in out, out
    line = [x for x in out.splitlines() if x.startswith("Images written")]
    by_status = {k: int(n) for k, n in re.findall(
        r"([a-z_]+(?: \(deleted, id reserved\))?) (\d+)", line[0])}
    assert by_status == {
        "active": 7, "deactivated": 1, "queued": 1, "uploading": 1,
        "saving": 1, "importing": 1, "killed": 1,
        "deleted (deleted, id reserved)": 1,
        "pending_delete (deleted, id reserved)": 1}, out
    check = deployment.cli("verify", "--data")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("0 differences.")


# -- the three clients, each as every reader, on both endpoints ----------

def _glanceclient_view(url, headers, ids, with_data):
    gc = glanceclient.Client("2", endpoint=url, token="x")
    gc.http_client.session.headers.update(headers)
    view = {"list": [dict(i) for i in gc.images.list()],
            "community": [dict(i) for i in gc.images.list(
                filters={"visibility": "community"})],
            "show": {}, "members": {}, "data": {}}
    for image_id in ids:
        try:
            view["show"][image_id] = dict(gc.images.get(image_id))
        except Exception as exc:  # noqa: BLE001 - compared, not raised
            view["show"][image_id] = type(exc).__name__
            continue
        try:
            view["members"][image_id] = sorted(
                (m["member_id"], m["status"], m["created_at"],
                 m["updated_at"]) for m in gc.image_members.list(image_id))
        except Exception as exc:  # noqa: BLE001
            view["members"][image_id] = type(exc).__name__
        if image_id in with_data:
            try:
                view["data"][image_id] = hashlib.sha256(b"".join(
                    gc.images.data(image_id))).hexdigest()
            except Exception as exc:  # noqa: BLE001
                view["data"][image_id] = type(exc).__name__
    return view


def _sdk_view(url, headers, ids, with_data):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": url},
        image_endpoint_override=url, image_api_version="2")
    try:
        session = conn.session
        session.additional_headers.update(headers)
        view = {"list": [i.to_dict() for i in conn.image.images()],
                "show": {}, "data": {}}
        for image_id in ids:
            try:
                view["show"][image_id] = conn.image.get_image(
                    image_id).to_dict()
            except Exception as exc:  # noqa: BLE001
                view["show"][image_id] = type(exc).__name__
                continue
            if image_id in with_data:
                resp = conn.image.download_image(image_id, stream=True)
                view["data"][image_id] = hashlib.sha256(
                    b"".join(resp.iter_content(65536))).hexdigest()
        return view
    finally:
        conn.close()


def normalise(view, url):
    """What may differ, and why:

    * the server's address, which openstacksdk writes into each record's
      ``location`` (the endpoint the connection was made with);
    * the order of an image's ``tags``: Glance keeps them in a Python set
      and sends them in its hash order, which differs between its worker
      processes (string hashes are salted per process); Glare sorts them.
      They are compared sorted."""
    view = json.loads(json.dumps(view, default=str).replace(url, "URL"))
    return _sorted_tags(view)


def _sorted_tags(value):
    if isinstance(value, dict):
        return {k: sorted(v) if k == "tags" and isinstance(v, list) and
                all(isinstance(t, str) for t in v) else _sorted_tags(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_sorted_tags(v) for v in value]
    return value


def _diff(a, b, path=""):
    """Human-readable differences between two JSON-like values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append("%s/%s: %s | %s" % (path, key, _short(a.get(
                    key, "<absent>")), _short(b.get(key, "<absent>"))))
            else:
                out += _diff(a[key], b[key], "%s/%s" % (path, key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for n, (x, y) in enumerate(zip(a, b))
                for d in _diff(x, y, "%s[%d]" % (path, n))]
    return [] if a == b else ["%s: %s | %s" % (path, _short(a), _short(b))]


def _short(value):
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) < 300 else text[:300] + "..."


def _same(dep, viewer, readers=tuple(READERS)):
    ids, with_data = _ids(dep), set(_with_data(dep))
    problems = {}
    for who in readers:
        headers = READERS[who]
        glance = normalise(viewer(dep.glance, headers, ids, with_data),
                           dep.glance)
        glare = normalise(viewer(dep.glare, headers, ids, with_data),
                          dep.glare)
        diff = _diff(glance, glare)
        if diff:
            problems[who] = diff[:40]
        elif who == "admin":
            assert len(glance["data"]) == len(with_data)
            assert all(len(v) == 64 for v in glance["data"].values())
    return problems


def test_glanceclient_sees_the_same(deployment):
    problems = _same(deployment, _glanceclient_view)
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_openstacksdk_sees_the_same(deployment):
    problems = _same(deployment, _sdk_view)
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_nova_sees_the_same(deployment):
    python = nova_venv.python()
    ids, with_data = _ids(deployment), _with_data(deployment)
    readers = ("admin", fixture.BETA[:4])
    urls = (deployment.glance, deployment.glare)
    with tempfile.TemporaryDirectory() as tmp:
        runs = nova_venv.probe(
            python, runs=[{"url": url, "headers": READERS[who]}
                          for who in readers for url in urls],
            show_ids=ids, download_ids=with_data, download_dir=tmp)["runs"]
    runs = [normalise(run, url) for run, url in zip(runs, urls * 2)]
    assert [run["endpoint"].rstrip("/") for run in runs] == ["URL"] * 4
    for n, who in enumerate(readers):
        assert _diff(runs[2 * n], runs[2 * n + 1]) == [], who
    admin, beta = runs[0], runs[2]
    assert all(isinstance(h, str) and len(h) == 64
               for h in admin["downloads"].values()), admin["downloads"]
    assert len(admin["list"]) > len(beta["list"])


def _metadef_view(url, headers, names):
    out = {"list": requests.get(url + "/v2/metadefs/namespaces",
                                headers=headers, timeout=30).json()}
    for name in names:
        resp = requests.get(url + "/v2/metadefs/namespaces/" + name,
                            headers=headers, timeout=30)
        out[name] = (resp.status_code, resp.json() if resp.ok else None)
    return out


def _tasks_view(url, headers, image_ids):
    out = {"list": requests.get(url + "/v2/tasks", headers=headers,
                                timeout=30).json()}
    for image_id in image_ids:
        out[image_id] = requests.get(url + "/v2/images/%s/tasks" % image_id,
                                     headers=headers, timeout=30).json()
        for task in out[image_id].get("tasks", ()):
            out[task["id"]] = requests.get(url + "/v2/tasks/" + task["id"],
                                           headers=headers,
                                           timeout=30).json()
    return out


def test_metadefs_and_tasks_are_the_same(deployment):
    names = deployment.manifest["namespaces"]
    for who in ("admin", fixture.ALPHA[:4], GAMMA):
        glance, glare = (normalise(_metadef_view(url, READERS[who], names),
                                   url)
                         for url in (deployment.glance, deployment.glare))
        assert _diff(glance, glare) == [], who
        assert glance[names[0]][0] == 200
    public = deployment.manifest["images"]["public"]
    glance, glare = (normalise(_tasks_view(url, fixture.ADMIN, [public]),
                               url)
                     for url in (deployment.glance, deployment.glare))
    assert glance[public]["tasks"], glance
    assert _diff(glance, glare) == []


# -- live: Glance changes between two runs -------------------------------

def test_second_run_brings_exactly_the_changes(deployment):
    touched = fixture.change(deployment.glance, deployment.manifest)
    again = deployment.cli()
    assert again.returncode == 0, again.stdout + again.stderr
    seen = len(deployment.manifest["images"])
    assert ("%d images read, %d written, %d unchanged, 0 skipped"
            % (seen, len(touched), seen - len(touched))) in again.stdout, \
        again.stdout
    assert "Metadata definitions written: namespaces 2" in again.stdout
    check = deployment.cli("verify", "--data")
    assert check.returncode == 0, check.stdout + check.stderr
    problems = _same(deployment, _glanceclient_view, ("admin", GAMMA))
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


# -- interruptions on the real fixture -----------------------------------

@pytest.fixture
def empty_glare(deployment, tmp_path):
    """Another, empty Glare database with the same stores (no server:
    the tool and verify work on the database)."""
    defaults, sections = _glare_stores(deployment.tmp / "glance", tmp_path,
                                       own_store=True)
    with database_url(deployment.kind, tmp_path) as url:
        conf = tmp_path / "glare.conf"
        conf.write_text("[DEFAULT]\n%s\n[database]\nconnection = %s\n"
                        "[glance_store]\nfilesystem_store_datadir = %s\n%s"
                        % (defaults, url, tmp_path / "images", sections))
        subprocess.run([sys.executable, "-m", "glare.cli", "--config",
                        str(conf), "db", "upgrade"], check=True, cwd=ROOT,
                       capture_output=True)
        yield lambda *a, **kw: _cli(str(conf), deployment.source_db,
                                    deployment.glance_conf, *a, **kw)


def test_killed_at_several_points_then_rerun_is_clean(empty_glare):
    """One target killed three times in a row -- between batches, inside
    a batch's transaction, during --copy-data -- then run to the end."""
    for fault, args in (("after-batch:2", ("--batch", "3")),
                        ("in-batch:2", ("--batch", "3")),
                        ("copied:2", ("--copy-data", "--batch", "5"))):
        killed = empty_glare(*args, fault=fault)
        # (That a kill leaves no half-written image is test_interrupt's;
        # here: the real fixture, killed again and again, ends whole.)
        assert killed.returncode == -signal.SIGKILL, (fault, killed.stderr)
    again = empty_glare("--copy-data", "--batch", "5")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Data copied:" in again.stdout, again.stdout
    check = empty_glare("verify", "--data")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("0 differences.")
