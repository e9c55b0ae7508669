"""artifacts.db.api and artifacts.db.session on a fresh database of each kind.

The schema is the one the migrations build (never ``create_all``).  Every
test works on its own ``type_name`` / ids, so the module shares one database.
"""

import copy
import datetime
import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from artifacts.db import api, session
from artifacts.db.models import (artifact_blobs, artifact_properties,
                                 artifacts)

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)




def write(engine, fn):
    return session.transaction(engine, fn)


def read(engine, fn):
    return session.read(engine, fn)


def new_artifact(type_name="t_api", **overrides):
    art = {
        "id": str(uuid.uuid4()), "type_name": type_name, "name": "art",
        "owner": "p1", "visibility": "private", "status": "queued",
        "protected": False, "hidden": False, "version": (1, 2, 3, "rc1", "b7"),
        "created_at": NOW, "updated_at": NOW, "properties": {},
        "tags": set(),
    }
    art.update(overrides)
    return art


def insert(engine, **overrides):
    art = new_artifact(**overrides)
    write(engine, lambda c: api.insert(c, art))
    return art


def fetch(engine, artifact_id, **kwargs):
    return read(engine, lambda c: api.get(c, artifact_id, **kwargs))


def property_row_ids(engine, artifact_id):
    P = artifact_properties
    rows = read(engine, lambda c: c.execute(
        sa.select(P.c.name, P.c.id).where(P.c.artifact_id == artifact_id))
        .all())
    ids = {}
    for name, row_id in rows:
        ids.setdefault(name, set()).add(row_id)
    return ids


# ------------------------------------------------------------------ round trip

EVERY_KIND = {
    "short": "ubuntu",
    "exactly_255": "s" * 255,
    "long": "L" * 256 + " and more " * 40,
    "unicode": "d\u00e9j\u00e0 vu \u65e5\u672c",
    "empty_string": "",
    "int": 42,
    "zero": 0,
    "negative": -7,
    "big_int": 2 ** 53 + 1,
    "float": 1.5,
    "float_fraction": 0.1,
    "true": True,
    "false": False,
    "none": None,
    "list": ["a", "L" * 300, 3, 2.5, True, False, None, 0],
    "dict": {"k": "v", "n": 3, "f": 0.25, "b": False, "none": None,
             "long": "D" * 400},
}


def test_insert_fetch_round_trips_every_property_kind(engine):
    art = insert(engine, properties=copy.deepcopy(EVERY_KIND),
                 tags={"alpha", "beta", "t" * 255})
    got = fetch(engine, art["id"])
    assert got["properties"] == EVERY_KIND
    for name, value in EVERY_KIND.items():
        # True must not come back as 1, nor 1.5 as a Decimal.
        assert type(got["properties"][name]) is type(value), name
    assert got["properties"]["list"] == EVERY_KIND["list"]  # order kept
    for a, b in zip(got["properties"]["list"], EVERY_KIND["list"]):
        assert type(a) is type(b)
    assert got["tags"] == {"alpha", "beta", "t" * 255}


def test_strings_use_the_indexed_column_up_to_255_characters(engine):
    art = insert(engine, properties={"s255": "s" * 255, "s256": "s" * 256})
    P = artifact_properties
    rows = read(engine, lambda c: c.execute(
        sa.select(P.c.name, P.c.string_value, P.c.text_value)
        .where(P.c.artifact_id == art["id"])).all())
    by_name = {r.name: r for r in rows}
    assert by_name["s255"].string_value == "s" * 255
    assert by_name["s255"].text_value is None
    assert by_name["s256"].string_value is None
    assert by_name["s256"].text_value == "s" * 256


def test_empty_list_and_dict_round_trip(engine):
    art = insert(engine, properties={"empty_list": [], "empty_dict": {}})
    got = fetch(engine, art["id"])
    assert got["properties"] == {"empty_list": [], "empty_dict": {}}


