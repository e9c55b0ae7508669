"""artifacts/registration.py: data registered by URL, checked by a durable
job (the v2.17 location API), on real filesystem stores and SQLite: the
job resolves, registers, reads and compares, undoes a mismatch without
touching the data, survives its worker, and its ``location_import`` task
holds the lock until the job ends, however it ends."""

import datetime
import hashlib
import os
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors, stores
from artifacts.context import RequestContext
from artifacts.db import api as db
from artifacts.db.models import data_jobs
from artifacts.db.session import transaction
from artifacts.engine import Engine, Limits
from artifacts.locations import Added, LocationEdit
from artifacts.stores.placement import StoreSet
from artifacts.types.images import IMAGES

DATA = os.urandom(2 * 1024 * 1024 + 17)
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
LOCK = "os_glance_import_task"


@pytest.fixture
def eng(db_engine, enforcer, tmp_path):
    drivers = {
        "fast": stores.create("filesystem", "fast",
                              {"datadir": str(tmp_path / "fast")}),
        "cold": stores.create("filesystem", "cold",
                              {"datadir": str(tmp_path / "cold")}),
        "ceph": stores.create("foreign", "ceph", {"schemes": ["rbd"]})}
    store_set = StoreSet(drivers=drivers, default="fast")
    engine = Engine(db_engine, drivers["fast"], enforcer, Limits(),
                    stores=store_set)
    yield engine
    # Jobs of this test must not be left for the next one's runner.
    transaction(engine.db, lambda c: c.execute(data_jobs.delete()))


def admin():
    return RequestContext(project_id="p-" + uuid.uuid4().hex[:8],
                          user_id="admin", roles=("admin", "member",
                                                  "reader", "service"))


def queued(eng, ctx):
    return eng.create(ctx, IMAGES, {"name": "r", "properties": {
        "disk_format": "raw", "container_format": "bare"}})["id"]


def put(eng, store, data=DATA):
    path = os.path.join(eng.stores.driver(store).datadir,
                        uuid.uuid4().hex)
    with open(path, "wb") as f:
        f.write(data)
    return "file://" + path


def submit(eng, ctx, image_id, url, expected=None, algorithm=None):
    return eng.registration.submit(
        ctx, IMAGES, image_id, "image", url, expected=expected,
        algorithm=algorithm, task=("location_import", {"loc_url": url}))


def job_of(eng, batch):
    with eng.db.connect() as conn:
        return dict(conn.execute(sa.select(data_jobs).where(
            data_jobs.c.batch == batch)).first()._mapping)


def urls(art):
    return [loc["url"] for b in art["blobs"] if b["field"] == "image"
            and b["status"] == "active" for loc in b["locations"]]


