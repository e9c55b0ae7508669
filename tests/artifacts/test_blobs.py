"""Generic artifact types: versions, lifecycle, blobs and folders."""

from artifacts.stores.placement import open_locations
import concurrent.futures
import threading

import pytest

from artifacts import errors, stores, types
from artifacts.context import RequestContext
from artifacts.db import migrate
from artifacts.db.session import make_engine
from artifacts.engine import Engine, Limits
from artifacts.locking import Locks
from artifacts.policy import Enforcer
from artifacts.types.artifact_policies import RULES as ARTIFACT_RULES
from artifacts.types.base import Field, artifact_type
from artifacts.types.image_policies import RULES as IMAGE_RULES
from glare import config
from tests.conftest import database_url, selected_databases

HEAT = types.get("heat_templates")
FILES = types.get("files")


@pytest.fixture(scope="module", params=selected_databases())
def eng(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blobs-%s" % request.param)
    with database_url(request.param, tmp) as url:
        db = make_engine(url)
        migrate.upgrade(db)
        store = stores.create("filesystem", "fs", {"datadir": str(tmp / "d")})
        yield Engine(db, store, Enforcer(config.load(),
                                         IMAGE_RULES + ARTIFACT_RULES),
                     Limits(max_blob_size=10 << 20),
                     locks=Locks(db, wait_seconds=0.3))
        db.dispose()


def ctx(project="p1", roles=("member", "reader")):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=roles)


def data_files(eng):
    root = eng.stores.default_driver.datadir
    import os
    return [os.path.join(d, f) for d, _, fs in os.walk(root)
            if ".tmp" not in d for f in fs]


def new_heat(eng, name, version="1.0.0", c=None, **props):
    return eng.create(c or ctx(), HEAT, {"name": name, "version": version,
                                         "properties": props})


def test_name_and_version_are_unique_per_project(eng):
    first = new_heat(eng, "stack-a", "1.0.0")
    with pytest.raises(errors.Conflict):
        new_heat(eng, "stack-a", "1.0.0")
    # Build metadata does not make another version; another project may.
    with pytest.raises(errors.Conflict):
        new_heat(eng, "stack-a", "1.0.0+b7")
    new_heat(eng, "stack-a", "1.0.0", c=ctx("p2"))
    new_heat(eng, "stack-a", "1.0.1")
    # Deleting frees the name and version.
    eng.delete(ctx(), HEAT, first["id"])
    new_heat(eng, "stack-a", "1.0.0")


def test_concurrent_creates_of_one_version_one_wins(eng):
    results = []

    def attempt():
        try:
            new_heat(eng, "race", "2.0.0")
            results.append("ok")
        except errors.Conflict:
            results.append("conflict")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(attempt)
    assert sorted(results) == ["conflict"] * 7 + ["ok"]


def test_fields_are_validated(eng):
    with pytest.raises(errors.Invalid):
        new_heat(eng, "bad", default_envs="not a dict")
    with pytest.raises(errors.Invalid):
        new_heat(eng, "bad", unknown_field="x")
    with pytest.raises(errors.Invalid):
        new_heat(eng, "bad", version="v1")
    with pytest.raises(errors.Forbidden):
        new_heat(eng, "bad", template="not data")


def test_blob_upload_activate_and_freeze(eng):
    art = new_heat(eng, "life", description="d")
    with pytest.raises(errors.Invalid):
        eng.activate(ctx(), HEAT, art["id"])       # template missing
    eng.data.upload(ctx(), HEAT, art["id"], "template", [b"heat: 1"])
    blob = eng.data.open(ctx(), HEAT, art["id"], "template").blob
    assert blob["size"] == 7 and blob["sha256"]
    # Re-upload while drafted replaces the data without leaking the old.
    before = len(data_files(eng))
    eng.data.upload(ctx(), HEAT, art["id"], "template", [b"heat: 2"])
    assert len(data_files(eng)) == before
    active = eng.activate(ctx(), HEAT, art["id"])
    assert active["status"] == "active"
    with pytest.raises(errors.Forbidden):
        eng.data.upload(ctx(), HEAT, art["id"], "template", [b"x"])
    with pytest.raises(errors.Forbidden):
        eng.update(ctx(), HEAT, art["id"],
                   lambda a: a.update(name="renamed"))
    # description is mutable after activation.
    eng.update(ctx(), HEAT, art["id"], lambda a: a["properties"].update(
        description="new"))