def test_floats_keep_double_precision(engine, request):
    values = {"a": 0.123456789, "b": 1234567.891, "c": -2.5e-300}
    art = insert(engine, properties=dict(values))
    assert fetch(engine, art["id"])["properties"] == values


def test_fetch_returns_every_row_attribute(engine):
    art = insert(engine, name=None, owner=None, visibility="public",
                 status="active", protected=True, hidden=True)
    got = fetch(engine, art["id"])
    assert got["id"] == art["id"]
    assert got["type_name"] == "t_api"
    assert got["name"] is None and got["owner"] is None
    assert got["visibility"] == "public" and got["status"] == "active"
    assert got["protected"] is True and got["hidden"] is True
    assert got["deleted"] is False and got["deleted_at"] is None
    assert got["version"] == (1, 2, 3, "rc1", "b7")
    assert got["revision"] == 0
    assert got["created_at"] == NOW and got["updated_at"] == NOW
    assert got["properties"] == {} and got["tags"] == set()
    assert got["blobs"] == []


def test_get_honours_type_and_deleted(engine):
    art = insert(engine)
    assert fetch(engine, art["id"], type_name="t_api")["id"] == art["id"]
    assert fetch(engine, art["id"], type_name="other") is None
    assert fetch(engine, str(uuid.uuid4())) is None
    old = fetch(engine, art["id"])
    new = dict(copy.deepcopy(old), deleted=True, deleted_at=NOW)
    assert write(engine, lambda c: api.update(c, old, new))
    assert fetch(engine, art["id"]) is None
    assert fetch(engine, art["id"], include_deleted=True)["deleted"] is True
    assert read(engine, lambda c: api.exists(c, art["id"]))


def test_fetch_many_keeps_the_order_given_and_skips_unknown_ids(engine):
    arts = [insert(engine, name="fm%d" % i, properties={"i": i},
                   tags={"tag%d" % i}) for i in range(3)]
    ids = [arts[2]["id"], str(uuid.uuid4()), arts[0]["id"], arts[1]["id"]]
    got = read(engine, lambda c: api.fetch_many(c, ids))
    assert [g["id"] for g in got] == [ids[0], ids[2], ids[3]]
    assert [g["properties"]["i"] for g in got] == [2, 0, 1]
    assert [g["tags"] for g in got] == [{"tag2"}, {"tag0"}, {"tag1"}]
    assert read(engine, lambda c: api.fetch_many(c, [])) == []


# ---------------------------------------------------------------------- update

def test_update_writes_only_the_difference(engine):
    art = insert(engine, properties={"keep": "same", "change": "old",
                                     "drop": 1, "lst": [1, 2]},
                 tags={"t1", "t2"})
    before_ids = property_row_ids(engine, art["id"])
    old = fetch(engine, art["id"])
    # Somebody changes the status column without bumping the revision: an
    # update that does not touch the status must not write it back.
    write(engine, lambda c: c.execute(artifacts.update().where(
        artifacts.c.id == art["id"]).values(status="saving")))
    new = copy.deepcopy(old)
    new["name"] = "renamed"
    new["properties"]["change"] = "new"
    new["properties"]["lst"] = [1, 2, 3]
    new["properties"]["added"] = "x" * 300
    del new["properties"]["drop"]
    new["tags"] = {"t2", "t3"}
    when = NOW + datetime.timedelta(minutes=5)
    assert write(engine, lambda c: api.update(c, old, new, now=when)) is True
    assert new["revision"] == old["revision"] + 1
    got = fetch(engine, art["id"])
    assert got["name"] == "renamed"
    assert got["status"] == "saving"          # untouched column kept
    assert got["revision"] == old["revision"] + 1
    assert got["properties"] == {"keep": "same", "change": "new",
                                 "lst": [1, 2, 3], "added": "x" * 300}
    assert got["tags"] == {"t2", "t3"}
    after_ids = property_row_ids(engine, art["id"])
    # The unchanged property's row was not rewritten (a rewrite would give
    # it a new, higher id: it was the first row inserted).
    assert after_ids["keep"] == before_ids["keep"]
    assert "drop" not in after_ids


