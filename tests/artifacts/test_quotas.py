"""Per-project quotas (artifacts.quotas) on each database of the matrix:
limit resolution, the count quota at create, byte quotas enforced while the
bytes stream, concurrency, deletion, the unlimited fast path and the API."""

import concurrent.futures
import os
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors, quota_admin, quotas, stores, types
from artifacts.context import RequestContext
from artifacts.db import migrate
from artifacts.db.models import quota_guards, upload_reservations
from artifacts.db.session import make_engine
from artifacts.engine import Engine, Limits
from artifacts.locking import Locks
from artifacts.policy import Enforcer
from artifacts.quotas import QuotaDefaults, Quotas
from artifacts.stores import streaming
from artifacts.types.artifact_policies import RULES as ARTIFACT_RULES
from artifacts.types.image_policies import RULES as IMAGE_RULES
from glare import config
from tests.conftest import database_url, selected_databases

MiB = 1024 * 1024
FILES = types.get("files")
HEAT = types.get("heat_templates")
IMAGES = types.get("images")


@pytest.fixture(scope="module", params=selected_databases())
def env(request, tmp_path_factory):
    """(db engine, store, enforcer, config) of one database."""
    tmp = tmp_path_factory.mktemp("quotas-%s" % request.param)
    with database_url(request.param, tmp) as url:
        db = make_engine(url, pool_size=20)
        migrate.upgrade(db)
        store = stores.create("filesystem", "fs", {"datadir": str(tmp / "d")})
        conf = config.load(overrides={
            "oslo_policy.policy_file": "/nonexistent/policy.yaml"})
        yield db, store, Enforcer(conf, IMAGE_RULES + ARTIFACT_RULES), conf
        db.dispose()


@pytest.fixture
def build(env):
    """build(defaults=None, **quota options) → a fresh Engine."""
    db, store, enforcer, _ = env

    def make(defaults=None, **options):
        eng = Engine(db, store, enforcer, Limits(max_blob_size=64 * MiB),
                     locks=Locks(db, wait_seconds=10))
        eng.quotas = Quotas(db, defaults, **options)
        return eng
    return make


@pytest.fixture
def eng(build):
    return build()


def project():
    return "p-" + uuid.uuid4().hex[:12]


def member(project_id):
    return RequestContext(project_id=project_id, user_id="u-" + project_id,
                          roles=("member", "reader"))


def admin():
    return RequestContext(project_id="admin-project", user_id="admin",
                          roles=("admin", "member", "reader"))


def set_quota(eng, project_id, name, value, type_name=""):
    return quota_admin.set_quotas(eng, admin(), [{
        "project_id": project_id, "type_name": type_name, "name": name,
        "value": value}])


def new_file(eng, ctx, name=None):
    return eng.create(ctx, FILES, {"name": name or uuid.uuid4().hex,
                                   "version": "1.0.0"})


def blocks(count, size=MiB, consumed=None):
    """A stream of ``count`` blocks; ``consumed`` counts those taken."""
    for _ in range(count):
        if consumed is not None:
            consumed.append(1)
        yield b"q" * size


def reservation_count(eng, project_id):
    with eng.db.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(upload_reservations)
            .where(upload_reservations.c.project_id == project_id)).scalar()


def data_files(eng, marker):
    root = eng.stores.default_driver.datadir
    return [os.path.join(d, f) for d, _, fs in os.walk(root)
            for f in fs if marker in os.path.join(d, f)]


