"""artifacts.api.listing: filters, versions (latest and ranges), sort,
paging links, and the cross-type list, through GET /artifacts/{type}."""

import uuid

import pytest

from tests.artifacts.api.conftest import KINDS_NAME


def names(resp, key=KINDS_NAME):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [(a["name"], a["version"]) for a in resp.json[key]]


@pytest.fixture(scope="module")
def project(api):
    """A project of its own with a known set of artifacts."""
    client = api.as_project("list-%s" % uuid.uuid4().hex[:6])
    rows = [
        ("alpha", "1.0.0", dict(count=1, title="a", enabled=True,
                                ratio=0.5)),
        ("alpha", "1.10.0", dict(count=5, title="b", enabled=False)),
        ("alpha", "1.9.0", dict(count=3, title="c")),
        ("alpha", "2.0.0-rc.1", dict(count=7, title="d")),
        ("beta", "0.1.0", dict(count=2, title="e", ratio=2.5)),
        ("gamma", "3.0.0", dict(count=9, title="f")),
    ]
    made = {}
    for name, version, fields in rows:
        made[(name, version)] = client.create(
            KINDS_NAME, name=name, version=version,
            tags=["t-" + name, "all"], **fields)
    return client, made


def get(client, query):
    return client.get("/artifacts/%s?%s" % (KINDS_NAME, query))


def test_default_list_is_newest_first(project):
    client, made = project
    assert names(get(client, "")) == list(reversed(list(made)))


@pytest.mark.parametrize("query, expected", [
    ("name=beta", [("beta", "0.1.0")]),
    ("name=in:beta,gamma&sort=name:asc", [("beta", "0.1.0"),
                                          ("gamma", "3.0.0")]),
    ("name=neq:alpha&sort=name:desc", [("gamma", "3.0.0"),
                                        ("beta", "0.1.0")]),
    ("count=gte:7&sort=count:asc", [("alpha", "2.0.0-rc.1"),
                                    ("gamma", "3.0.0")]),
    ("count=in:1,2&sort=count:asc", [("alpha", "1.0.0"), ("beta", "0.1.0")]),
    ("count=5", [("alpha", "1.10.0")]),
    ("ratio=gt:1", [("beta", "0.1.0")]),
    ("enabled=false", [("alpha", "1.10.0")]),
    ("enabled=TRUE", [("alpha", "1.0.0")]),
    ("title=gt:d&sort=title:asc", [("beta", "0.1.0"), ("gamma", "3.0.0")]),
    ("tags=t-beta&tags=all", [("beta", "0.1.0")]),
    ("tags=t-beta&tags=t-gamma", []),
    ("status=drafted&name=gamma", [("gamma", "3.0.0")]),
    ("status=active", []),
    ("version=latest&sort=name:asc", [("alpha", "2.0.0-rc.1"),
                                      ("beta", "0.1.0"),
                                      ("gamma", "3.0.0")]),
    ("version=latest&name=alpha&count=lt:7", [("alpha", "1.10.0")]),
    # Semver: 2.0.0-rc.1 comes before 2.0.0.
    ("name=alpha&version=gte:1.9&version=lt:2&sort=version:asc",
     [("alpha", "1.9.0"), ("alpha", "1.10.0"), ("alpha", "2.0.0-rc.1")]),
    ("name=alpha&version=gte:1.9&version=lt:2.0.0-alpha&sort=version:asc",
     [("alpha", "1.9.0"), ("alpha", "1.10.0")]),
    ("name=alpha&version=gt:1.10.0&sort=version:asc",
     [("alpha", "2.0.0-rc.1")]),
    ("name=alpha&version=lte:1.9.0&sort=version:desc",
     [("alpha", "1.9.0"), ("alpha", "1.0.0")]),
    ("name=alpha&version=neq:1.0&sort=version:asc",
     [("alpha", "1.9.0"), ("alpha", "1.10.0"), ("alpha", "2.0.0-rc.1")]),
    ("version=eq:1.0&name=alpha", [("alpha", "1.0.0")]),
    ("version=in:1.0,3&sort=version:asc", [("alpha", "1.0.0"),
                                           ("gamma", "3.0.0")]),
    ("version=2.0.0-rc.1", [("alpha", "2.0.0-rc.1")]),
    ("sort=count:asc&limit=2", [("alpha", "1.0.0"), ("beta", "0.1.0")]),
    ("sort=version:desc,name:asc&limit=3", [("gamma", "3.0.0"),
                                            ("alpha", "2.0.0-rc.1"),
                                            ("alpha", "1.10.0")]),
])
def test_filters_and_sort(project, query, expected):
    client, _ = project
    assert names(get(client, query)) == expected


