"""The artifact engine with a real SQLite database, a real filesystem store
and the real policy enforcer (Glance's default rules)."""

import datetime
import hashlib
import os
import struct
import time
import uuid

import pytest

from artifacts import errors, stores
from artifacts import engine as engine_mod
from artifacts.context import RequestContext
from artifacts.db import api as db_api
from artifacts.db.models import artifacts
from artifacts.db.query import Filter, Scope
from artifacts.engine import Engine, Limits
from artifacts.types.images import IMAGES

DATA = b"0123456789"


@pytest.fixture
def datadir(tmp_path):
    return tmp_path / "images"


@pytest.fixture
def make_engine_with(db_engine, enforcer, datadir):
    def build(**limits):
        store = stores.create("filesystem", "file", {"datadir": str(datadir)})
        return Engine(db_engine, store, enforcer, Limits(**limits))
    return build


@pytest.fixture
def eng(make_engine_with):
    return make_engine_with()


def project():
    return "p-" + uuid.uuid4().hex[:12]


def member_ctx(project_id=None):
    return RequestContext(project_id=project_id or project(), user_id="u",
                          roles=("member", "reader"))


def reader_ctx(project_id):
    return RequestContext(project_id=project_id, user_id="r",
                          roles=("reader",))


def admin_ctx():
    return RequestContext(project_id=project(), user_id="admin",
                          roles=("admin", "member", "reader"))


@pytest.fixture
def owner():
    return member_ctx()


@pytest.fixture
def other():
    return member_ctx()


@pytest.fixture
def admin():
    return admin_ctx()


def create(eng, ctx, **values):
    values.setdefault("name", "img")
    return eng.create(ctx, IMAGES, values)


def create_raw(eng, ctx, **values):
    props = values.setdefault("properties", {})
    props.setdefault("disk_format", "raw")
    props.setdefault("container_format", "bare")
    return create(eng, ctx, **values)


def data_files(datadir):
    """Every file under the data directory, temp files included."""
    found = []
    for root, _dirs, files in os.walk(datadir):
        found.extend(os.path.join(root, f) for f in files)
    return found


def set_row(db_engine, artifact_id, **values):
    with db_engine.begin() as conn:
        conn.execute(artifacts.update().where(
            artifacts.c.id == artifact_id).values(**values))


# --------------------------------------------------------------------- create

def test_create_and_get(eng, owner):
    art = create(eng, owner, properties={"os_distro": "ubuntu"},
                 tags=["a", "b", "a"])
    assert art["status"] == "queued"
    assert art["visibility"] == "shared"        # Glance's default
    assert art["owner"] == owner.project_id
    assert art["tags"] == {"a", "b"}
    got = eng.get(owner, IMAGES, art["id"])
    assert got["name"] == "img"
    assert got["properties"] == {"os_distro": "ubuntu", "min_ram": 0,
                                 "min_disk": 0}
    assert got["tags"] == {"a", "b"}
    assert got["protected"] is False and got["hidden"] is False
    assert got["blobs"] == []


def test_create_with_client_id_and_duplicate(eng, owner):
    image_id = str(uuid.uuid4())
    art = eng.create(owner, IMAGES, {"name": "x"}, artifact_id=image_id)
    assert art["id"] == image_id
    with pytest.raises(errors.Conflict) as exc:
        eng.create(owner, IMAGES, {"name": "y"}, artifact_id=image_id)
    assert exc.value.message == "Image ID %s already exists!" % image_id


@pytest.mark.parametrize("bad", [
    "5A0B7C1E-3F2D-4C6B-9A8E-1D2C3B4A5F60",      # upper case
    "5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60\n",    # trailing newline
    "{5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60}", 12345, ["x"]])
def test_create_refuses_non_canonical_ids(eng, owner, bad):
    """The engine, not only the faces, keeps ids canonical: anything else
    could be stored but never addressed again."""
    with pytest.raises(errors.Invalid) as exc:
        eng.create(owner, IMAGES, {"name": "x"}, artifact_id=bad)
    assert isinstance(exc.value.message, str)
    assert "canonical" in exc.value.message


def test_create_for_another_owner_needs_admin(eng, owner, admin):
    with pytest.raises(errors.Forbidden) as exc:
        create(eng, owner, owner="zzz")
    assert "not permitted to create images owned by 'zzz'" in \
        exc.value.message
    assert create(eng, admin, owner="zzz")["owner"] == "zzz"


def test_create_public_needs_admin(eng, owner, admin):
    with pytest.raises(errors.Forbidden) as exc:
        create(eng, owner, visibility="public")
    assert exc.value.message == ("You are not authorized to complete "
                                 "publicize_image action.")
    assert create(eng, admin, visibility="public")["visibility"] == "public"
    assert create(eng, owner, visibility="community")["visibility"] == \
        "community"