def widen_race_window(eng, method, seconds=0.02):
    """Make a usage read inside quota decisions slow, so that decisions
    not serialized by the guard would overlap (and pass the limit)."""
    real = getattr(eng.quotas, method)

    def slow(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(seconds)
        return result
    setattr(eng.quotas, method, slow)


def used(eng, project_id, name, type_name=""):
    report = quota_admin.usage(eng, admin(), project_id)["usage"]
    return [u["used"] for u in report
            if u["name"] == name and u["type_name"] == type_name][0]


# ---------------------------------------------------------------- resolution

def test_effective_limit_resolution(build):
    eng = build(QuotaDefaults(
        {"stored_bytes": 100},
        {"heat_templates": {"stored_bytes": 50},
         "files": {"artifact_count": 7}}))
    p, other = project(), project()
    quota_admin.set_quotas(eng, admin(), [
        {"project_id": p, "type_name": "", "name": "artifact_count",
         "value": 10},
        {"project_id": p, "type_name": "heat_templates",
         "name": "stored_bytes", "value": 20},
        {"project_id": p, "type_name": "files", "name": "uploading_bytes",
         "value": -1}])

    def effective(project_id):
        return {(q["type_name"], q["name"]): (q["value"], q["source"])
                for q in quota_admin.get_quotas(eng, admin(),
                                           project_id)["quotas"]}
    mine = effective(p)
    assert len(mine) == len(quotas.NAMES) * (1 + len(types.all_types()))
    assert mine[("", "artifact_count")] == (10, "override")
    assert mine[("", "stored_bytes")] == (100, "global_default")
    assert mine[("", "uploading_bytes")] == (-1, "global_default")
    assert mine[("heat_templates", "stored_bytes")] == (20, "override")
    assert mine[("files", "artifact_count")] == (7, "type_default")
    assert mine[("files", "uploading_bytes")] == (-1, "override")
    assert mine[("files", "stored_bytes")] == (-1, "none")
    theirs = effective(other)
    assert theirs[("", "artifact_count")] == (-1, "global_default")
    assert theirs[("heat_templates", "stored_bytes")] == (50, "type_default")
    # null removes an override: the default applies again.
    set_quota(eng, p, "stored_bytes", None, "heat_templates")
    assert effective(p)[("heat_templates", "stored_bytes")] == \
        (50, "type_default")
    # Both scopes bind: the type's limit and the project's total.
    with eng.db.connect() as conn:
        binding = eng.quotas.binding(conn, p, "heat_templates",
                                     quotas.BYTE_NAMES)
    assert sorted((b.type_name, b.name, b.value) for b in binding) == [
        ("", "stored_bytes", 100), ("heat_templates", "stored_bytes", 50)]


def test_set_quotas_validates_and_needs_admin(eng):
    p = project()
    good = {"project_id": p, "type_name": "", "name": "stored_bytes",
            "value": 5}
    with pytest.raises(errors.Forbidden):
        quota_admin.set_quotas(eng, member(p), [good])
    bad = [[], "x", [dict(good, value=-2)], [dict(good, value="10")],
           [dict(good, value=True)], [dict(good, value=1.5)],
           [dict(good, value=2 ** 63)], [dict(good, name="bytes")],
           [dict(good, type_name="nope")], [dict(good, project_id="")],
           [{k: v for k, v in good.items() if k != "value"}],
           [dict(good, extra=1)], [good, dict(good, value=6)]]
    for values in bad:
        with pytest.raises(errors.Invalid):
            quota_admin.set_quotas(eng, admin(), values)
    # All or nothing: nothing of a refused request was applied.
    assert used(eng, p, "stored_bytes") == 0
    limits = {(q["type_name"], q["name"]): q["value"] for q in
              quota_admin.get_quotas(eng, admin(), p)["quotas"]}
    assert limits[("", "stored_bytes")] == -1
    with pytest.raises(errors.Forbidden):
        quota_admin.get_quotas(eng, member(p), project())
    assert quota_admin.get_quotas(eng, member(p))["quotas"][0]["project_id"] == p


# ------------------------------------------------------------------- create

def test_count_quota_at_create(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "artifact_count", 3)
    set_quota(eng, p, "artifact_count", 1, "heat_templates")
    eng.create(ctx, HEAT, {"name": "h", "version": "1.0.0"})
    with pytest.raises(errors.RequestTooLarge) as exc:
        eng.create(ctx, HEAT, {"name": "h", "version": "2.0.0"})
    assert str(exc.value) == ("Quota exceeded for artifact_count "
                              "(heat_templates) in project %s: limit 1, "
                              "used 1, requested 1." % p)
    assert exc.value.status == 413
    new_file(eng, ctx)
    new_file(eng, ctx)
    with pytest.raises(errors.RequestTooLarge, match="Quota exceeded for "
                       "artifact_count in project %s: limit 3, used 3"
                       % p):
        new_file(eng, ctx)
    # Another project is not affected; an admin creating for p is counted.
    new_file(eng, member(project()))
    with pytest.raises(errors.RequestTooLarge):
        eng.create(admin(), FILES, {"name": "x", "owner": p})


def test_concurrent_creates_never_pass_the_count(eng):
    p = project()
    ctx = member(p)
    limit, attempts = 4, 12
    set_quota(eng, p, "artifact_count", limit)
    widen_race_window(eng, "counts")
    start = threading.Barrier(attempts)

    def attempt(i):
        start.wait()
        try:
            new_file(eng, ctx, "race-%d" % i)
            return "ok"
        except errors.RequestTooLarge:
            return "413"
    with concurrent.futures.ThreadPoolExecutor(attempts) as pool:
        results = list(pool.map(attempt, range(attempts)))
    assert results.count("ok") == limit, results
    assert results.count("413") == attempts - limit
    assert used(eng, p, "artifact_count") == limit


def test_deleting_frees_quota_at_once(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "artifact_count", 2)
    set_quota(eng, p, "stored_bytes", 3 * MiB)
    a, b = new_file(eng, ctx), new_file(eng, ctx)
    with pytest.raises(errors.RequestTooLarge):
        new_file(eng, ctx)
    eng.data.upload(ctx, FILES, a["id"], "file", blocks(3))
    assert used(eng, p, "stored_bytes") == 3 * MiB
    with pytest.raises(errors.RequestTooLarge, match="stored_bytes"):
        eng.data.upload(ctx, FILES, b["id"], "file", blocks(1))
    eng.delete(ctx, FILES, a["id"])
    assert used(eng, p, "stored_bytes") == 0
    assert used(eng, p, "artifact_count") == 1
    new_file(eng, ctx)
    eng.data.upload(ctx, FILES, b["id"], "file", blocks(3))
    assert used(eng, p, "stored_bytes") == 3 * MiB


# ------------------------------------------------------------------ uploads

def test_blob_upload_stopped_mid_stream(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 3 * MiB + 100)
    art = new_file(eng, ctx)
    consumed = []
    with pytest.raises(errors.RequestTooLarge) as exc:
        eng.data.upload(ctx, FILES, art["id"], "file",
                        blocks(20, consumed=consumed))
    assert exc.value.status == 413
    assert str(exc.value) == ("Quota exceeded for stored_bytes in project "
                              "%s: limit %d, used 0, requested %d."
                              % (p, 3 * MiB + 100, 4 * MiB))
    assert len(consumed) == 4            # stopped at the first block over
    assert data_files(eng, art["id"]) == []
    assert reservation_count(eng, p) == 0
    assert eng.get(ctx, FILES, art["id"])["blobs"] == []
    # What fits still goes in.
    eng.data.upload(ctx, FILES, art["id"], "file", blocks(3))
    assert used(eng, p, "stored_bytes") == 3 * MiB
    assert reservation_count(eng, p) == 0


def test_image_upload_stopped_mid_stream(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 2 * MiB, "images")
    image = eng.create(ctx, IMAGES, {"name": "img", "properties": {
        "disk_format": "raw", "container_format": "bare"}})
    consumed = []
    with pytest.raises(errors.RequestTooLarge, match=r"stored_bytes "
                       r"\(images\) in project %s: limit %d" % (p, 2 * MiB)):
        eng.data.upload(ctx, IMAGES, image["id"], "image", blocks(10, consumed=consumed))
    assert len(consumed) == 3
    assert eng.get(ctx, IMAGES, image["id"])["status"] == "queued"
    assert data_files(eng, image["id"]) == []
    assert reservation_count(eng, p) == 0
    # Staging (glance-direct) is metered the same way, against the
    # staging quota: staged data is not stored data until its import.
    set_quota(eng, p, "staged_bytes", 2 * MiB, "images")
    with pytest.raises(errors.RequestTooLarge, match="staged_bytes"):
        eng.data.upload(ctx, IMAGES, image["id"], "staging", blocks(5))
    assert eng.get(ctx, IMAGES, image["id"])["status"] == "queued"
    assert reservation_count(eng, p) == 0
    eng.data.upload(ctx, IMAGES, image["id"], "image", blocks(2))
    assert eng.get(ctx, IMAGES, image["id"])["status"] == "active"
    assert reservation_count(eng, p) == 0


def test_concurrent_uploads_never_sum_above_the_limit(build):
    eng = build(min_step=MiB)
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 10 * MiB)
    arts = [new_file(eng, ctx) for _ in range(6)]
    widen_race_window(eng, "reserved")
    start = threading.Barrier(len(arts))

    def upload(art):
        start.wait()
        try:
            eng.data.upload(ctx, FILES, art["id"], "file", blocks(3))
            return "ok"
        except errors.RequestTooLarge as exc:
            assert "Quota exceeded for stored_bytes" in str(exc)
            return "413"
    with concurrent.futures.ThreadPoolExecutor(len(arts)) as pool:
        results = list(pool.map(upload, arts))
    stored = used(eng, p, "stored_bytes")
    assert stored <= 10 * MiB
    assert stored == results.count("ok") * 3 * MiB
    assert 1 <= results.count("ok") <= 3
    assert results.count("413") == 6 - results.count("ok")
    assert reservation_count(eng, p) == 0
    on_disk = sum(os.path.getsize(f) for a in arts
                  for f in data_files(eng, a["id"]))
    assert on_disk == stored