def test_folder_files_and_path_safety(eng):
    art = eng.create(ctx(), FILES, {"name": "folder", "version": "1.0.0"})
    eng.data.upload(ctx(), FILES, art["id"], "files", [b"a"], path="x/y.txt")
    eng.data.upload(ctx(), FILES, art["id"], "files", [b"bb"], path="z")
    blob = eng.data.open(ctx(), FILES, art["id"], "files", "x/y.txt").blob
    assert blob["size"] == 1
    for bad in ("../etc/passwd", "/abs", "a/../b", "a\x00b", "a//b",
                "a/" * 40 + "f", "x" * 2000, ""):
        with pytest.raises(errors.Invalid):
            eng.data.upload(ctx(), FILES, art["id"], "files", [b"x"],
                            path=bad)
    eng.data.delete(ctx(), FILES, art["id"], "files", "z")
    with pytest.raises(errors.NotFound):
        eng.data.open(ctx(), FILES, art["id"], "files", "z")


SMALL_FOLDER = artifact_type("small_folders", {
    "docs": Field("folder", max_items=3, max_size=10 * 1024)},
    noun="small folder")


@pytest.mark.parametrize("size,fit", [(3 * 1024, 3), (4 * 1024, 2)])
def test_folder_limits_hold_under_concurrent_uploads(eng, size, fit):
    """Every upload passes the folder's start check while the folder is
    empty; the finishing transaction checks again, so the folder never
    holds more than ``max_items`` files nor ``max_size`` bytes."""
    # Eight finishes queue for the artifact's lock: wait as a server does.
    eng = Engine(eng.db, eng.stores.default_driver, eng.enforcer,
                 eng.limits, locks=Locks(eng.db, wait_seconds=5))
    art = eng.create(ctx(), SMALL_FOLDER, {"name": "f%d" % size,
                                           "version": "1.0.0"})
    started = threading.Barrier(8, timeout=10)
    outcomes = []

    def chunks():
        yield b"x" * (size // 2)
        started.wait()              # all eight have passed the start check
        yield b"y" * (size - size // 2)

    def upload(i):
        try:
            eng.data.upload(ctx(), SMALL_FOLDER, art["id"], "docs",
                            chunks(), path="f%d" % i)
            outcomes.append("ok")
        except errors.RequestTooLarge:
            outcomes.append("413")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(upload, range(8)))
    files = [b for b in eng.get(ctx(), SMALL_FOLDER, art["id"])["blobs"]
             if b["status"] == "active"]
    assert sorted(outcomes) == ["413"] * (8 - fit) + ["ok"] * fit
    assert len(files) == fit <= 3
    assert sum(b["size"] for b in files) <= 10 * 1024
    # The refused uploads left no data behind.
    assert sum(art["id"] in f for f in data_files(eng)) == fit


def test_one_of_concurrent_uploads_into_a_blob_wins(eng):
    art = eng.create(ctx(), FILES, {"name": "race-blob", "version": "1.0.0"})
    gate = threading.Event()
    outcomes = []

    def slow_chunks():
        yield b"x" * 1024
        gate.wait(5)
        yield b"y" * 1024

    def upload():
        try:
            eng.data.upload(ctx(), FILES, art["id"], "file", slow_chunks())
            outcomes.append("ok")
        except errors.Conflict:
            outcomes.append("conflict")
            # The first upload holds its claim until all others were
            # refused (a later, sequential upload would rightly succeed).
            if outcomes.count("conflict") == 3:
                gate.set()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(upload)
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]


def test_other_projects_cannot_see_private_artifacts(eng):
    art = new_heat(eng, "private-one")
    with pytest.raises(errors.NotFound):
        eng.get(ctx("p9"), HEAT, art["id"])
    with pytest.raises(errors.NotFound):
        eng.data.upload(ctx("p9"), HEAT, art["id"], "template", [b"x"])


def test_a_held_lock_makes_changes_wait_then_409(eng):
    art = new_heat(eng, "locked-one")
    with eng.locks.hold((HEAT.noun, art["id"]), operation="upload"):
        with pytest.raises(errors.Conflict) as err:
            eng.update(ctx(), HEAT, art["id"],
                       lambda a: a["properties"].update(description="x"))
        assert "locked by another operation (upload)" in err.value.message
        with pytest.raises(errors.Conflict):
            eng.delete(ctx(), HEAT, art["id"])
    # Released: the same change now goes through.
    eng.update(ctx(), HEAT, art["id"],
               lambda a: a["properties"].update(description="x"))


# ------------------------------------------------------------ vnf packages

def _zip(members):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


VNF = types.get("vnf_packages")


