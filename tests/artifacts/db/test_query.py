"""artifacts.db.query.list_ids on a fresh database of each kind: visibility,
filters, sorting (NULLs as ''/0) and keyset paging."""

import datetime
import uuid

import pytest

from artifacts.db import api, session
from artifacts.db.query import Filter, Scope, list_ids

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)
HOUR = datetime.timedelta(hours=1)
P1, P2, ADMIN = "project-1", "project-2", "project-admin"




def make(type_name, **overrides):
    art = {
        "id": str(uuid.uuid4()), "type_name": type_name, "name": "x",
        "owner": P1, "visibility": "public", "status": "active",
        "protected": False, "hidden": False, "version": None,
        "created_at": NOW, "updated_at": NOW, "properties": {},
        "tags": set(),
    }
    art.update(overrides)
    return art


def insert_all(engine, arts, members=(), deleted=()):
    def run(conn):
        for art in arts:
            api.insert(conn, art)
        for artifact_id, member, status in members:
            api.insert_member(conn, artifact_id, member, status)
        for art in deleted:
            old = api.get(conn, art["id"])
            new = dict(old, deleted=True, deleted_at=NOW)
            assert api.update(conn, old, new)
    session.transaction(engine, run)


def ids(engine, type_name, scope=None, filters=(), sort=(), limit=1000,
        marker=None, hidden_statuses=()):
    scope = scope or Scope(P1, is_admin=True, visibility="all")
    return session.read(engine, lambda c: list_ids(
        c, type_name, scope, filters, sort, limit, marker, hidden_statuses))


# ------------------------------------------------------------------ visibility

@pytest.fixture(scope="module")
def visibility_data(engine):
    t = "vis_" + uuid.uuid4().hex[:8]
    a = {}

    def add(key, owner, visibility):
        a[key] = make(t, name=key, owner=owner, visibility=visibility)

    add("private_mine", P1, "private")
    add("private_other", P2, "private")
    add("public_other", P2, "public")
    add("community_other", P2, "community")
    add("community_mine", P1, "community")
    add("shared_mine", P1, "shared")
    add("shared_accepted", P2, "shared")
    add("shared_pending", P2, "shared")
    add("shared_rejected", P2, "shared")
    add("shared_not_member", P2, "shared")
    add("private_with_member", P2, "private")
    add("null_owner", None, "private")
    add("community_null_owner", None, "community")
    gone = make(t, name="deleted_public", owner=P1, visibility="public")
    insert_all(engine, list(a.values()) + [gone], members=[
        (a["shared_accepted"]["id"], P1, "accepted"),
        (a["shared_pending"]["id"], P1, "pending"),
        (a["shared_rejected"]["id"], P1, "rejected"),
        (a["private_with_member"]["id"], P1, "accepted"),
        (a["shared_mine"]["id"], P2, "pending"),
    ], deleted=[gone])
    names = {v["id"]: k for k, v in a.items()}
    return t, names


def visible(engine, data, scope):
    t, names = data
    return {names[i] for i in ids(engine, t, scope)}


# A private image without owner is not listed to non-admins: Glance's DB
# query would return it, but its per-image get_image policy check drops it.
ALWAYS = {"private_mine", "public_other", "community_mine", "shared_mine"}


@pytest.mark.parametrize("scope,expected", [
    # Default list: own, public, shared+accepted; community
    # only when owned.
    (Scope(P1), ALWAYS | {"shared_accepted"}),
    (Scope(P1, member_status="pending"), ALWAYS | {"shared_pending"}),
    (Scope(P1, member_status="rejected"), ALWAYS | {"shared_rejected"}),
    (Scope(P1, member_status="all"),
     ALWAYS | {"shared_accepted", "shared_pending", "shared_rejected"}),
    # An explicit visibility filter keeps only that visibility; "all"
    # lifts the community rule.
    (Scope(P1, visibility="community"),
     {"community_other", "community_mine", "community_null_owner"}),
    (Scope(P1, visibility="all"),
     ALWAYS | {"shared_accepted", "community_other",
               "community_null_owner"}),
    (Scope(P1, visibility="shared"), {"shared_mine", "shared_accepted"}),
    (Scope(P1, visibility="shared", member_status="pending"),
     {"shared_mine", "shared_pending"}),
    (Scope(P1, visibility="private"), {"private_mine"}),
    (Scope(P1, visibility="public"), {"public_other"}),
    # The other project sees its own, the public one and what P1 shares
    # with it (pending: only with member_status pending).
    (Scope(P2),
     {"private_other", "public_other", "community_other",
      "shared_accepted", "shared_pending", "shared_rejected",
      "shared_not_member", "private_with_member"}),
    (Scope(P2, member_status="pending", visibility="shared"),
     {"shared_accepted", "shared_pending", "shared_rejected",
      "shared_not_member", "shared_mine"}),
])
def test_visibility_rules(engine, visibility_data, scope, expected):
    assert visible(engine, visibility_data, scope) == expected