def test_uploading_bytes_limits_what_is_in_flight(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "uploading_bytes", 4 * MiB)
    first, second = new_file(eng, ctx), new_file(eng, ctx)
    sent, resume = threading.Event(), threading.Event()

    def slow():
        yield b"a" * MiB
        sent.set()
        assert resume.wait(10)
        yield b"a" * MiB
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(eng.data.upload, ctx, FILES, first["id"],
                              "file", slow())
        assert sent.wait(10)
        assert used(eng, p, "uploading_bytes") > 0
        with pytest.raises(errors.RequestTooLarge, match="uploading_bytes"):
            eng.data.upload(ctx, FILES, second["id"], "file", blocks(4))
        resume.set()
        running.result()
    # Once the first is stored, nothing is in flight: 4 MiB fit again.
    assert used(eng, p, "uploading_bytes") == 0
    eng.data.upload(ctx, FILES, second["id"], "file", blocks(4))
    assert reservation_count(eng, p) == 0


def test_reservation_of_a_dead_upload_expires(build):
    eng = build(reservation_seconds=0.6)
    p = project()
    set_quota(eng, p, "stored_bytes", 4 * MiB)
    art = new_file(eng, member(p))
    # A worker that reserved 3 MiB and died without releasing.
    dead = quotas.Meter(eng.quotas, p, "files", art["id"])
    dead.wrap(None)(3 * MiB)
    assert used(eng, p, "uploading_bytes") >= 3 * MiB
    with pytest.raises(errors.RequestTooLarge):
        eng.data.upload(member(p), FILES, art["id"], "file", blocks(2))
    time.sleep(0.8)
    assert used(eng, p, "uploading_bytes") == 0
    eng.data.upload(member(p), FILES, art["id"], "file", blocks(2))
    assert reservation_count(eng, p) == 0   # purged by the next step