def test_reader_cannot_create(eng):
    with pytest.raises(errors.Forbidden):
        create(eng, reader_ctx(project()))


# ----------------------------------------------------------------------- list

def test_list_applies_scope_filters_sort_and_marker(eng, owner, other):
    mine = [create(eng, owner, name="n%d" % i, tags=["mine"])
            for i in range(3)]
    foreign = create(eng, other, name="foreign", tags=["mine"])
    killed = create(eng, owner, name="killed", tags=["mine"])
    set_row(eng.db, killed["id"], status="killed")
    scope = Scope(owner.project_id)
    tag = [Filter("tag", "eq", "mine", "tag")]
    got = eng.list(owner, IMAGES, scope, tag, [("name", "asc", "string")])
    # Not the other project's shared image, never a killed one.
    assert [a["id"] for a in got] == [a["id"] for a in mine]
    page = eng.list(owner, IMAGES, scope, tag, [("name", "asc", "string")],
                    limit=2, marker=mine[0]["id"])
    assert [a["name"] for a in page] == ["n1", "n2"]
    assert page[0]["properties"]["min_ram"] == 0   # full artifacts
    with pytest.raises(errors.Invalid) as exc:
        eng.list(owner, IMAGES, scope, marker=foreign["id"])
    assert exc.value.message == "No image found with ID %s" % foreign["id"]
    # A killed image stays readable by id.
    assert eng.get(owner, IMAGES, killed["id"])["status"] == "killed"


def test_list_needs_the_get_images_rule(eng):
    nobody = RequestContext(project_id=project(), roles=())
    with pytest.raises(errors.Forbidden):
        eng.list(nobody, IMAGES, Scope(nobody.project_id))


# --------------------------------------------------------------------- update

def test_update_saves_changes(eng, owner):
    art = create(eng, owner, properties={"a": "1", "b": "2"}, tags=["t1"])

    def mutate(a):
        a["name"] = "renamed"
        a["properties"]["a"] = "changed"
        del a["properties"]["b"]
        a["properties"]["c"] = "new"
        a["tags"] = {"t2"}
        a["protected"] = True
        a["hidden"] = True

    new = eng.update(owner, IMAGES, art["id"], mutate)
    got = eng.get(owner, IMAGES, art["id"])
    assert new["revision"] == got["revision"] == 1
    assert got["name"] == "renamed"
    assert got["properties"] == {"a": "changed", "c": "new", "min_ram": 0,
                                 "min_disk": 0}
    assert got["tags"] == {"t2"}
    assert got["protected"] is True and got["hidden"] is True


def test_update_without_changes_writes_nothing(eng, owner):
    art = create(eng, owner)
    same = eng.update(owner, IMAGES, art["id"], lambda a: None)
    assert same["revision"] == 0
    assert eng.get(owner, IMAGES, art["id"])["revision"] == 0


def test_update_reruns_mutate_after_a_concurrent_change(eng, owner,
                                                        monkeypatch):
    art = create(eng, owner, properties={"counter": "0"})
    real_update = db_api.update
    calls = {"mutate": 0, "update": 0}

    def racing_update(conn, old, new, now=None):
        calls["update"] += 1
        if calls["update"] == 1:
            # Another request commits between our read and our write.
            current = db_api.get(conn, old["id"])
            theirs = dict(current, properties=dict(current["properties"]))
            theirs["properties"]["counter"] = str(
                int(current["properties"]["counter"]) + 1)
            theirs["properties"]["theirs"] = "yes"
            assert real_update(conn, current, theirs)
        return real_update(conn, old, new, now)

    monkeypatch.setattr(db_api, "update", racing_update)

    def mutate(a):
        calls["mutate"] += 1
        props = a["properties"]
        props["counter"] = str(int(props["counter"]) + 1)
        props["mine"] = "yes"

    eng.update(owner, IMAGES, art["id"], mutate)
    assert calls == {"mutate": 2, "update": 2}
    props = eng.get(owner, IMAGES, art["id"])["properties"]
    # Neither change is lost.
    assert props["counter"] == "2"
    assert props["theirs"] == "yes" and props["mine"] == "yes"


def test_update_gives_up_after_too_many_conflicts(eng, owner, monkeypatch):
    art = create(eng, owner)
    monkeypatch.setattr(db_api, "update", lambda conn, old, new, now=None:
                        False)
    monkeypatch.setattr(engine_mod, "CAS_RETRIES", 3)
    monkeypatch.setattr(engine_mod.time, "sleep", lambda s: None)
    with pytest.raises(errors.Conflict):
        eng.update(owner, IMAGES, art["id"],
                   lambda a: a.update(name="never"))


@pytest.mark.parametrize("field", ["size", "virtual_size", "checksum",
                                   "os_hash_algo", "os_hash_value"])