def test_paging_with_links(project):
    client, made = project
    seen, query, pages = [], "sort=name:asc,version:asc&limit=2", 0
    resp = get(client, query)
    first = resp.json["first"]
    assert first == "/artifacts/%s?sort=name%%3Aasc%%2Cversion%%3Aasc" \
        "&limit=2" % KINDS_NAME
    assert resp.json["schema"] == "/artifacts/schemas/" + KINDS_NAME
    while True:
        pages += 1
        seen.extend(names(resp))
        if "next" not in resp.json:
            break
        assert "marker=" in resp.json["next"]
        resp = client.get(resp.json["next"])
    # Three full pages (each with a next link), then an empty one.
    assert pages == 4
    assert seen == [("alpha", "1.0.0"), ("alpha", "1.9.0"),
                    ("alpha", "1.10.0"), ("alpha", "2.0.0-rc.1"),
                    ("beta", "0.1.0"), ("gamma", "3.0.0")]


def test_limits(project, glare):
    client, _ = project
    assert get(client, "limit=0").json[KINDS_NAME] == []
    assert len(names(get(client, "limit=100000"))) == 6


@pytest.mark.parametrize("query, words", [
    ("limit=-1", "limit"),
    ("limit=x", "limit"),
    ("sort=nope", "sort"),
    ("sort=name:sideways", "asc"),
    ("sort=name,name", "twice"),
    ("sort=labels", "sort"),
    ("colour=red", "colour"),
    ("count=like:3", "count"),
    ("count=abc", "count"),
    ("count=99999999999999999999999", "count"),
    ("ratio=nan", "ratio"),
    ("ratio=gte:1", "ratio"),
    ("enabled=yes", "enabled"),
    ("enabled=neq:true", "enabled"),
    ("flavor=lemon", "flavor"),
    ("version=lol", "version"),
    ("version=gt:", "version"),
    ("version=in:", "version"),
    ("status=sleeping", "status"),
    ("visibility=secret", "visibility"),
    ("visibility=public&visibility=private", "visibility"),
    ("tags=", "tag"),
    ("name=gt:a", "name"),
    # A fixed id: parametrize ids must be the same in every xdist worker.
    ("marker=6f1c2a3e-0000-4000-8000-000000000001", "found"),
    ("labels=x", "labels"),
])
def test_bad_queries(project, query, words):
    client, _ = project
    resp = get(client, query)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert words in resp.json["error"]["message"].lower()


def test_visibility_scope(api, project):
    client, made = project
    other = api.as_project("list-other-%s" % uuid.uuid4().hex[:6])
    assert not any(a["owner"] == client.project
                   for a in get(other, "limit=1000").json[KINDS_NAME])
    # The admin sees all, filtered by owner.
    mine = api.get("/artifacts/%s?owner=%s" % (KINDS_NAME, client.project))
    assert len(names(mine)) == len(made)
    assert names(get(client, "visibility=public")) == []
    assert len(names(get(client, "visibility=private"))) == len(made)


def test_latest_does_not_cross_projects(api):
    name = "shared-name-%s" % uuid.uuid4().hex[:6]
    p1, p2 = api.as_project("latest-p1"), api.as_project("latest-p2")
    p1.create(KINDS_NAME, name=name, version="1.0.0")
    p2.create(KINDS_NAME, name=name, version="5.0.0")
    query = "name=%s&version=latest" % name
    assert names(get(p1, query)) == [(name, "1.0.0")]
    assert sorted(names(api.get("/artifacts/%s?%s" % (KINDS_NAME,
                                                      query)))) == [
        (name, "1.0.0"), (name, "5.0.0")]


def test_list_all_types(api):
    client = api.as_project("all-%s" % uuid.uuid4().hex[:6])
    heat = client.create("heat_templates", name="h")
    files = client.create("files", name="f", description="d")
    resp = client.get("/artifacts/all?sort=name:asc")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    found = resp.json["all"]
    assert [(a["type_name"], a["name"]) for a in found] == [
        ("files", "f"), ("heat_templates", "h")]
    # Each rendered with its own type's fields.
    assert found[0]["description"] == "d" and "file" in found[0]
    assert "template" in found[1]
    assert resp.json["schema"] == "/artifacts/schemas"
    # Only the common fields filter across types.
    assert client.get("/artifacts/all?name=h").json["all"][0]["id"] == \
        heat["id"]
    bad = client.get("/artifacts/all?count=1")
    assert bad.status_code == 400
    paged = client.get("/artifacts/all?limit=1&sort=name:asc")
    nxt = client.get(paged.json["next"]).json["all"]
    assert [a["id"] for a in nxt] == [heat["id"]]
    assert files["id"] == paged.json["all"][0]["id"]
    bad_marker = client.get("/artifacts/all?marker=%s" % uuid.uuid4())
    assert bad_marker.status_code == 400


def test_version_filter_with_non_ascii_digits_is_400(api):
    resp = api.get("/artifacts/files?version=1%D9%A2.0.0")
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "ASCII" in resp.get_data(as_text=True)