def test_a_slow_upload_renews_its_reservation(build):
    eng = build(reservation_seconds=0.6)
    p = project()
    set_quota(eng, p, "stored_bytes", 100 * MiB)
    art = new_file(eng, member(p))

    def slow():
        for _ in range(3):
            yield b"s" * MiB
            time.sleep(0.35)
            # Renewed while it makes progress: still counted (it would
            # have expired 0.6 s after it was made).
            assert used(eng, p, "uploading_bytes") > 0
    eng.data.upload(member(p), FILES, art["id"], "file", slow())
    assert used(eng, p, "stored_bytes") == 3 * MiB
    assert reservation_count(eng, p) == 0


def test_type_quota_leaves_other_types_alone(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", MiB, "heat_templates")
    art = new_file(eng, ctx)
    eng.data.upload(ctx, FILES, art["id"], "file", blocks(3))
    heat = eng.create(ctx, HEAT, {"name": "h", "version": "1.0.0"})
    with pytest.raises(errors.RequestTooLarge, match="heat_templates"):
        eng.data.upload(ctx, HEAT, heat["id"], "template",
                        [b"x" * (MiB + 1)])
    eng.data.upload(ctx, HEAT, heat["id"], "template", [b"heat: 1"])
    assert used(eng, p, "stored_bytes", "heat_templates") == 7
    assert used(eng, p, "stored_bytes") == 3 * MiB + 7


def test_external_blobs_take_no_quota(eng):
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", MiB)
    art = new_file(eng, ctx)
    eng.data.register_external(ctx, FILES, art["id"], "file",
                          "https://example.com/big.iso", size=10 << 30)
    assert used(eng, p, "stored_bytes") == 0
    other = new_file(eng, ctx)
    eng.data.upload(ctx, FILES, other["id"], "file", blocks(1))
    assert used(eng, p, "stored_bytes") == MiB


def test_unlimited_takes_no_lock_and_reserves_nothing(eng, monkeypatch):
    guards = []
    monkeypatch.setattr(Quotas, "_guard",
                        lambda self, conn, p: guards.append(p))
    seen = []
    real = streaming.write_stream

    def spy(store, key, chunks, *args, **kwargs):
        seen.append(kwargs.get("on_chunk"))
        return real(store, key, chunks, *args, **kwargs)
    monkeypatch.setattr(streaming, "write_stream", spy)
    p = project()
    ctx = member(p)
    art = new_file(eng, ctx)
    eng.data.upload(ctx, FILES, art["id"], "file", blocks(3))
    image = eng.create(ctx, IMAGES, {"name": "img", "properties": {
        "disk_format": "raw", "container_format": "bare"}})
    eng.data.upload(ctx, IMAGES, image["id"], "image", blocks(2))
    assert guards == []
    # The stores got the engine's own heartbeat, not a quota wrapper.
    assert [f.__name__ for f in seen] == ["heartbeat", "heartbeat"]
    assert reservation_count(eng, p) == 0
    with eng.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            quota_guards).where(quota_guards.c.project_id == p)).scalar() \
            == 0