def test_system_fields_are_read_only(eng, owner, admin, field):
    art = create(eng, owner)
    for ctx in (owner, admin):
        with pytest.raises(errors.Forbidden) as exc:
            eng.update(ctx, IMAGES, art["id"],
                       lambda a: a["properties"].update({field: 1}))
        assert exc.value.message == "Attribute '%s' is read-only." % field


def test_owner_change_needs_admin(eng, owner, admin):
    art = create(eng, owner)
    with pytest.raises(errors.Forbidden) as exc:
        eng.update(owner, IMAGES, art["id"],
                   lambda a: a.update(owner="someone-else"))
    assert exc.value.message == "Owner can't be updated by non admin."
    eng.update(admin, IMAGES, art["id"], lambda a: a.update(owner="p-new"))
    assert eng.get(admin, IMAGES, art["id"])["owner"] == "p-new"


def test_publicize_needs_admin(eng, owner, admin):
    art = create(eng, owner)
    with pytest.raises(errors.Forbidden) as exc:
        eng.update(owner, IMAGES, art["id"],
                   lambda a: a.update(visibility="public"))
    assert "publicize_image" in exc.value.message
    eng.update(owner, IMAGES, art["id"],
               lambda a: a.update(visibility="community"))
    eng.update(admin, IMAGES, art["id"],
               lambda a: a.update(visibility="public"))
    assert eng.get(owner, IMAGES, art["id"])["visibility"] == "public"


def test_update_policy(eng, owner, other):
    art = create(eng, owner, visibility="community")
    # Visible to the other project, but not theirs to change: 403.
    with pytest.raises(errors.Forbidden) as exc:
        eng.update(other, IMAGES, art["id"], lambda a: a.update(name="x"))
    assert exc.value.message == ("You are not authorized to complete "
                                 "modify_image action.")
    # A reader of the owning project may not change it either.
    with pytest.raises(errors.Forbidden):
        eng.update(reader_ctx(owner.project_id), IMAGES, art["id"],
                   lambda a: a.update(name="x"))


# --------------------------------------------------------------------- quotas

def test_property_quota(make_engine_with, owner):
    eng = make_engine_with(max_properties=2)
    with pytest.raises(errors.QuotaExceeded) as exc:
        create(eng, owner, properties={"a": "1", "b": "2", "c": "3"})
    assert exc.value.status == 413
    assert exc.value.message == (
        "The limit has been exceeded on the number of allowed image "
        "properties. Attempted: 3, Maximum: 2")
    # Declared fields and os_glance_* do not count.
    art = create(eng, owner, properties={"a": "1", "b": "2",
                                         "os_glance_x": "", "min_ram": 5})
    with pytest.raises(errors.QuotaExceeded):
        eng.update(owner, IMAGES, art["id"],
                   lambda a: a["properties"].update(c="3"))
    eng.update(owner, IMAGES, art["id"],
               lambda a: a["properties"].update(a="changed"))
    # An image over a lowered quota may still shrink.
    big = make_engine_with()
    art = create(big, owner, properties={k: "v" for k in "abcd"})
    eng.update(owner, IMAGES, art["id"],
               lambda a: a["properties"].pop("d"))
    assert "d" not in eng.get(owner, IMAGES, art["id"])["properties"]


def test_tag_quota(make_engine_with, owner):
    eng = make_engine_with(max_tags=2)
    with pytest.raises(errors.QuotaExceeded) as exc:
        create(eng, owner, tags=["a", "b", "c"])
    assert exc.value.message == (
        "The limit has been exceeded on the number of allowed image tags. "
        "Attempted: 3, Maximum: 2")
    art = create(eng, owner, tags=["a", "b"])
    with pytest.raises(errors.QuotaExceeded):
        eng.update(owner, IMAGES, art["id"], lambda a: a["tags"].add("c"))
    eng.update(owner, IMAGES, art["id"], lambda a: a.update(tags={"x"}))


def test_member_quota(make_engine_with, owner):
    eng = make_engine_with(max_members=1)
    art = create(eng, owner)
    eng.sharing.add_member(owner, IMAGES, art["id"], "p-m1")
    with pytest.raises(errors.QuotaExceeded) as exc:
        eng.sharing.add_member(owner, IMAGES, art["id"], "p-m2")
    assert exc.value.message == (
        "The limit has been exceeded on the number of allowed image members "
        "for this image. Attempted: 2, Maximum: 1")


def test_negative_limits_mean_unlimited(make_engine_with, owner):
    eng = make_engine_with(max_properties=-1, max_tags=-1, max_members=-1)
    art = create(eng, owner, properties={"p%d" % i: "v" for i in range(40)},
                 tags=["t%d" % i for i in range(40)])
    for i in range(5):
        eng.sharing.add_member(owner, IMAGES, art["id"], "m%d" % i)


# --------------------------------------------------------------------- upload