def test_vnf_package_is_unpacked_into_contents(eng):
    art = eng.create(ctx(), VNF, {"name": "vnf", "version": "1.0.0"})
    package = _zip({"TOSCA-Metadata/TOSCA.meta":
                    "TOSCA-Meta-File-Version: 1.0\n"
                    "Entry-Definitions: Definitions/vnfd.yaml\n",
                    "Definitions/vnfd.yaml": "tosca_definitions_version: x\n",
                    "Files/images/readme.txt": "hello"})
    eng.data.upload(ctx(), VNF, art["id"], "package", [package])
    got = eng.get(ctx(), VNF, art["id"])
    paths = sorted(b["path"] for b in got["blobs"] if b["field"] == "contents")
    assert paths == ["Definitions/vnfd.yaml", "Files/images/readme.txt",
                     "TOSCA-Metadata/TOSCA.meta"]
    blob = eng.data.open(ctx(), VNF, art["id"], "contents",
                         "Files/images/readme.txt").blob
    reader = open_locations(eng.stores, blob)
    assert reader.read(100) == b"hello"
    reader.close()
    # A new package replaces the old contents without leaking them.
    before = len(data_files(eng))
    eng.data.upload(ctx(), VNF, art["id"], "package", [package])
    assert len(data_files(eng)) == before
    # Users cannot write the derived folder themselves.
    with pytest.raises(errors.Forbidden):
        eng.data.upload(ctx(), VNF, art["id"], "contents", [b"x"], path="a")


@pytest.mark.parametrize("members", [
    {"../evil.yaml": "x"},
    {"Definitions/a.yaml": "x", "b.yaml": "y", "c.yaml": "z"},  # no entry
    {"TOSCA-Metadata/TOSCA.meta": "Entry-Definitions: missing.yaml\n"},
])
def test_bad_vnf_packages_leave_nothing(eng, members):
    import uuid
    art = eng.create(ctx(), VNF, {"name": "bad-" + uuid.uuid4().hex,
                                  "version": "1.0.0"})
    before = len(data_files(eng))
    with pytest.raises(errors.Invalid):
        eng.data.upload(ctx(), VNF, art["id"], "package", [_zip(members)])
    assert len(data_files(eng)) == before
    assert eng.get(ctx(), VNF, art["id"])["blobs"] == []


def test_a_stalled_blob_upload_is_repaired(eng):
    import datetime
    from artifacts.db import api as db_api
    from artifacts.db.models import artifact_blobs
    art = eng.create(ctx(), FILES, {"name": "stalled", "version": "1.0.0"})
    claim = eng.data._claim(FILES, art["id"], "file", "", None).claim  # died
    with pytest.raises(errors.Conflict):
        eng.data.upload(ctx(), FILES, art["id"], "file", [b"x"])
    old = db_api.utcnow() - datetime.timedelta(
        seconds=eng.limits.stale_upload_seconds + 5)
    with eng.db.begin() as conn:
        conn.execute(artifact_blobs.update().where(
            artifact_blobs.c.id == claim).values(updated_at=old))
    assert eng.data.recover_stale_uploads([FILES]) == 1
    eng.data.upload(ctx(), FILES, art["id"], "file", [b"x"])
    eng.activate(ctx(), FILES, art["id"])


def test_links_must_name_visible_artifacts_of_their_type(eng):
    import uuid
    env_type = types.get("heat_environments")
    env = eng.create(ctx(), env_type, {"name": "env-" + uuid.uuid4().hex,
                                       "version": "1.0.0"})
    other_tpl = new_heat(eng, "not-an-env-" + uuid.uuid4().hex)
    foreign = eng.create(ctx("p-other"), env_type,
                         {"name": "theirs", "version": "1.0.0"})
    tpl = new_heat(eng, "linking-" + uuid.uuid4().hex,
                   environments=[env["id"]])
    assert tpl["properties"]["environments"] == [env["id"]]
    for bad in ([str(uuid.uuid4())], [other_tpl["id"]], [foreign["id"]],
                ["not-an-id"]):
        with pytest.raises(errors.Invalid):
            eng.update(ctx(), HEAT, tpl["id"], lambda a, b=bad:
                       a["properties"].update(environments=b))


