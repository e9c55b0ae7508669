"""``version=latest`` and cross-type lists in artifacts.db.query.list_ids,
on a fresh database of each kind."""

import datetime
import uuid

import pytest

from artifacts import versions
from artifacts.db import api, session
from artifacts.db.query import LATEST, Filter, Scope, list_ids

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)
P1, P2 = "project-1", "project-2"




def make(type_name, name, version, owner=P1, visibility="private",
         status="active", **props):
    parsed = versions.parse(version)
    return {
        "id": str(uuid.uuid4()), "type_name": type_name, "name": name,
        "owner": owner, "visibility": visibility, "status": status,
        "protected": False, "hidden": False, "version": parsed,
        "version_sort": versions.sort_key(parsed),
        "created_at": NOW, "updated_at": NOW, "properties": props,
        "tags": set(),
    }


def insert_all(engine, arts, members=()):
    def run(conn):
        for art in arts:
            api.insert(conn, art)
        for artifact_id, member, status in members:
            api.insert_member(conn, artifact_id, member, status)
    session.transaction(engine, run)


def names(engine, arts, type_name, scope, filters=(), **kwargs):
    by_id = {a["id"]: "%s@%s/%s" % (a["name"], versions.render(a["version"]),
                                     a["owner"]) for a in arts}
    found = session.read(engine, lambda c: list_ids(
        c, type_name, scope, filters, [("name", "asc", "string")], 1000,
        **kwargs))
    return sorted(by_id[i] for i in found if i in by_id)


def key(text):
    return versions.sort_key(versions.parse(text))


@pytest.fixture(scope="module")
def series(engine):
    t = "latest_%s" % uuid.uuid4().hex[:8]
    arts = [
        make(t, "a", "1.0.0"), make(t, "a", "1.10.0"),
        make(t, "a", "1.9.0"), make(t, "a", "2.0.0-rc.1"),
        make(t, "a", "2.0.0-rc.2", status="drafted"),
        make(t, "b", "0.1.0"),
        # Another project's series of the same name is its own.
        make(t, "a", "7.0.0", owner=P2),
        make(t, "a", "3.0.0", owner=P2, visibility="public"),
    ]
    insert_all(engine, arts)
    return t, arts


def test_latest_per_name_and_owner(engine, series):
    t, arts = series
    admin = Scope(P1, is_admin=True, visibility="all")
    assert names(engine, arts, t, admin, [LATEST]) == [
        "a@2.0.0-rc.2/project-1", "a@7.0.0/project-2",
        "b@0.1.0/project-1"]


def test_latest_only_among_what_the_caller_sees(engine, series):
    t, arts = series
    # P1 sees its own and P2's public 3.0.0, not P2's private 7.0.0.
    assert names(engine, arts, t, Scope(P1), [LATEST]) == [
        "a@2.0.0-rc.2/project-1", "a@3.0.0/project-2",
        "b@0.1.0/project-1"]


def test_latest_respects_the_other_filters(engine, series):
    t, arts = series
    scope = Scope(P1)
    active = Filter("status", "eq", "active")
    assert names(engine, arts, t, scope, [LATEST, active]) == [
        "a@2.0.0-rc.1/project-1", "a@3.0.0/project-2",
        "b@0.1.0/project-1"]
    below2 = Filter("version", "lt", key("2.0.0-alpha"))
    assert names(engine, arts, t, scope, [below2, LATEST]) == [
        "a@1.10.0/project-1", "b@0.1.0/project-1"]
    only_a = Filter("name", "eq", "a")
    assert names(engine, arts, t, Scope(P2), [only_a, LATEST]) == [
        "a@7.0.0/project-2"]


def test_version_ranges(engine, series):
    t, arts = series
    scope = Scope(P1, is_admin=True, visibility="all")
    flts = [Filter("name", "eq", "a"), Filter("version", "gte", key("1.9")),
            Filter("version", "lt", key("2.0.0"))]
    assert names(engine, arts, t, scope, flts) == [
        "a@1.10.0/project-1", "a@1.9.0/project-1", "a@2.0.0-rc.1/project-1",
        "a@2.0.0-rc.2/project-1"]


def test_latest_pages_with_a_marker(engine, series):
    t, arts = series
    scope = Scope(P1, is_admin=True, visibility="all")
    sort = [("name", "asc", "string"), ("version", "asc", "string")]
    first = session.read(engine, lambda c: list_ids(
        c, t, scope, [LATEST], sort, 2))
    rest = session.read(engine, lambda c: list_ids(
        c, t, scope, [LATEST], sort, 2, first[-1]))
    assert len(first) == 2 and len(rest) == 1
    assert len(set(first + rest)) == 3


def test_type_names_lists_across_types(engine):
    t1, t2 = ("x_%s" % uuid.uuid4().hex[:8] for _ in range(2))
    arts = [make(t1, "one", "1.0.0"), make(t2, "two", "1.0.0"),
            make("unrelated_%s" % uuid.uuid4().hex[:6], "three", "1.0.0")]
    insert_all(engine, arts)
    scope = Scope(P1)
    assert names(engine, arts, None, scope, type_names=[t1, t2]) == [
        "one@1.0.0/project-1", "two@1.0.0/project-1"]
    # The default is unchanged: one type.
    assert names(engine, arts, t1, scope) == ["one@1.0.0/project-1"]