def test_upload_happy_path(eng, owner, datadir):
    art = create_raw(eng, owner)
    eng.data.upload(owner, IMAGES, art["id"], "image", iter([b"012", b"", b"3456789"]))
    got = eng.get(owner, IMAGES, art["id"])
    assert got["status"] == "active"
    props = got["properties"]
    assert props["size"] == 10
    assert props["virtual_size"] == 10          # raw + bare
    assert props["checksum"] == hashlib.md5(DATA).hexdigest()
    assert props["os_hash_algo"] == "sha512"
    assert props["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    [blob] = got["blobs"]
    assert blob["field"] == "image" and blob["status"] == "active"
    assert blob["size"] == 10
    assert blob["md5"] == props["checksum"]
    assert blob["sha512"] == props["os_hash_value"]
    [location] = blob["locations"]
    assert location["store"] == "file" and location["status"] == "active"
    # One flat key scheme for every type: <artifact id>.<field>.<name>.
    path = location["url"][len("file://"):]
    assert location["url"].startswith("file://")
    assert os.path.dirname(path) == os.path.realpath(datadir)
    assert os.path.basename(path).startswith(art["id"] + ".image.")
    with open(path, "rb") as f:
        assert f.read() == DATA
    opened = eng.data.open(owner, IMAGES, art["id"], "image").blob
    assert opened["locations"] == blob["locations"]


def _qcow2(virtual_size=1 << 30, length=4 * 65536, backing=False):
    """A minimal qcow2 (v2) of ``virtual_size``, optionally naming a backing
    file (which the safety checks must refuse)."""
    bf_offset, bf_size = (0x200, 8) if backing else (0, 0)
    header = b"QFI\xfb" + struct.pack(
        ">IQIIQIIQQIIQ", 2, bf_offset, bf_size, 16, virtual_size, 0, 1,
        0x30000, 0x10000, 1, 0, 0)
    data = bytearray(header + b"\0" * (length - len(header)))
    if backing:
        data[0x200:0x208] = b"/etc/pw\0"
    return bytes(data)


def test_qcow2_virtual_size_comes_from_its_header(eng, owner, datadir):
    art = create(eng, owner, properties={"disk_format": "qcow2",
                                         "container_format": "bare"})
    data = _qcow2(virtual_size=5 << 30)
    eng.data.upload(owner, IMAGES, art["id"], "image", [data[:1000], data[1000:]])
    props = eng.get(owner, IMAGES, art["id"])["properties"]
    assert props["size"] == len(data)
    assert props["virtual_size"] == 5 << 30


@pytest.mark.parametrize("declared,data", [
    ("qcow2", DATA * 1000),                 # raw bytes declared as qcow2
    ("vmdk", _qcow2()),                     # qcow2 bytes declared as vmdk
    ("qcow2", _qcow2(backing=True)),        # fails the safety checks
])
def test_refused_data_leaves_nothing_behind(eng, owner, datadir, declared,
                                            data):
    art = create(eng, owner, properties={"disk_format": declared,
                                         "container_format": "bare"})
    with pytest.raises(errors.UnsupportedMediaType):
        eng.data.upload(owner, IMAGES, art["id"], "image", [data])
    got = eng.get(owner, IMAGES, art["id"])
    assert got["status"] == "queued" and got["blobs"] == []
    assert got["properties"].get("size") is None
    assert got["properties"].get("checksum") is None
    assert data_files(datadir) == []
    # Correct data is accepted afterwards.
    if declared == "qcow2":
        eng.data.upload(owner, IMAGES, art["id"], "image", [_qcow2()])
        assert eng.get(owner, IMAGES, art["id"])["status"] == "active"


def test_raw_may_hold_anything_and_other_containers_are_not_inspected(
        eng, owner):
    raw = create(eng, owner, properties={"disk_format": "raw",
                                         "container_format": "bare"})
    data = _qcow2(virtual_size=5 << 30)
    eng.data.upload(owner, IMAGES, raw["id"], "image", [data])
    assert eng.get(owner, IMAGES, raw["id"])["properties"][
        "virtual_size"] == len(data)
    ovf = create(eng, owner, properties={"disk_format": "qcow2",
                                         "container_format": "ovf"})
    eng.data.upload(owner, IMAGES, ovf["id"], "image", [DATA])
    props = eng.get(owner, IMAGES, ovf["id"])["properties"]
    assert props["size"] == 10 and props.get("virtual_size") is None


def test_ami_accepts_uninspectable_data_without_virtual_size(eng, owner):
    art = create(eng, owner, properties={"disk_format": "ami",
                                         "container_format": "bare"})
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    props = eng.get(owner, IMAGES, art["id"])["properties"]
    assert props.get("virtual_size") is None


def test_upload_with_another_hash_algorithm(make_engine_with, owner):
    eng = make_engine_with(hashing_algorithm="sha256")
    art = create_raw(eng, owner)
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    props = eng.get(owner, IMAGES, art["id"])["properties"]
    assert props["os_hash_algo"] == "sha256"
    assert props["os_hash_value"] == hashlib.sha256(DATA).hexdigest()
    assert props["checksum"] == hashlib.md5(DATA).hexdigest()


def test_upload_needs_formats(eng, owner, datadir):
    art = create(eng, owner)
    with pytest.raises(errors.Invalid) as exc:
        eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    assert exc.value.message == ("Properties disk_format, container_format "
                                 "must be set prior to saving data.")
    art = create(eng, owner, properties={"disk_format": "raw"})
    with pytest.raises(errors.Invalid) as exc:
        eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    assert exc.value.message == ("Property container_format must be set "
                                 "prior to saving data.")
    assert eng.get(owner, IMAGES, art["id"])["status"] == "queued"
    assert data_files(datadir) == []


def test_upload_to_a_non_queued_image_is_a_conflict(eng, owner):
    art = create_raw(eng, owner)
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    with pytest.raises(errors.Conflict) as exc:
        eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    assert exc.value.message == ("Image status transition from active to "
                                 "saving is not allowed")


def test_upload_needs_the_upload_rule(eng, owner):
    art = create_raw(eng, owner)
    with pytest.raises(errors.Forbidden):
        eng.data.upload(reader_ctx(owner.project_id), IMAGES, art["id"], "image", [DATA])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "queued"


def test_upload_over_the_size_cap(make_engine_with, owner, datadir):
    eng = make_engine_with(max_blob_size=9)
    art = create_raw(eng, owner)
    with pytest.raises(errors.RequestTooLarge) as exc:
        eng.data.upload(owner, IMAGES, art["id"], "image", [b"01234", b"56789"])
    assert exc.value.status == 413
    got = eng.get(owner, IMAGES, art["id"])
    assert got["status"] == "queued"
    assert got["blobs"] == []
    assert "size" not in got["properties"]
    assert data_files(datadir) == []
    # Exactly at the cap is fine.
    eng.data.upload(owner, IMAGES, art["id"], "image", [b"012345678"])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "active"


def test_upload_stream_failing_midway(eng, owner, datadir):
    art = create_raw(eng, owner)

    def body():
        yield b"first part"
        yield b"x" * (2 * 1024 * 1024)       # a block reaches the store
        raise IOError("client went away")

    with pytest.raises(IOError, match="client went away"):
        eng.data.upload(owner, IMAGES, art["id"], "image", body())
    got = eng.get(owner, IMAGES, art["id"])
    assert got["status"] == "queued"
    assert got["blobs"] == []
    assert data_files(datadir) == []
    # The image can take data again.
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "active"


def test_stale_saving_upload_is_reset(make_engine_with, owner):
    eng = make_engine_with(stale_upload_seconds=60)
    art = create_raw(eng, owner)
    # A recent 'saving' is a live upload: 409.
    set_row(eng.db, art["id"], status="saving",
            updated_at=db_api.utcnow())
    with pytest.raises(errors.Conflict):
        eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    # No progress for longer than stale_upload_seconds: the upload died.
    set_row(eng.db, art["id"], status="saving",
            updated_at=db_api.utcnow() - datetime.timedelta(seconds=120))
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    got = eng.get(owner, IMAGES, art["id"])
    assert got["status"] == "active"
    assert got["properties"]["size"] == 10


def test_reset_stale_uploads(make_engine_with, owner):
    eng = make_engine_with(stale_upload_seconds=60)
    live, dead = create_raw(eng, owner), create_raw(eng, owner)
    set_row(eng.db, live["id"], status="saving", updated_at=db_api.utcnow())
    set_row(eng.db, dead["id"], status="saving",
            updated_at=db_api.utcnow() - datetime.timedelta(seconds=120))
    assert eng.data.recover_stale_uploads([IMAGES]) == 1
    assert eng.get(owner, IMAGES, live["id"])["status"] == "saving"
    assert eng.get(owner, IMAGES, dead["id"])["status"] == "queued"
    assert eng.data.recover_stale_uploads([IMAGES]) == 0


# --------------------------------------------------------------------- delete

def test_delete_removes_the_data(eng, owner, datadir):
    art = create_raw(eng, owner)
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    assert len(data_files(datadir)) == 1
    eng.delete(owner, IMAGES, art["id"])
    assert data_files(datadir) == []
    with pytest.raises(errors.NotFound):
        eng.get(owner, IMAGES, art["id"])
    with pytest.raises(errors.NotFound):
        eng.delete(owner, IMAGES, art["id"])
    with eng.db.connect() as conn:
        row = db_api.get(conn, art["id"], include_deleted=True)
        pending = [b for b in db_api.pending_blobs(conn, 10000)
                   if b["artifact_id"] == art["id"]]
    assert row["status"] == "deleted" and row["deleted"] is True
    assert row["deleted_at"] is not None
    assert pending == []          # nothing left for the scrubber


def test_delayed_delete_leaves_data_for_the_scrubber(make_engine_with, owner,
                                                     datadir):
    eng = make_engine_with(delayed_delete=True)
    art = create_raw(eng, owner)
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    eng.delete(owner, IMAGES, art["id"])
    with eng.db.connect() as conn:
        assert db_api.get(conn, art["id"], include_deleted=True)[
            "status"] == "pending_delete"
    assert len(data_files(datadir)) == 1
    assert eng.scrub() >= 1
    assert data_files(datadir) == []


def test_delete_without_data(eng, owner):
    art = create(eng, owner)
    eng.delete(owner, IMAGES, art["id"])
    with pytest.raises(errors.NotFound):
        eng.get(owner, IMAGES, art["id"])


def test_protected_image_cannot_be_deleted(eng, owner, admin):
    art = create(eng, owner, protected=True)
    for ctx in (owner, admin):
        with pytest.raises(errors.Forbidden) as exc:
            eng.delete(ctx, IMAGES, art["id"])
        assert exc.value.message == ("Image %s is protected and cannot be "
                                     "deleted." % art["id"])
    eng.update(owner, IMAGES, art["id"], lambda a: a.update(protected=False))
    eng.delete(owner, IMAGES, art["id"])


def test_delete_policy(eng, owner, other):
    art = create(eng, owner, visibility="community")
    with pytest.raises(errors.Forbidden):
        eng.delete(other, IMAGES, art["id"])
    assert eng.get(owner, IMAGES, art["id"])


# --------------------------------------------------- deactivate / reactivate

def deactivate(eng, ctx, image_id):
    eng.change_status(ctx, IMAGES, image_id, "deactivate", "active",
                      "deactivated")


def reactivate(eng, ctx, image_id):
    eng.change_status(ctx, IMAGES, image_id, "reactivate", "deactivated",
                      "active")


def test_deactivate_and_reactivate(eng, owner, admin):
    art = create_raw(eng, owner)
    with pytest.raises(errors.Forbidden) as exc:
        deactivate(eng, owner, art["id"])
    assert exc.value.message == ("Not allowed to deactivate image in "
                                 "status 'queued'")
    with pytest.raises(errors.Forbidden):
        reactivate(eng, owner, art["id"])
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    reactivate(eng, owner, art["id"])           # already active: no-op
    deactivate(eng, owner, art["id"])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "deactivated"
    deactivate(eng, owner, art["id"])           # already there: no-op
    with pytest.raises(errors.Forbidden) as exc:
        eng.data.open(owner, IMAGES, art["id"], "image", required=False)
    assert exc.value.message == ("The requested image has been deactivated. "
                                 "Image data download is forbidden.")
    assert eng.data.open(admin, IMAGES, art["id"], "image").blob is not None
    reactivate(eng, owner, art["id"])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "active"
    assert eng.data.open(owner, IMAGES, art["id"], "image").blob is not None


def test_deactivate_policy(eng, owner, other):
    art = create_raw(eng, owner, visibility="community")
    eng.data.upload(owner, IMAGES, art["id"], "image", [DATA])
    with pytest.raises(errors.Forbidden):
        deactivate(eng, other, art["id"])
    with pytest.raises(errors.Forbidden):
        deactivate(eng, reader_ctx(owner.project_id), art["id"])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "active"


def test_open_data_without_data(eng, owner):
    art = create(eng, owner)
    assert eng.data.open(owner, IMAGES, art["id"], "image",
                         required=False).blob is None
    with pytest.raises(errors.NotFound):
        eng.data.open(owner, IMAGES, art["id"], "image")


# ----------------------------------------------------------------- visibility

def test_invisible_artifacts_are_not_found(eng, owner, other):
    private = create(eng, owner, visibility="private")
    shared = create(eng, owner)
    for art in (private, shared):
        message = "No image found with ID %s" % art["id"]
        calls = [
            lambda: eng.get(other, IMAGES, art["id"]),
            lambda: eng.update(other, IMAGES, art["id"],
                               lambda a: a.update(name="x")),
            lambda: eng.delete(other, IMAGES, art["id"]),
            lambda: eng.data.upload(other, IMAGES, art["id"], "image", [DATA]),
            lambda: eng.data.open(other, IMAGES, art["id"], "image", required=False),
            lambda: deactivate(eng, other, art["id"]),
            lambda: eng.sharing.add_member(other, IMAGES, art["id"], "x"),
        ]
        for call in calls:
            with pytest.raises(errors.NotFound) as exc:
                call()
            assert exc.value.message == message
    assert eng.get(owner, IMAGES, private["id"])["id"] == private["id"]


@pytest.mark.parametrize("image_id", ["", "x" * 37, None,
                                      "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_ids_are_not_found(eng, owner, image_id):
    with pytest.raises(errors.NotFound):
        eng.get(owner, IMAGES, image_id)


def ownerless(eng, db_engine, admin, **values):
    """An ownerless row, as a migration from Glance may bring (the engine
    never creates one, see test_no_artifact_without_an_owner)."""
    art = create(eng, admin, **values)
    set_row(db_engine, art["id"], owner=None)
    return dict(art, owner=None)


def test_public_community_and_ownerless_are_visible(eng, db_engine, owner,
                                                    other, admin):
    public = create(eng, admin, visibility="public")
    community = create(eng, owner, visibility="community")
    nobodys = ownerless(eng, db_engine, admin, visibility="public")
    for art in (public, community, nobodys):
        assert eng.get(other, IMAGES, art["id"])["id"] == art["id"]
    private = create(eng, owner, visibility="private")
    assert eng.get(admin, IMAGES, private["id"])["id"] == private["id"]


def test_list_shows_only_what_get_allows(eng, db_engine, other, admin):
    nobodys = ownerless(eng, db_engine, admin, visibility="private",
                        tags=["ownerless-private"])
    with pytest.raises(errors.NotFound):
        eng.get(other, IMAGES, nobodys["id"])
    listed = eng.list(other, IMAGES, Scope(other.project_id),
                      [Filter("tag", "eq", "ownerless-private", "tag")])
    assert listed == []


# -------------------------------------------------------------------- members

def test_members_rules(eng, owner, other):
    art = create(eng, owner)                 # shared by default
    third = member_ctx()
    row = eng.sharing.add_member(owner, IMAGES, art["id"], other.project_id)
    assert (row["member"], row["status"]) == (other.project_id, "pending")
    # A member sees the image by id even while pending.
    assert eng.get(other, IMAGES, art["id"])["id"] == art["id"]
    with pytest.raises(errors.Conflict) as exc:
        eng.sharing.add_member(owner, IMAGES, art["id"], other.project_id)
    assert exc.value.message == "Member %s is duplicated for image %s" % (
        other.project_id, art["id"])
    # The owner cannot accept on the member's behalf.
    with pytest.raises(errors.Forbidden):
        eng.sharing.update_member(owner, IMAGES, art["id"], other.project_id,
                          "accepted")
    row = eng.sharing.update_member(other, IMAGES, art["id"], other.project_id,
                            "accepted")
    assert row["status"] == "accepted"
    # A member cannot add or remove members.
    with pytest.raises(errors.Forbidden):
        eng.sharing.add_member(other, IMAGES, art["id"], third.project_id)
    with pytest.raises(errors.Forbidden):
        eng.sharing.delete_member(other, IMAGES, art["id"], other.project_id)
    eng.sharing.add_member(owner, IMAGES, art["id"], third.project_id)
    # The owner lists every member, a member only itself.
    assert {m["member"] for m in eng.sharing.list_members(
        owner, IMAGES, art["id"])} == {other.project_id, third.project_id}
    assert [m["member"] for m in eng.sharing.list_members(
        other, IMAGES, art["id"])] == [other.project_id]
    assert eng.sharing.get_member(other, IMAGES, art["id"],
                          other.project_id)["status"] == "accepted"
    with pytest.raises(errors.NotFound):
        eng.sharing.get_member(other, IMAGES, art["id"], third.project_id)
    with pytest.raises(errors.NotFound):
        eng.sharing.get_member(owner, IMAGES, art["id"], "nobody")
    with pytest.raises(errors.NotFound):
        eng.sharing.update_member(owner, IMAGES, art["id"], "nobody", "accepted")
    eng.sharing.delete_member(owner, IMAGES, art["id"], third.project_id)
    with pytest.raises(errors.NotFound):
        eng.get(third, IMAGES, art["id"])
    with pytest.raises(errors.NotFound):
        eng.sharing.delete_member(owner, IMAGES, art["id"], third.project_id)


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_only_shared_images_have_members(eng, owner, admin, visibility):
    art = create(eng, admin if visibility == "public" else owner,
                 visibility=visibility, owner=owner.project_id)
    with pytest.raises(errors.Forbidden) as exc:
        eng.sharing.add_member(owner, IMAGES, art["id"], "p-x")
    assert exc.value.message == "Not allowed to create members for image " \
        "%s." % art["id"]
    with pytest.raises(errors.Forbidden):
        eng.sharing.list_members(owner, IMAGES, art["id"])


def test_list_shows_shared_images_by_member_status(eng, owner, other):
    art = create(eng, owner, tags=["members-list"])
    eng.sharing.add_member(owner, IMAGES, art["id"], other.project_id)
    tag = [Filter("tag", "eq", "members-list", "tag")]

    def listed(**scope):
        return [a["id"] for a in eng.list(
            other, IMAGES, Scope(other.project_id, **scope), tag)]

    assert listed() == []
    assert listed(member_status="pending") == [art["id"]]
    assert listed(member_status="all") == [art["id"]]
    eng.sharing.update_member(other, IMAGES, art["id"], other.project_id, "accepted")
    assert listed() == [art["id"]]
    assert listed(member_status="pending") == []


def test_visible_needs_no_get_policy_and_hides_refusals(eng, owner, other):
    """Glance's location API: a service user of the owning project (no
    reader role, so no get_image) reaches the image; what it may not do is
    403, and a refusal to a caller who cannot see the image is a bare
    404."""
    art = create(eng, owner, visibility="private")
    service = RequestContext(project_id=owner.project_id, user_id="nova",
                             roles=("service",))
    with pytest.raises(errors.NotFound):
        eng.get(service, IMAGES, art["id"])
    found = eng.visible(service, IMAGES, art["id"])
    assert found["id"] == art["id"]
    eng.enforce_hidden(service, IMAGES, found, "fetch_location")
    with pytest.raises(errors.NotFound) as exc:
        eng.enforce_hidden(service, IMAGES, found, "upload")
    assert exc.value.message == ""
    with pytest.raises(errors.Forbidden):
        eng.enforce_hidden(owner, IMAGES, found, "fetch_location")
    with pytest.raises(errors.NotFound):
        eng.visible(other, IMAGES, art["id"])


# ------------------------------------------------------------ trust boundary

def count_rows(db_engine):
    import sqlalchemy as sa
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(
            artifacts)).scalar()


def test_no_artifact_without_an_owner(eng, db_engine, admin, owner):
    """No artifact is ever stored without an owner: not for a caller
    without a project (even an admin), not when an admin asks for
    ``owner: null``, and no update can take the owner away."""
    nobody = RequestContext(project_id=None, user_id="u",
                            roles=("admin", "member", "reader"))
    before = count_rows(db_engine)
    for ctx, values in ((nobody, {}), (nobody, {"visibility": "public"}),
                        (admin, {"owner": None}), (admin, {"owner": " "})):
        with pytest.raises(errors.Forbidden) as exc:
            create(eng, ctx, **values)
        assert "must be owned by a project" in exc.value.message
    assert count_rows(db_engine) == before
    art = create(eng, owner)

    def orphan(a):
        a["owner"] = None
    with pytest.raises(errors.Forbidden):
        eng.update(admin, IMAGES, art["id"], orphan)
    assert eng.get(admin, IMAGES, art["id"])["owner"] == owner.project_id


@pytest.mark.parametrize("scope", [{"system_scope": "all"},
                                   {"domain_id": "default"}])
def test_tokens_not_scoped_to_a_project_are_refused(eng, owner, scope):
    """A system- or domain-scoped admin is refused by every project-scoped
    rule, as Glance's oslo.policy scope check refuses it."""
    ctx = RequestContext(project_id=None, user_id="cloud-admin",
                         roles=("admin", "member", "reader"), **scope)
    with pytest.raises(errors.Forbidden) as exc:
        create(eng, ctx, visibility="public")
    assert "add_image" in exc.value.message
    art = create(eng, owner, visibility="community")
    with pytest.raises(errors.NotFound):
        eng.get(ctx, IMAGES, art["id"])
    with pytest.raises(errors.Forbidden):
        eng.list(ctx, IMAGES, Scope(None, is_admin=True))
    with pytest.raises(errors.NotFound):
        eng.delete(ctx, IMAGES, art["id"])
    assert eng.get(owner, IMAGES, art["id"])["status"] == "queued"


def test_invisible_artifact_is_404_without_waiting_for_its_lock(eng, owner,
                                                                other):
    """Another project's artifact is 404 at once, even while an operation
    of its owner holds its lock: never a 409 'locked by another operation'
    after the lock wait, which would tell the stranger it exists."""
    art = create_raw(eng, owner)
    with eng.locks.hold((IMAGES.noun, art["id"]), "upload"):
        calls = [
            lambda: eng.update(other, IMAGES, art["id"],
                               lambda a: a.update(name="x")),
            lambda: eng.delete(other, IMAGES, art["id"]),
            lambda: eng.change_status(other, IMAGES, art["id"],
                                      "deactivate", "active", "deactivated"),
            lambda: eng.activate(other, IMAGES, art["id"]),
        ]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(errors.NotFound):
                call()
            assert time.monotonic() - started < 1.0
        # The owner still waits for the lock (and gets 409 after it).
        started = time.monotonic()
        with pytest.raises(errors.Conflict):
            eng.locks.wait_seconds, saved = 0.3, eng.locks.wait_seconds
            try:
                eng.update(owner, IMAGES, art["id"],
                           lambda a: a.update(name="y"))
            finally:
                eng.locks.wait_seconds = saved
        assert time.monotonic() - started >= 0.3