def test_admin_sees_everything_but_foreign_community_by_default(
        engine, visibility_data):
    _, names = visibility_data
    everything = set(names.values())
    assert visible(engine, visibility_data, Scope(ADMIN, is_admin=True)) == \
        everything - {"community_other", "community_mine",
                      "community_null_owner"}
    assert visible(engine, visibility_data,
                   Scope(ADMIN, is_admin=True, visibility="all")) == everything
    assert visible(engine, visibility_data,
                   Scope(ADMIN, is_admin=True, visibility="private")) == {
        "private_mine", "private_other", "private_with_member", "null_owner"}
    # member_status does not narrow an admin's list.
    assert visible(engine, visibility_data,
                   Scope(ADMIN, is_admin=True, visibility="shared",
                         member_status="pending")) == {
        "shared_mine", "shared_accepted", "shared_pending",
        "shared_rejected", "shared_not_member"}


def test_deleted_and_other_types_are_never_listed(engine, visibility_data):
    t, names = visibility_data
    other = make("other_" + uuid.uuid4().hex[:8])
    insert_all(engine, [other])
    listed = ids(engine, t, Scope(ADMIN, is_admin=True, visibility="all"))
    assert set(listed) == set(names)
    assert other["id"] not in listed


# --------------------------------------------------------------------- filters

LONG_1 = "long description " * 20          # > 255 characters
LONG_2 = LONG_1 + "with a different end"


@pytest.fixture(scope="module")
def filter_data(engine):
    t = "flt_" + uuid.uuid4().hex[:8]
    arts = {
        "A": make(t, name="one", status="active", created_at=NOW,
                  updated_at=NOW + 5 * HOUR,
                  properties={"os_distro": "ubuntu", "min_ram": 512,
                              "description": LONG_1},
                  tags={"a", "b"}),
        "B": make(t, name="two", status="queued", created_at=NOW + HOUR,
                  hidden=True,
                  properties={"os_distro": "debian", "min_ram": 1024,
                              "description": LONG_2},
                  tags={"a"}),
        "C": make(t, name="three", status="active",
                  created_at=NOW + 2 * HOUR, protected=True,
                  properties={"min_ram": 512, "description": "short"},
                  tags={"b"}),
        "D": make(t, name="four", status="killed", created_at=NOW,
                  properties={"os_distro": "ubuntu"}),
    }
    gone = make(t, name="one", status="active",
                properties={"os_distro": "ubuntu"}, tags={"a", "b"})
    insert_all(engine, list(arts.values()) + [gone], deleted=[gone])
    return t, {v["id"]: k for k, v in arts.items()}


def matching(engine, data, *filters, hidden_statuses=("killed",)):
    t, names = data
    return {names[i] for i in ids(engine, t, filters=filters,
                                  hidden_statuses=hidden_statuses)}