def test_update_sets_updated_at(engine):
    art = insert(engine)
    old = fetch(engine, art["id"])
    new = dict(copy.deepcopy(old), updated_at=None, name="n")
    when = NOW + datetime.timedelta(hours=1)
    assert write(engine, lambda c: api.update(c, old, new, now=when))
    assert new["updated_at"] == when
    assert fetch(engine, art["id"])["updated_at"] == when


def test_update_rewrites_a_value_whose_type_changed(engine):
    art = insert(engine, properties={"flag": 1, "num": 2})
    old = fetch(engine, art["id"])
    new = copy.deepcopy(old)
    new["properties"]["flag"] = True     # 1 == True, but not the same value
    new["properties"]["num"] = 2.0
    assert write(engine, lambda c: api.update(c, old, new))
    props = fetch(engine, art["id"])["properties"]
    assert props["flag"] is True
    assert type(props["num"]) is float


def test_update_columns_version_and_flags(engine):
    art = insert(engine)
    old = fetch(engine, art["id"])
    new = copy.deepcopy(old)
    new.update(owner="p9", visibility="public", protected=True, hidden=True,
               version=(2, 0, 1, "", "x"), status="active")
    assert write(engine, lambda c: api.update(c, old, new))
    got = fetch(engine, art["id"])
    assert (got["owner"], got["visibility"], got["protected"], got["hidden"],
            got["version"], got["status"]) == (
        "p9", "public", True, True, (2, 0, 1, "", "x"), "active")


def test_update_with_a_stale_revision_writes_nothing(engine):
    art = insert(engine, properties={"a": "1"}, tags={"t"})
    old = fetch(engine, art["id"])
    first = copy.deepcopy(old)
    first["properties"]["a"] = "first"
    assert write(engine, lambda c: api.update(c, old, first))
    second = copy.deepcopy(old)
    second["name"] = "second"
    second["properties"]["a"] = "second"
    second["properties"]["b"] = "new"
    second["tags"] = {"other"}
    assert write(engine, lambda c: api.update(c, old, second)) is False
    assert second["revision"] == old["revision"]
    got = fetch(engine, art["id"])
    assert got["name"] == "art"
    assert got["properties"] == {"a": "first"}
    assert got["tags"] == {"t"}
    assert got["revision"] == old["revision"] + 1


# ------------------------------------------------------------------ set_status

def test_set_status_is_compare_and_swap(engine):
    art = insert(engine, status="queued")
    when = NOW + datetime.timedelta(days=1)
    assert write(engine, lambda c: api.set_status(
        c, art["id"], "queued", "saving", now=when))
    got = fetch(engine, art["id"])
    assert got["status"] == "saving"
    assert got["revision"] == 1
    assert got["updated_at"] == when
    # The expected status no longer holds: nothing happens.
    assert not write(engine, lambda c: api.set_status(
        c, art["id"], "queued", "active"))
    assert fetch(engine, art["id"])["status"] == "saving"
    # Several acceptable statuses, plus extra columns.
    assert write(engine, lambda c: api.set_status(
        c, art["id"], ("active", "saving"), "active", hidden=True))
    got = fetch(engine, art["id"])
    assert got["status"] == "active" and got["hidden"] is True
    assert got["revision"] == 2
    assert not write(engine, lambda c: api.set_status(
        c, str(uuid.uuid4()), "active", "deleted"))


def test_set_properties_replaces_and_removes(engine):
    art = insert(engine, properties={"size": 1, "checksum": "x", "keep": "k"})
    write(engine, lambda c: api.set_properties(
        c, art["id"], {"size": 10, "checksum": None, "virtual_size": 10}))
    assert fetch(engine, art["id"])["properties"] == {
        "size": 10, "virtual_size": 10, "keep": "k"}