# ---------------------------------------------------------------------- API

@pytest.fixture
def client(env, eng):
    from glare.app import create_flask_app
    app = create_flask_app(env[3], eng)
    app.config["TESTING"] = True

    def call(method, path, ctx, **kwargs):
        return app.test_client().open(
            path, method=method, environ_base={"glare.context": ctx},
            **kwargs)
    return call


def test_api_get_put_and_usage(client, eng):
    p = project()
    resp = client("GET", "/artifacts/quotas", member(p))
    assert resp.status_code == 200, resp.data
    body = resp.get_json()
    assert len(body["quotas"]) == len(quotas.NAMES) * (1 + len(types.all_types()))
    assert {q["value"] for q in body["quotas"]} == {-1}
    assert client("GET", "/artifacts/quotas?project_id=%s" % project(),
                  member(p)).status_code == 403
    assert client("GET", "/artifacts/quotas?project_id=%s" % p,
                  admin()).status_code == 200

    change = {"quotas": [
        {"project_id": p, "type_name": "", "name": "artifact_count",
         "value": 1},
        {"project_id": p, "type_name": "files", "name": "stored_bytes",
         "value": 1000}]}
    assert client("PUT", "/artifacts/quotas", member(p),
                  json=change).status_code == 403
    resp = client("PUT", "/artifacts/quotas", admin(), json=change)
    assert resp.status_code == 200, resp.data
    result = {(q["project_id"], q["type_name"], q["name"]): q
              for q in resp.get_json()["quotas"]}
    assert result[(p, "", "artifact_count")]["value"] == 1
    assert result[(p, "", "artifact_count")]["source"] == "override"
    assert result[(p, "files", "stored_bytes")]["value"] == 1000

    for bad in ({"quotas": [dict(change["quotas"][0], value=-5)]},
                {"quotas": [dict(change["quotas"][0], name="nope")]},
                {"quotas": "x"}, {"nothing": []}, [1]):
        assert client("PUT", "/artifacts/quotas", admin(),
                      json=bad).status_code == 400, bad
    assert client("PUT", "/artifacts/quotas", admin(), data="{}",
                  content_type="text/plain").status_code == 415

    art = new_file(eng, member(p))
    eng.data.upload(member(p), FILES, art["id"], "file", [b"x" * 600])
    with pytest.raises(errors.RequestTooLarge):
        new_file(eng, member(p))
    resp = client("GET", "/artifacts/quotas/usage", member(p))
    assert resp.status_code == 200, resp.data
    usage = {(u["type_name"], u["name"]): (u["used"], u["limit"])
             for u in resp.get_json()["usage"]}
    assert usage[("", "artifact_count")] == (1, 1)
    assert usage[("files", "stored_bytes")] == (600, 1000)
    assert usage[("", "uploading_bytes")] == (0, -1)

    # Over quota through the engine is a 413 whatever the face.
    with pytest.raises(errors.RequestTooLarge, match="limit 1000, used "
                       "600, requested"):
        eng.data.upload(member(p), FILES, art["id"], "file", [b"y" * 500])


# ------------------------------------------------------------------- copies

@pytest.fixture
def two_store_eng(env, tmp_path):
    """An engine with a second store, ``cold``, to copy into."""
    from artifacts.stores.placement import StoreSet
    db, store, enforcer, _ = env
    cold = stores.create("filesystem", "cold",
                         {"datadir": str(tmp_path / "cold")})
    eng = Engine(db, store, enforcer, Limits(max_blob_size=64 * MiB),
                 locks=Locks(db, wait_seconds=10),
                 stores=StoreSet(drivers={"fs": store, "cold": cold},
                                 default="fs"))
    eng.cold_dir = tmp_path / "cold"
    return eng