@pytest.mark.parametrize("filters,expected", [
    ([], {"A", "B", "C"}),
    ([Filter("name", "eq", "one")], {"A"}),
    ([Filter("name", "neq", "one")], {"B", "C"}),
    ([Filter("name", "in", ["one", "three", "nope"])], {"A", "C"}),
    ([Filter("id", "in", [])], set()),
    ([Filter("status", "eq", "active")], {"A", "C"}),
    ([Filter("status", "in", ["queued", "killed"])], {"B"}),
    ([Filter("protected", "eq", True, "boolean")], {"C"}),
    ([Filter("hidden", "eq", True, "boolean")], {"B"}),
    ([Filter("hidden", "eq", False, "boolean")], {"A", "C"}),
    # Properties: string and integer values.
    ([Filter("os_distro", "eq", "ubuntu")], {"A"}),
    ([Filter("os_distro", "in", ["ubuntu", "debian"])], {"A", "B"}),
    ([Filter("os_distro", "eq", "centos")], set()),
    ([Filter("min_ram", "eq", 512, "integer")], {"A", "C"}),
    ([Filter("min_ram", "gte", 1000, "integer")], {"B"}),
    ([Filter("min_ram", "lt", 1024, "integer")], {"A", "C"}),
    ([Filter("min_ram", "in", [1024, 7], "integer")], {"B"}),
    # Values over 255 characters live in text_value.
    ([Filter("description", "eq", LONG_1)], {"A"}),
    ([Filter("description", "eq", LONG_2)], {"B"}),
    ([Filter("description", "eq", "short")], {"C"}),
    ([Filter("description", "eq", LONG_1[:255])], set()),
    # Tags: every tag filter must match (AND).
    ([Filter("tag", "eq", "a", "tag")], {"A", "B"}),
    ([Filter("tag", "eq", "a", "tag"), Filter("tag", "eq", "b", "tag")],
     {"A"}),
    ([Filter("tag", "eq", "zzz", "tag")], set()),
    # Datetime operators.
    ([Filter("created_at", "gt", NOW, "datetime")], {"B", "C"}),
    ([Filter("created_at", "gte", NOW + HOUR, "datetime")], {"B", "C"}),
    ([Filter("created_at", "lt", NOW + HOUR, "datetime")], {"A"}),
    ([Filter("created_at", "lte", NOW + HOUR, "datetime")], {"A", "B"}),
    ([Filter("created_at", "eq", NOW + 2 * HOUR, "datetime")], {"C"}),
    ([Filter("created_at", "neq", NOW, "datetime")], {"B", "C"}),
    ([Filter("updated_at", "gt", NOW + HOUR, "datetime")], {"A"}),
    # Filters combine with AND.
    ([Filter("status", "eq", "active"),
      Filter("min_ram", "eq", 512, "integer"),
      Filter("tag", "eq", "a", "tag")], {"A"}),
])
def test_filters(engine, filter_data, filters, expected):
    assert matching(engine, filter_data, *filters) == expected


def test_hidden_statuses(engine, filter_data):
    assert matching(engine, filter_data, hidden_statuses=()) == {
        "A", "B", "C", "D"}
    assert matching(engine, filter_data,
                    Filter("os_distro", "eq", "ubuntu"),
                    hidden_statuses=()) == {"A", "D"}
    assert matching(engine, filter_data,
                    hidden_statuses=("killed", "queued")) == {"A", "C"}


def test_owner_filter_matches_null(engine):
    t = "own_" + uuid.uuid4().hex[:8]
    mine, nobody = make(t, owner=P1), make(t, owner=None)
    insert_all(engine, [mine, nobody])
    assert ids(engine, t, filters=[Filter("owner", "eq", None)]) == [
        nobody["id"]]
    assert ids(engine, t, filters=[Filter("owner", "eq", P1)]) == [
        mine["id"]]


def test_unknown_operator_is_refused(engine, filter_data):
    with pytest.raises(ValueError):
        matching(engine, filter_data, Filter("name", "like", "o%"))


# ------------------------------------------------------------- sort and paging

NAMES = [None, "alpha", "beta", "gamma", "delta"]
DISTROS = ["centos", "debian", "ubuntu"]


@pytest.fixture(scope="module")
def sort_data(engine):
    t = "srt_" + uuid.uuid4().hex[:8]
    arts = []
    for i in range(31):
        props = {}
        if i % 4:
            props["os_distro"] = DISTROS[i % 3]
        if i % 5 != 1:
            props["size"] = (i * 37) % 11 - 3      # negatives, 0, positives
        arts.append(make(
            t, name=NAMES[i % 5], status=("queued", "active", "saving")[i % 3],
            created_at=NOW + datetime.timedelta(minutes=i % 7),
            updated_at=NOW + datetime.timedelta(minutes=(i * 5) % 13),
            properties=props))
    insert_all(engine, arts)
    return t, arts


def sort_value(art, key, kind):
    if key in ("name", "status", "id", "created_at", "updated_at"):
        value = art[key]
    else:
        value = art["properties"].get(key)
    if value is None:
        value = {"integer": 0}.get(kind, "")
    return value