# ----------------------------------------------------------------------- blobs

def blob(**overrides):
    values = {"status": "active", "size": 3, "md5": "m" * 32,
              "sha512": "s" * 128, "external": False,
              "locations": [{"store": "file",
                             "url": "file:///data/%s" % uuid.uuid4()}]}
    values.update(overrides)
    return values


def test_blob_insert_retire_and_slot_reuse(engine):
    art = insert(engine)
    first = blob()
    write(engine, lambda c: api.insert_blob(c, art["id"], "image", first))
    blobs = fetch(engine, art["id"])["blobs"]
    assert len(blobs) == 1
    assert blobs[0]["locations"][0]["url"] == first["locations"][0]["url"]
    assert blobs[0]["size"] == 3 and blobs[0]["field"] == "image"
    assert blobs[0]["slot"] == api.blob_slot("image")

    # The slot is taken while the blob is live.
    with pytest.raises(sa.exc.IntegrityError):
        write(engine, lambda c: api.insert_blob(c, art["id"], "image",
                                                blob()))

    retired = write(engine, lambda c: api.retire_blobs(c, art["id"]))
    assert [r["locations"][0]["url"] for r in retired] == [first["locations"][0]["url"]]
    assert fetch(engine, art["id"])["blobs"] == []
    pending = read(engine, lambda c: api.pending_blobs(c, limit=1000))
    mine = [p for p in pending if p["artifact_id"] == art["id"]]
    assert len(mine) == 1 and mine[0]["slot"] is None
    assert mine[0]["status"] == "pending_delete"

    # The freed slot takes a new blob while the old one awaits removal.
    second = blob()
    write(engine, lambda c: api.insert_blob(c, art["id"], "image", second))
    assert [b["locations"][0]["url"] for b in fetch(engine, art["id"])["blobs"]] == [
        second["locations"][0]["url"]]
    # Retiring again leaves two pending rows (NULL slots never collide).
    write(engine, lambda c: api.retire_blobs(c, art["id"]))
    pending = [p for p in read(engine, lambda c: api.pending_blobs(c, 1000))
               if p["artifact_id"] == art["id"]]
    assert len(pending) == 2
    for p in pending:
        write(engine, lambda c, p=p: api.forget_blob(c, p["id"]))
    B = artifact_blobs
    assert read(engine, lambda c: c.execute(sa.select(B.c.id).where(
        B.c.artifact_id == art["id"])).all()) == []


def test_retire_blobs_by_field_and_order(engine):
    art = insert(engine)
    write(engine, lambda c: api.insert_blob(c, art["id"], "image", blob(),
                                            position=1))
    write(engine, lambda c: api.insert_blob(c, art["id"], "image", blob(),
                                            position=0))
    write(engine, lambda c: api.insert_blob(c, art["id"], "other", blob()))
    got = fetch(engine, art["id"])["blobs"]
    # By position, then insertion order.
    assert [(b["field"], b["position"]) for b in got] == [
        ("image", 0), ("other", 0), ("image", 1)]
    retired = write(engine, lambda c: api.retire_blobs(c, art["id"],
                                                       field="image"))
    assert len(retired) == 2
    assert [b["field"] for b in fetch(engine, art["id"])["blobs"]] == [
        "other"]
    with_blobs = read(engine, lambda c: api.fetch_many(c, [art["id"]],
                                                       with_blobs=False))
    assert with_blobs[0]["blobs"] == []


def test_blob_rows_go_with_the_artifact_row(engine):
    """ON DELETE CASCADE is part of the schema on every database."""
    art = insert(engine, properties={"p": "v"}, tags={"t"})
    write(engine, lambda c: api.insert_blob(c, art["id"], "image", blob()))
    write(engine, lambda c: api.insert_member(c, art["id"], "p2"))
    write(engine, lambda c: c.execute(artifacts.delete().where(
        artifacts.c.id == art["id"])))
    assert not read(engine, lambda c: api.exists(c, art["id"]))
    assert read(engine, lambda c: api.members(c, art["id"])) == []
    assert property_row_ids(engine, art["id"]) == {}