def _image(eng, ctx, size_mib):
    image = eng.create(ctx, IMAGES, {"name": "img", "properties": {
        "disk_format": "raw", "container_format": "bare"}})
    eng.data.upload(ctx, IMAGES, image["id"], "image", blocks(size_mib))
    return image


def test_copies_count_once_per_store_as_glance_counts_them(two_store_eng):
    """Glance's image_size_total is size x locations not deleted: a copy
    into another store takes the image's size again, removing it frees
    it."""
    eng = two_store_eng
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 10 * MiB)
    image = _image(eng, ctx, 2)
    assert used(eng, p, "stored_bytes") == 2 * MiB
    # copy-image is an admin's act; the bytes are the owner's.
    eng.data.copy_to_store(admin(), IMAGES, image["id"], "image", "cold")
    assert used(eng, p, "stored_bytes") == 4 * MiB
    assert used(eng, "admin-project", "stored_bytes") == 0
    assert reservation_count(eng, p) == 0
    eng.data.remove_from_store(admin(), IMAGES, image["id"], "image", "fs")
    assert used(eng, p, "stored_bytes") == 2 * MiB
    eng.delete(ctx, IMAGES, image["id"])
    assert used(eng, p, "stored_bytes") == 0


def test_a_copy_that_does_not_fit_is_refused_and_leaves_nothing(
        two_store_eng):
    eng = two_store_eng
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 5 * MiB, "images")
    image = _image(eng, ctx, 3)
    with pytest.raises(errors.RequestTooLarge,
                       match=r"stored_bytes \(images\) in project %s: "
                             r"limit %d, used %d" % (p, 5 * MiB, 3 * MiB)):
        eng.data.copy_to_store(admin(), IMAGES, image["id"], "image",
                               "cold")
    assert [f for f in eng.cold_dir.rglob("*") if f.is_file()] == []
    assert reservation_count(eng, p) == 0
    assert [loc["store"] for b in eng.get(ctx, IMAGES, image["id"])["blobs"]
            for loc in b["locations"]] == ["fs"]
    assert used(eng, p, "stored_bytes", "images") == 3 * MiB


def test_copy_image_is_refused_while_the_project_is_over(two_store_eng):
    """Glance refuses an import (413) while the project is over its
    image_size_total; a project at its limit may still ask (the copy is
    metered when it runs)."""
    eng = two_store_eng
    p = project()
    ctx = member(p)
    image = _image(eng, ctx, 2)
    set_quota(eng, p, "stored_bytes", 2 * MiB)
    eng.jobs.submit_copies(IMAGES, image["id"], "image", ["cold"])
    set_quota(eng, p, "stored_bytes", 2 * MiB - 1)
    with pytest.raises(errors.RequestTooLarge, match="stored_bytes"):
        eng.jobs.submit_copies(IMAGES, image["id"], "image", ["cold"])
    from artifacts.db.models import data_jobs
    with eng.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            data_jobs).where(data_jobs.c.artifact_id == image["id"])
        ).scalar() == 1


def test_an_import_into_several_stores_is_metered(two_store_eng):
    """glance-direct into two stores: the first copy takes the staged
    data's place, the second takes space again and must fit."""
    eng = two_store_eng
    p = project()
    ctx = member(p)
    set_quota(eng, p, "stored_bytes", 5 * MiB)

    def staged(size_mib):
        image = eng.create(ctx, IMAGES, {"name": "img", "properties": {
            "disk_format": "raw", "container_format": "bare"}})
        eng.data.upload(ctx, IMAGES, image["id"], "staging",
                        blocks(size_mib))
        return image
    first = staged(2)
    assert eng.data.import_staged(ctx, IMAGES, first["id"],
                                  stores=["fs", "cold"]) == []
    assert used(eng, p, "stored_bytes") == 4 * MiB
    second = staged(1)
    with pytest.raises(errors.RequestTooLarge, match="stored_bytes"):
        eng.data.import_staged(ctx, IMAGES, second["id"],
                               stores=["fs", "cold"])
    assert eng.get(ctx, IMAGES, second["id"])["status"] == "uploading"
    assert reservation_count(eng, p) == 0
    assert eng.data.import_staged(ctx, IMAGES, second["id"],
                                  stores=["fs", "cold"],
                                  all_must_succeed=False) == ["cold"]
    assert used(eng, p, "stored_bytes") == 5 * MiB
    assert reservation_count(eng, p) == 0