def test_type_hooks_run_and_pre_hooks_can_refuse(eng):
    import uuid
    from artifacts.types.base import Field, artifact_type
    calls = []

    def record(point):
        def hook(ctx_, artifact, **kw):
            calls.append(point)
            if point == "pre_delete" and artifact["properties"].get(
                    "description") == "keep":
                raise errors.Forbidden("This one is kept by its hook.")
        return hook
    points = ("pre_create", "post_create", "pre_update", "post_update",
              "pre_activate", "post_activate", "pre_deactivate",
              "post_deactivate", "pre_download", "pre_delete", "post_delete")
    hooked = artifact_type("hooked_" + uuid.uuid4().hex[:6], {
        "description": Field("string"), "file": Field("blob")},
        hooks={p: [record(p)] for p in points},
        policy_rules={op: "artifact:%s" % op for op in (
            "create", "get", "update", "delete", "upload", "download",
            "activate", "deactivate", "list")})
    art = eng.create(ctx(), hooked, {"name": "h", "version": "1.0.0"})
    eng.update(ctx(), hooked, art["id"],
               lambda a: a["properties"].update(description="keep"))
    eng.data.upload(ctx(), hooked, art["id"], "file", [b"x"])
    eng.activate(ctx(), hooked, art["id"])
    eng.data.open(ctx(), hooked, art["id"], "file")
    eng.change_status(ctx(), hooked, art["id"], "deactivate", "active",
                      "deactivated")
    with pytest.raises(errors.Forbidden):
        eng.delete(ctx(), hooked, art["id"])
    assert eng.get(ctx(), hooked, art["id"])["status"] == "deactivated"
    assert calls == ["pre_create", "post_create", "pre_update",
                     "post_update", "pre_activate", "post_activate",
                     "pre_download", "pre_deactivate", "post_deactivate",
                     "pre_delete"]


def _text(size, seed):
    """``size`` bytes of hex text: compresses about 2:1, like real files."""
    import hashlib
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d-%d" % (seed, counter)).hexdigest().encode()
        counter += 1
    return bytes(out[:size])


def test_vnf_package_over_quota_writes_no_member(eng):
    """The unpacked total the archive declares is reserved against the
    project's stored-bytes quota before a single member is written."""
    import uuid
    from artifacts import quota_admin
    project = "quota-" + uuid.uuid4().hex[:8]
    quota_admin.set_quotas(eng, ctx("admins", ("admin",)), [
        {"project_id": project, "type_name": "", "name": "stored_bytes",
         "value": 300 * 1024}])
    art = eng.create(ctx(project), VNF, {"name": "big", "version": "1.0.0"})
    package = _zip({"main.yaml": "tosca_definitions_version: x\n",
                    "Files/a.txt": _text(200 * 1024, 1),
                    "Files/b.txt": _text(200 * 1024, 2)})
    assert len(package) < 300 * 1024
    store = eng.stores.default_driver
    written = []
    real_writer = store.writer

    def spy(key):
        written.append(key)
        return real_writer(key)
    store.writer = spy
    try:
        before = len(data_files(eng))
        with pytest.raises(errors.RequestTooLarge) as exc:
            eng.data.upload(ctx(project), VNF, art["id"], "package",
                            [package])
    finally:
        del store.writer
    assert "stored_bytes" in exc.value.message
    assert [k for k in written if "/contents/" in k] == []
    assert len(data_files(eng)) == before
    assert eng.get(ctx(project), VNF, art["id"])["blobs"] == []
    # Within the quota the same package is unpacked.
    quota_admin.set_quotas(eng, ctx("admins", ("admin",)), [
        {"project_id": project, "type_name": "", "name": "stored_bytes",
         "value": 2 * 1024 * 1024}])
    eng.data.upload(ctx(project), VNF, art["id"], "package", [package])
    got = eng.get(ctx(project), VNF, art["id"])
    assert sorted(b["path"] for b in got["blobs"]
                  if b["field"] == "contents") == [
        "Files/a.txt", "Files/b.txt", "main.yaml"]


def test_external_url_refused_where_hooks_check_the_data(eng):
    """A VNF package is unpacked and validated on upload, an image's
    format inspected: an external URL would skip both (and the package
    could be activated unchecked), so such fields refuse one; a plain
    blob still takes one."""
    import uuid
    images = types.get("images")
    art = eng.create(ctx(), VNF, {"name": "ext-" + uuid.uuid4().hex,
                                  "version": "1.0.0"})
    with pytest.raises(errors.Invalid) as exc:
        eng.data.register_external(ctx(), VNF, art["id"], "package",
                                   "https://example.com/pkg.csar")
    assert "cannot hold an external URL" in exc.value.message
    with pytest.raises(errors.Invalid):
        eng.activate(ctx(), VNF, art["id"])
    assert eng.get(ctx(), VNF, art["id"])["blobs"] == []
    image = eng.create(ctx(), images, {"name": "ext", "properties": {
        "disk_format": "raw", "container_format": "bare"}})
    with pytest.raises(errors.Invalid):
        eng.data.register_external(ctx(), images, image["id"], "image",
                                   "https://example.com/disk.raw")
    assert VNF.checks_data("package") and not VNF.checks_data("contents")
    assert not FILES.checks_data("file")
    plain = eng.create(ctx(), FILES, {"name": "ext-" + uuid.uuid4().hex,
                                      "version": "1.0.0"})
    eng.data.register_external(ctx(), FILES, plain["id"], "file",
                               "https://example.com/f.bin")