# --------------------------------------------------------------------- members

def test_members(engine):
    art = insert(engine, visibility="shared")
    assert read(engine, lambda c: api.members(c, art["id"])) == []
    write(engine, lambda c: api.insert_member(c, art["id"], "p2"))
    write(engine, lambda c: api.insert_member(c, art["id"], "p3",
                                              status="accepted"))
    rows = read(engine, lambda c: api.members(c, art["id"]))
    assert {(r["member"], r["status"]) for r in rows} == {
        ("p2", "pending"), ("p3", "accepted")}
    assert all(r["artifact_id"] == art["id"] for r in rows)
    assert all(isinstance(r["created_at"], datetime.datetime) for r in rows)
    assert read(engine, lambda c: api.count_members(c, art["id"])) == 2
    with pytest.raises(sa.exc.IntegrityError):
        write(engine, lambda c: api.insert_member(c, art["id"], "p2"))
    write(engine, lambda c: api.update_member(c, art["id"], "p2",
                                              "rejected"))
    one = read(engine, lambda c: api.members(c, art["id"], "p2"))
    assert [(r["member"], r["status"]) for r in one] == [("p2", "rejected")]
    write(engine, lambda c: api.delete_member(c, art["id"], "p2"))
    assert read(engine, lambda c: api.members(c, art["id"], "p2")) == []
    assert read(engine, lambda c: api.count_members(c, art["id"])) == 1


# ----------------------------------------------------------------- transaction

def _locked():
    return sa.exc.OperationalError(
        "UPDATE artifacts", {}, sqlite3.OperationalError("database is locked"))


def test_transaction_retries_a_transient_error_from_scratch(engine,
                                                            monkeypatch):
    monkeypatch.setattr(session.time, "sleep", lambda s: None)
    art = new_artifact()
    calls = []

    def fn(conn):
        calls.append(1)
        api.insert(conn, art)
        if len(calls) == 1:
            raise _locked()
        return "done"

    assert session.transaction(engine, fn) == "done"
    assert len(calls) == 2
    # The first attempt was rolled back: exactly one row exists.
    assert read(engine, lambda c: c.execute(
        sa.select(sa.func.count()).select_from(artifacts).where(
            artifacts.c.id == art["id"])).scalar()) == 1


def test_transaction_does_not_retry_other_errors(engine, monkeypatch):
    monkeypatch.setattr(session.time, "sleep", lambda s: None)
    calls = []

    def fn(conn):
        calls.append(1)
        raise sa.exc.OperationalError("SELECT 1", {},
                                      Exception("no such table: nope"))

    with pytest.raises(sa.exc.OperationalError):
        session.transaction(engine, fn)
    assert len(calls) == 1


def test_transaction_gives_up_after_max_retries(engine, monkeypatch):
    monkeypatch.setattr(session.time, "sleep", lambda s: None)
    calls = []

    def fn(conn):
        calls.append(1)
        raise _locked()

    with pytest.raises(sa.exc.OperationalError):
        session.transaction(engine, fn)
    assert len(calls) == session.MAX_RETRIES


@pytest.mark.parametrize("message,code", [
    ("database is locked", None), ("database is busy", None),
    ("Deadlock found when trying to get lock", 1213),
    ("Lock wait timeout exceeded", 1205),
    ("could not serialize access due to concurrent update", None),
    ("deadlock detected", None),
])
def test_transient_errors_are_recognised(message, code):
    orig = Exception(code, message) if code else Exception(message)
    assert session._is_transient(sa.exc.OperationalError("x", {}, orig))


def test_permanent_errors_are_not_transient():
    orig = Exception(1146, "Table 'x' doesn't exist")
    assert not session._is_transient(sa.exc.OperationalError("x", {}, orig))