def expected_order(arts, sort):
    """Python's view of the order: NULLs as ''/0, created_at and id as
    tie-breakers in the first key's direction."""
    keys = list(sort)
    first = keys[0][1] if keys else "desc"
    names = [k for k, _, _ in keys]
    if "created_at" not in names:
        keys.append(("created_at", first, "datetime"))
    if "id" not in names:
        keys.append(("id", first, "string"))
    result = list(arts)
    for key, direction, kind in reversed(keys):
        result.sort(key=lambda a: sort_value(a, key, kind),
                    reverse=direction == "desc")
    return [a["id"] for a in result]


SORTS = [
    (),
    (("name", "asc", "string"),),
    (("name", "desc", "string"),),
    (("name", "desc", "string"), ("size", "asc", "integer")),
    (("os_distro", "asc", "string"),),
    (("os_distro", "desc", "string"), ("name", "asc", "string")),
    (("size", "desc", "integer"),),
    (("size", "asc", "integer"), ("created_at", "desc", "datetime")),
    (("status", "asc", "string"), ("updated_at", "desc", "datetime")),
    (("id", "asc", "string"),),
    (("created_at", "asc", "datetime"),),
]


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: ",".join(
    "%s:%s" % (k, d) for k, d, _ in s) or "default")
def test_sort_order(engine, sort_data, sort):
    t, arts = sort_data
    assert ids(engine, t, sort=list(sort)) == expected_order(arts, sort)


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: ",".join(
    "%s:%s" % (k, d) for k, d, _ in s) or "default")
@pytest.mark.parametrize("page_size", [1, 4, 7])
def test_keyset_paging_walks_every_row_once_in_order(engine, sort_data, sort,
                                                     page_size):
    t, arts = sort_data
    seen, marker = [], None
    for _ in range(len(arts) + 2):
        page = ids(engine, t, sort=list(sort), limit=page_size,
                   marker=marker)
        seen.extend(page)
        if len(page) < page_size:
            break
        marker = page[-1]
    else:
        pytest.fail("paging did not terminate")
    assert len(seen) == len(set(seen))
    assert seen == expected_order(arts, sort)


def test_paging_with_filters(engine, sort_data):
    t, arts = sort_data
    sort = [("name", "asc", "string")]
    flt = [Filter("status", "in", ["queued", "active"])]
    expected = [i for i in expected_order(arts, sort)
                if next(a for a in arts if a["id"] == i)["status"]
                in ("queued", "active")]
    seen, marker = [], None
    while True:
        page = ids(engine, t, filters=flt, sort=sort, limit=5, marker=marker)
        seen.extend(page)
        if len(page) < 5:
            break
        marker = page[-1]
    assert seen == expected


def test_nulls_sort_as_empty_string_and_zero(engine):
    t = "nul_" + uuid.uuid4().hex[:8]
    a = {
        "neg": make(t, name="b", properties={"size": -1, "os_distro": "b"}),
        "null": make(t, name=None, properties={}),
        "pos": make(t, name="a", properties={"size": 1, "os_distro": "a"}),
        "empty": make(t, name="", properties={"os_distro": ""}),
    }
    insert_all(engine, list(a.values()))
    names = {v["id"]: k for k, v in a.items()}

    def order(*sort):
        return [names[i] for i in ids(engine, t, sort=list(sort))]

    assert order(("size", "asc", "integer"))[0] == "neg"
    assert order(("size", "asc", "integer"))[-1] == "pos"
    assert set(order(("size", "asc", "integer"))[1:3]) == {"null", "empty"}
    assert order(("size", "desc", "integer"))[0] == "pos"
    assert set(order(("name", "asc", "string"))[:2]) == {"null", "empty"}
    assert order(("name", "asc", "string"))[2:] == ["pos", "neg"]
    assert set(order(("os_distro", "desc", "string"))[2:]) == {
        "null", "empty"}


def test_limit_and_unknown_marker(engine, sort_data):
    t, arts = sort_data
    everything = expected_order(arts, ())
    assert ids(engine, t, limit=3) == everything[:3]
    assert ids(engine, t, limit=0) == []
    # A marker that does not exist is ignored here (the engine refuses it
    # before it gets this far).
    assert ids(engine, t, limit=3, marker=str(uuid.uuid4())) == everything[:3]
    assert ids(engine, t, limit=1000, marker=everything[-1]) == []