def test_a_checked_registration_makes_the_image_active(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    batch = submit(eng, ctx, image_id, url, expected=SHA512.upper(),
                   algorithm="sha512")
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "queued"
    assert art["properties"][LOCK] == batch
    assert eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "active"
    props = art["properties"]
    assert (props["size"], props["checksum"], props["os_hash_algo"],
            props["os_hash_value"]) == (len(DATA), MD5, "sha512", SHA512)
    assert LOCK not in props
    assert urls(art) == [url]
    [blob] = [b for b in art["blobs"] if b["field"] == "image"]
    assert (blob["md5"], blob["sha512"]) == (MD5, SHA512)
    assert job_of(eng, batch)["status"] == "done"


def test_another_algorithm_is_what_the_image_records(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    sha256 = hashlib.sha256(DATA).hexdigest()
    submit(eng, ctx, image_id, put(eng, "cold"), expected=sha256,
           algorithm="sha256")
    eng.jobs.run_one()
    props = eng.get(ctx, IMAGES, image_id)["properties"]
    assert (props["os_hash_algo"], props["os_hash_value"]) == ("sha256",
                                                               sha256)


def test_a_mismatch_undoes_it_and_leaves_the_data(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    batch = submit(eng, ctx, image_id, url, expected="0" * 128)
    eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "queued"
    assert urls(art) == [] and not art["blobs"]
    for key in ("size", "checksum", "os_hash_algo", "os_hash_value", LOCK):
        assert art["properties"].get(key) is None
    assert os.path.exists(url[len("file://"):])
    job = job_of(eng, batch)
    assert job["status"] == "failed" and "not the expected" in job["error"]
    # The same data registered again, with the right hash, is accepted.
    submit(eng, ctx, image_id, url, expected=SHA512)
    eng.jobs.run_one()
    assert eng.get(ctx, IMAGES, image_id)["status"] == "active"


def test_without_a_hash_the_image_is_active_before_it_is_read(eng,
                                                              monkeypatch):
    ctx = admin()
    image_id = queued(eng, ctx)
    seen = {}
    real = eng.registration._digests

    def spy(artifact, blob, *args):
        seen["status"] = eng.get(ctx, IMAGES, image_id)["status"]
        return real(artifact, blob, *args)
    monkeypatch.setattr(eng.registration, "_digests", spy)
    submit(eng, ctx, image_id, put(eng, "cold"))
    eng.jobs.run_one()
    assert seen["status"] == "active"
    props = eng.get(ctx, IMAGES, image_id)["properties"]
    assert (props["checksum"], props["os_hash_value"]) == (MD5, SHA512)


def test_a_foreign_location_is_taken_on_trust(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    submit(eng, ctx, image_id, "rbd://fsid/images/x/snap", expected=SHA512)
    eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "active"
    props = art["properties"]
    assert (props.get("size"), props.get("checksum"),
            props["os_hash_value"]) == (None, None, SHA512)


@pytest.mark.parametrize("url", ["foo://x/y", "file:///etc/passwd"])
def test_a_url_no_store_takes_fails_the_job(eng, url):
    ctx = admin()
    image_id = queued(eng, ctx)
    batch = submit(eng, ctx, image_id, url)
    eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "queued" and LOCK not in art["properties"]
    assert job_of(eng, batch)["status"] == "failed"


def test_an_untrusted_caller_cannot_register_managed_data(eng):
    owner = admin()
    service = RequestContext(project_id=owner.project_id, user_id="nova",
                             roles=("service",))
    image_id = queued(eng, owner)
    url = put(eng, "cold")
    batch = submit(eng, service, image_id, url)
    eng.jobs.run_one()
    assert eng.get(owner, IMAGES, image_id)["status"] == "queued"
    assert "administrator" in job_of(eng, batch)["error"]


def test_its_task_holds_the_lock_until_the_job_ends(eng):
    """The registration is a location_import task of the image (its id is
    the job's batch) holding os_glance_import_task: a second operation is
    refused until the job ended (here undone: a digest that differs) and
    the task with it, which frees the lock."""
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    told = []

    def listener(event):
        if event.name.startswith("task_"):
            told.append(event.name)
    eng.events.subscribe(listener)
    batch = submit(eng, ctx, image_id, url, expected="0" * 128)
    # Told as any task is (Glance's task.* notifications).
    assert told == ["task_create", "task_processing", "task_run"]
    task = eng.tasks.get(ctx, batch)
    assert (task["type"], task["status"], task["input"]) == (
        "location_import", "processing", {"loc_url": url})
    assert eng.get(ctx, IMAGES, image_id)["properties"][LOCK] == batch
    with pytest.raises(errors.Conflict):
        submit(eng, ctx, image_id, url, expected=SHA512)
    assert eng.jobs.run_one()
    assert eng.tasks.get(ctx, batch)["status"] == "failure"
    assert told[-1] == "task_failure"
    eng.events._listeners.remove(listener)
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "queued" and LOCK not in art["properties"]
    again = submit(eng, ctx, image_id, url, expected=SHA512)
    assert eng.get(ctx, IMAGES, image_id)["properties"][LOCK] == again
    assert eng.jobs.run_one()
    assert eng.tasks.get(ctx, again)["status"] == "success"
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "active" and LOCK not in art["properties"]


def test_only_a_queued_image_takes_a_registration(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    eng.data.upload(ctx, IMAGES, image_id, "image", [DATA])
    with pytest.raises(errors.Conflict):
        submit(eng, ctx, image_id, put(eng, "cold"))


def _die_after_registering(eng, ctx, image_id, url, batch):
    """What a worker that died after step 2 leaves: the image importing
    with the location, the job running with an old heartbeat."""
    found = eng.locations.resolve(url, trusted=True)
    eng.update(ctx, IMAGES, image_id, lambda img: LocationEdit(
        "image", [Added(found, {})], values={"size": found.size},
        status="importing"), rule=None)
    old = db.utcnow() - datetime.timedelta(hours=1)
    transaction(eng.db, lambda c: c.execute(data_jobs.update().where(
        data_jobs.c.batch == batch).values(status="running", attempts=1,
                                          heartbeat_at=old)))
    transaction(eng.db, lambda c: c.execute(db.A.update().where(
        db.A.c.id == image_id).values(updated_at=old)))


def test_a_job_whose_worker_died_is_finished_by_another(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    batch = submit(eng, ctx, image_id, url, expected=SHA512)
    _die_after_registering(eng, ctx, image_id, url, batch)
    # Recovery of stalled imports leaves it to the job.
    eng.data.recover_stale_uploads([IMAGES])
    assert eng.get(ctx, IMAGES, image_id)["status"] == "importing"
    assert eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "active" and urls(art) == [url]
    assert art["properties"]["os_hash_value"] == SHA512
    assert LOCK not in art["properties"]


def test_a_job_that_keeps_failing_is_undone(eng):
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    batch = submit(eng, ctx, image_id, url, expected=SHA512)
    _die_after_registering(eng, ctx, image_id, url, batch)
    transaction(eng.db, lambda c: c.execute(data_jobs.update().where(
        data_jobs.c.batch == batch).values(attempts=3)))
    eng.jobs.run_one()
    art = eng.get(ctx, IMAGES, image_id)
    assert art["status"] == "queued" and not art["blobs"]
    assert LOCK not in art["properties"]
    assert "gave up" in job_of(eng, batch)["error"]
    assert os.path.exists(url[len("file://"):])


def test_data_that_vanished_before_the_read_is_undone(eng, monkeypatch):
    ctx = admin()
    image_id = queued(eng, ctx)
    url = put(eng, "cold")
    batch = submit(eng, ctx, image_id, url, expected=SHA512)
    real = eng.registration._check

    def vanish(atype, job, payload, artifact, blob, on_chunk):
        os.unlink(url[len("file://"):])
        return real(atype, job, payload, artifact, blob, on_chunk)
    monkeypatch.setattr(eng.registration, "_check", vanish)
    eng.jobs.run_one()
    assert eng.get(ctx, IMAGES, image_id)["status"] == "queued"
    assert "could not be read" in job_of(eng, batch)["error"]
