"""GET /v2/images: filters, sorting, paging and the links Glance returns.

One module-scoped catalogue of images (all tagged with a tag unique to this
run) keeps the results independent of whatever else the endpoint holds.
"""

import datetime
import time
import urllib.parse

import pytest

from conformance.client import ADMIN_A, MEMBER_A, MEMBER_B, unique


class Catalogue:
    pass


@pytest.fixture(scope="module")
def cat(module_clients):
    """Seven images of project A, all tagged ``cat.tag``:

    ======  ======  =========  =====  ==============================
    name    disk    container  data   other
    ======  ======  =========  =====  ==============================
    n0      raw     bare       10 B   private, tag t-even, os_distro=a
    n1      qcow2   ami        20 B   tag t-odd, min_ram=512
    n2      raw     ovf        30 B   tag t-even, protected
    n3      vhd     bare       -      tag t-odd (queued)
    n4      raw     bare       40 B   community, tag t-even
    n5      iso     bare       -      hidden (os_hidden)
    n6      raw     bare       -      name contains a comma
    ======  ======  =========  =====  ==============================

    (n1's container is not bare, so no format inspection looks at its
    data.)
    """
    member = module_clients(MEMBER_A)
    c = Catalogue()
    c.member = member
    c.tag = unique("cat")
    c.prefix = unique("n")
    specs = [
        dict(disk_format="raw", container_format="bare", data=b"a" * 10,
             visibility="private", tags=["t-even"], os_distro="a"),
        dict(disk_format="qcow2", container_format="ami", data=b"b" * 20,
             tags=["t-odd"], min_ram=512),
        dict(disk_format="raw", container_format="ovf", data=b"c" * 30,
             tags=["t-even"], protected=True),
        dict(disk_format="vhd", container_format="bare", tags=["t-odd"]),
        dict(disk_format="raw", container_format="bare", data=b"d" * 40,
             visibility="community", tags=["t-even"]),
        dict(disk_format="iso", container_format="bare", os_hidden=True),
        dict(disk_format="raw", container_format="bare"),
    ]
    c.images = []
    for i, spec in enumerate(specs):
        spec = dict(spec)
        data = spec.pop("data", None)
        spec["tags"] = spec.get("tags", []) + [c.tag]
        name = "%s-%d" % (c.prefix, i)
        if i == 6:
            name = "%s,6" % c.prefix
        image = member.create_image(name=name, **spec)
        if data is not None:
            resp = member.upload(image["id"], data)
            assert resp.status_code == 204, resp.text
        c.images.append(member.show(image["id"]))
        # Distinct created_at seconds make time filters and the default
        # order deterministic.
        if i in (2, 3):
            time.sleep(1.1)
    c.by_name = {i["name"]: i for i in c.images}
    c.ids = [i["id"] for i in c.images]
    c.visible_ids = [i["id"] for i in c.images if not i["os_hidden"]]
    return c


def _list(client, **params):
    resp = client.get("/v2/images", params=params)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    return resp.json()


def _ids(client, **params):
    return [i["id"] for i in _list(client, **params)["images"]]


def _names(client, **params):
    return [i["name"] for i in _list(client, **params)["images"]]


def _all_pages(client, params):
    body = _list(client, **params)
    pages = [body]
    while "next" in body:
        resp = client.get(body["next"])
        assert resp.status_code == 200
        body = resp.json()
        pages.append(body)
        assert len(pages) < 50
    return pages


# ------------------------------------------------------------------ body


def test_list_body_shape(cat):
    """Glance: the list body is {"images", "first", "schema"[, "next"]}, with
    first = /v2/images?<query> and schema = /v2/schemas/images."""
    body = _list(cat.member, tag=cat.tag)
    assert set(body) == {"images", "first", "schema"}
    assert body["schema"] == "/v2/schemas/images"
    assert body["first"] == "/v2/images?tag=%s" % cat.tag


def test_list_without_query_first_link(member):
    """Glance: without a query string, first is exactly /v2/images."""
    body = _list(member)
    assert body["first"] == "/v2/images"


def test_list_items_are_full_records(cat):
    """Glance: list items are the same records GET /v2/images/{id}
    returns."""
    images = _list(cat.member, tag=cat.tag)["images"]
    for image in images:
        assert image == cat.member.show(image["id"])


def test_default_list_shows_own_images(cat):
    """Glance: the default list has the caller's images of every visibility
    (private, shared, its own community ones) and status (queued too), but
    not hidden ones."""
    ids = _ids(cat.member, tag=cat.tag)
    assert sorted(ids) == sorted(cat.visible_ids)


# -------------------------------------------------------------- ordering


def test_default_order_is_created_at_desc(cat):
    """Glance: the default sort is created_at desc (ties: id desc)."""
    images = _list(cat.member, tag=cat.tag)["images"]
    stamps = [i["created_at"] for i in images]
    assert stamps == sorted(stamps, reverse=True)


def test_default_order_is_creation_order_within_a_second(member):
    """Glance: created_at is stored with sub-second precision, so the
    default list (created_at desc) is exact reverse creation order even for
    images created within the same second."""
    tag = unique("order")
    # Ten images: with second-precision timestamps a chance match of the
    # id order is at best 1 in 9!, so the strict xfail on Glare is stable.
    ids = [member.create_image(tags=[tag])["id"] for _ in range(10)]
    assert _ids(member, tag=tag) == ids[::-1]


def test_sort_key_and_dir(cat):
    """Glance: sort_key=name&sort_dir=asc orders by name ascending."""
    names = _names(cat.member, tag=cat.tag, sort_key="name", sort_dir="asc")
    assert names == sorted(names)
    assert len(names) == len(cat.visible_ids)


def test_sort_dir_defaults_to_desc(cat):
    """Glance: sort_key without sort_dir sorts descending."""
    names = _names(cat.member, tag=cat.tag, sort_key="name")
    assert names == sorted(names, reverse=True)


def test_new_sort_syntax(cat):
    """Glance: sort=name:asc is the new syntax for the same order."""
    names = _names(cat.member, tag=cat.tag, sort="name:asc")
    assert names == sorted(names)


def test_new_sort_syntax_default_dir_desc(cat):
    """Glance: in the new syntax a key without direction is desc."""
    names = _names(cat.member, tag=cat.tag, sort="name")
    assert names == sorted(names, reverse=True)


def test_sort_by_size_desc(cat):
    """Glance: sort=size:desc orders active images by size (Tempest
    test_list_images_param_sort)."""
    images = _list(cat.member, tag=cat.tag, status="active",
                   sort="size:desc")["images"]
    sizes = [i["size"] for i in images]
    assert sizes == [40, 30, 20, 10]


def test_sort_by_size_old_syntax(cat):
    """Glance: sort_key=size&sort_dir=asc (Tempest
    test_list_images_param_sort_key_dir)."""
    images = _list(cat.member, tag=cat.tag, status="active",
                   sort_key="size", sort_dir="asc")["images"]
    assert [i["size"] for i in images] == [10, 20, 30, 40]


def test_sort_several_keys(cat):
    """Glance: sort=disk_format:asc,name:desc sorts by the first key, ties by
    the second."""
    images = _list(cat.member, tag=cat.tag,
                   sort="disk_format:asc,name:desc")["images"]
    got = [(i["disk_format"], i["name"]) for i in images]
    expected = sorted(got, key=lambda t: t[1], reverse=True)
    expected = sorted(expected, key=lambda t: t[0])
    assert got == expected


def test_repeated_sort_key_one_dir(cat):
    """Glance: repeated sort_key with one sort_dir applies the direction to
    every key."""
    images = _list(cat.member, tag=cat.tag, sort_key=["disk_format", "name"],
                   sort_dir="asc")["images"]
    got = [(i["disk_format"], i["name"]) for i in images]
    assert got == sorted(got)


def test_sort_dirs_per_key(cat):
    """Glance: as many sort_dir as sort_key pair up one to one."""
    images = _list(cat.member, tag=cat.tag, sort_key=["disk_format", "name"],
                   sort_dir=["asc", "desc"])["images"]
    got = [(i["disk_format"], i["name"]) for i in images]
    expected = sorted(sorted(got, key=lambda t: t[1], reverse=True),
                      key=lambda t: t[0])
    assert got == expected


@pytest.mark.parametrize("key", ["name", "status", "container_format",
                                 "disk_format", "id", "created_at",
                                 "updated_at"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_key(cat, key, direction):
    """Glance: each of the eight sort keys sorts in both directions."""
    images = _list(cat.member, tag=cat.tag, sort_key=key,
                   sort_dir=direction)["images"]
    values = [i[key] for i in images]
    assert values == sorted(values, reverse=direction == "desc")
    assert len(images) == len(cat.visible_ids)


@pytest.mark.parametrize("sort", ["disk_format:asc", "status:desc",
                                  "container_format:asc,name:desc"])
def test_paging_through_ties(cat, sort):
    """Glance: paging by a key with many equal values (ties broken by
    created_at and id) still yields every image exactly once."""
    pages = _all_pages(cat.member, {"tag": cat.tag, "limit": 2,
                                    "sort": sort})
    ids = [i["id"] for p in pages for i in p["images"]]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(cat.visible_ids)


@pytest.mark.parametrize("params", [
    {"sort_key": "bogus"},
    {"sort": "bogus:asc"},
    {"sort_key": "name", "sort_dir": "up"},
    {"sort": "name:up"},
    {"sort": "name:asc", "sort_key": "name"},
    {"sort": "name:asc", "sort_dir": "asc"},
    {"sort_key": ["name", "size"], "sort_dir": ["asc", "desc", "asc"]},
    {"sort_key": "owner"},
])
def test_bad_sort_is_400(member, params):
    """Glance: unknown sort keys (only name, status, container_format,
    disk_format, size, id, created_at, updated_at), unknown directions,
    mixing the old and new syntax, and a dir count that does not match the
    key count are all 400."""
    resp = member.get("/v2/images", params=params)
    assert resp.status_code == 400


# ---------------------------------------------------------------- paging


def test_limit(cat):
    """Glance: limit caps the page (Tempest test_list_images_param_limit)."""
    assert len(_list(cat.member, tag=cat.tag, limit=1)["images"]) == 1


def test_limit_zero_is_empty(cat):
    """Glance: limit=0 returns an empty page, 200."""
    assert _list(cat.member, tag=cat.tag, limit=0)["images"] == []


@pytest.mark.parametrize("limit", ["-1", "abc", "1.5"])
def test_bad_limit_is_400(member, limit):
    """Glance: limit must be a non-negative integer (400 'limit param must
    be an integer' / 'must be positive')."""
    assert member.get("/v2/images", params={"limit": limit}).status_code \
        == 400


def test_huge_limit_is_clamped(member):
    """Glance: a limit above api_limit_max is silently clamped, not an
    error."""
    assert member.get("/v2/images", params={"limit": 10 ** 9}).status_code \
        == 200


def test_next_link_when_page_full(cat):
    """Glance: next = /v2/images?<query>&marker=<last id> when the page is
    full; the marker goes last, other parameters keep their order."""
    body = _list(cat.member, tag=cat.tag, limit=2, sort="name:asc")
    last = body["images"][-1]["id"]
    assert body["next"] == "/v2/images?" + urllib.parse.urlencode(
        [("tag", cat.tag), ("limit", "2"), ("sort", "name:asc"),
         ("marker", last)])


def test_paging_visits_every_image_once(cat):
    """Glance: following next until it is absent yields every image exactly
    once, in order."""
    pages = _all_pages(cat.member, {"tag": cat.tag, "limit": 2,
                                    "sort": "name:asc"})
    ids = [i["id"] for p in pages for i in p["images"]]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(cat.visible_ids)
    names = [cat.member.show(i)["name"] for i in ids]
    assert names == sorted(names)


def test_last_full_page_still_has_next(cat):
    """Glance: next is emitted whenever a page is full, so when the total is
    a multiple of limit the client gets one final empty page."""
    n = len(cat.visible_ids)
    pages = _all_pages(cat.member, {"tag": cat.tag, "limit": n})
    assert len(pages) == 2
    assert pages[1]["images"] == []
    assert "next" not in pages[1]


def test_short_page_has_no_next(cat):
    """Glance: a page shorter than limit has no next."""
    body = _list(cat.member, tag=cat.tag, limit=100)
    assert "next" not in body


def test_first_link_omits_marker(cat):
    """Glance: first repeats the query without the marker."""
    marker = _list(cat.member, tag=cat.tag, limit=1)["images"][0]["id"]
    body = _list(cat.member, tag=cat.tag, limit=1, marker=marker)
    assert "marker" not in body["first"]
    assert body["first"] == "/v2/images?" + urllib.parse.urlencode(
        [("tag", cat.tag), ("limit", "1")])


def test_marker_continues_after_image(cat):
    """Glance: marker=<id> returns the images after that one in the same
    order."""
    full = _ids(cat.member, tag=cat.tag, sort="name:asc")
    rest = _ids(cat.member, tag=cat.tag, sort="name:asc", marker=full[1])
    assert rest == full[2:]


def test_unknown_marker_is_400(member):
    """Glance: a marker that is no visible image is 400 ('No image found
    with ID ...')."""
    resp = member.get("/v2/images", params={
        "marker": "00000000-0000-0000-0000-000000000000"})
    assert resp.status_code == 400


@pytest.mark.glance_deviation(
    "Glance looks the marker up through the policy layer: another "
    "project's private image gives 403 while an unknown id gives 400, so "
    "the answer tells a caller that an image it may not see exists")
def test_invisible_marker_is_400(cat, clients):
    """Correct behaviour: a marker naming another project's private image is
    400, exactly like an unknown id."""
    other = clients(MEMBER_B)
    private = cat.images[0]["id"]
    assert other.get("/v2/images", params={"marker": private}).status_code \
        == 400


def test_links_encode_query(member):
    """Glance: first/next re-encode the query: colons and commas are
    percent-encoded, unknown parameters are kept."""
    body = _list(member, limit=0, foo="bar", sort="name:asc,size:desc")
    assert body["first"] == ("/v2/images?limit=0&foo=bar&"
                             "sort=name%3Aasc%2Csize%3Adesc")


@pytest.mark.glance_deviation(
    "Glance rebuilds links with urlencode(dict(request.params)), so "
    "repeated parameters collapse to their last value: tag=a&tag=b comes "
    "back as tag=b and following next silently widens the filter")
def test_repeated_tag_kept_in_links(cat):
    """Correct behaviour: first/next keep every tag parameter, so page 2
    has the same AND filter as page 1."""
    body = _list(cat.member, tag=[cat.tag, "t-even"], limit=1)
    assert body["first"] == "/v2/images?" + urllib.parse.urlencode(
        [("tag", cat.tag), ("tag", "t-even"), ("limit", "1")])
    assert body["next"].count("tag=") == 2
    pages = _all_pages(cat.member, {"tag": [cat.tag, "t-even"], "limit": 1})
    ids = {i["id"] for p in pages for i in p["images"]}
    assert ids == {i["id"] for i in cat.images if "t-even" in i["tags"]}


# --------------------------------------------------------------- filters


def test_filter_name(cat):
    """Glance: name=<n> is an exact match (Tempest
    test_list_images_param_name)."""
    name = cat.images[1]["name"]
    assert _ids(cat.member, name=name) == [cat.images[1]["id"]]


def test_filter_name_prefix_does_not_match(cat):
    """Glance: name filters are exact, not prefix or substring matches."""
    assert _ids(cat.member, name=cat.prefix) == []


def test_filter_name_in(cat):
    """Glance: name=in:a,b matches any of the names."""
    a, b = cat.images[0]["name"], cat.images[1]["name"]
    ids = _ids(cat.member, name="in:%s,%s" % (a, b))
    assert sorted(ids) == sorted([cat.images[0]["id"], cat.images[1]["id"]])


def test_filter_name_in_quoted_comma(cat):
    """Glance: in: values may be double-quoted to protect a comma."""
    name = cat.images[6]["name"]
    ids = _ids(cat.member, name='in:"%s",nothing' % name)
    assert ids == [cat.images[6]["id"]]


def test_filter_name_unknown_operator_is_400(member):
    """Glance: name=<op>:<value> with an operator other than in is 400 (so
    a literal name containing ':' must be written in:"a:b")."""
    assert member.get("/v2/images", params={"name": "foo:bar"}).status_code \
        == 400


def test_filter_id_in(cat):
    """Glance: id=in:<id1>,<id2> lists exactly those images."""
    ids = _ids(cat.member, id="in:%s,%s" % (cat.ids[0], cat.ids[2]))
    assert sorted(ids) == sorted([cat.ids[0], cat.ids[2]])


def test_filter_id_exact(cat):
    """Glance: id=<id> lists that image."""
    assert _ids(cat.member, id=cat.ids[3]) == [cat.ids[3]]


def test_filter_status(cat):
    """Glance: status=active / status=queued (Tempest
    test_list_images_param_status)."""
    active = _list(cat.member, tag=cat.tag, status="active")["images"]
    assert {i["status"] for i in active} == {"active"}
    assert len(active) == 4
    queued = _ids(cat.member, tag=cat.tag, status="queued")
    assert sorted(queued) == sorted([cat.ids[3], cat.ids[6]])


def test_filter_status_in(cat):
    """Glance: status=in:active,queued."""
    ids = _ids(cat.member, tag=cat.tag, status="in:active,queued")
    assert sorted(ids) == sorted(cat.visible_ids)


def test_filter_disk_format(cat):
    """Glance: disk_format=raw exact match (Tempest
    test_list_images_param_disk_format)."""
    images = _list(cat.member, tag=cat.tag, disk_format="raw")["images"]
    assert {i["disk_format"] for i in images} == {"raw"}
    assert len(images) == 4


def test_filter_container_format(cat):
    """Glance: container_format=ovf (Tempest
    test_list_images_param_container_format)."""
    assert _ids(cat.member, tag=cat.tag, container_format="ovf") == \
        [cat.ids[2]]


def test_filter_disk_format_in(cat):
    """Glance: disk_format=in:qcow2,vhd."""
    ids = _ids(cat.member, tag=cat.tag, disk_format="in:qcow2,vhd")
    assert sorted(ids) == sorted([cat.ids[1], cat.ids[3]])


def test_filter_size_exact(cat):
    """Glance: size=<n> is an integer match (Tempest
    test_list_images_param_size)."""
    assert _ids(cat.member, tag=cat.tag, size=20) == [cat.ids[1]]


def test_filter_size_range(cat):
    """Glance: size_min/size_max bound the size inclusively (Tempest
    test_list_images_param_min_max_size)."""
    ids = _ids(cat.member, tag=cat.tag, size_min=20, size_max=30)
    assert sorted(ids) == sorted([cat.ids[1], cat.ids[2]])


@pytest.mark.parametrize("param", ["size_min", "size_max"])
def test_filter_size_range_non_numeric_is_400(member, param):
    """Glance: a non-integer size_min/size_max is 400 ('Unable to filter on
    a range with a non-numeric value.')."""
    assert member.get("/v2/images", params={param: "x"}).status_code == 400


@pytest.mark.glance_deviation(
    "Glance turns any *_min/*_max parameter into a range filter on a "
    "database column of that name; for a name that is no column "
    "(?foo_min=1) the query fails and the client gets a 500")
def test_filter_unknown_range_is_not_an_error(cat):
    """Correct behaviour: ?foo_min=1 is an ordinary (property) filter that
    matches nothing, 200 with an empty list."""
    resp = cat.member.get("/v2/images", params={"tag": cat.tag,
                                                 "foo_min": "1"})
    assert resp.status_code == 200
    assert resp.json()["images"] == []


@pytest.mark.glance_deviation(
    "Glance hands a non-numeric value for an integer column filter "
    "(?size=abc, ?min_ram=abc) to the database as is; on SQLite the "
    "comparison quietly matches nothing (200 []) and the outcome depends "
    "on the database engine")
@pytest.mark.parametrize("param", ["size", "min_ram", "min_disk"])
def test_filter_integer_non_numeric_is_400(member, param):
    """Correct behaviour: a non-integer for an integer attribute filter is a
    client error, 400."""
    assert member.get("/v2/images", params={param: "abc"}).status_code == 400


def test_filter_min_ram(cat):
    """Glance: min_ram=<n> matches exactly (Nova filters by it)."""
    assert _ids(cat.member, tag=cat.tag, min_ram=512) == [cat.ids[1]]


def test_filter_owner(cat):
    """Glance: owner=<project> (Tempest test_list_image_param_owner)."""
    images = _list(cat.member, tag=cat.tag, owner=cat.member.project_id)
    assert len(images["images"]) == len(cat.visible_ids)
    assert _ids(cat.member, tag=cat.tag, owner="nobody") == []


def test_filter_checksum(cat):
    """Glance: checksum=<md5> matches images with that data."""
    image = cat.images[0]
    assert _ids(cat.member, tag=cat.tag, checksum=image["checksum"]) == \
        [image["id"]]


def test_filter_os_hash_value(cat):
    """Glance: os_hash_value=<hex> matches images with that data."""
    image = cat.images[1]
    assert _ids(cat.member, os_hash_value=image["os_hash_value"]) == \
        [image["id"]]


def test_filter_protected(cat):
    """Glance: protected=true / false filter."""
    assert _ids(cat.member, tag=cat.tag, protected="true") == [cat.ids[2]]
    assert cat.ids[2] not in _ids(cat.member, tag=cat.tag, protected="false")


@pytest.mark.parametrize("param", ["protected", "os_hidden"])
def test_filter_boolean_bad_value_is_400(member, param):
    """Glance: protected and os_hidden accept only true/false (400 'Invalid
    value 'x' for ...')."""
    assert member.get("/v2/images", params={param: "maybe"}).status_code \
        == 400


def test_filter_extra_property(cat):
    """Glance: any other parameter is an exact-match extra property filter
    (?os_distro=a)."""
    assert _ids(cat.member, tag=cat.tag, os_distro="a") == [cat.ids[0]]


def test_filter_unknown_property_matches_nothing(cat):
    """Glance: an unknown parameter is a property filter, never an error: a
    misspelled filter silently returns []."""
    assert _ids(cat.member, tag=cat.tag, no_such_property="x") == []


def test_filter_tag(cat):
    """Glance: tag=<t> lists images having that tag (Tempest
    test_list_images_param_tag)."""
    images = _list(cat.member, tag=cat.tag)["images"]
    assert all(cat.tag in i["tags"] for i in images)


def test_filter_tags_are_anded(cat):
    """Glance: repeated tag parameters must all be present (AND)."""
    ids = _ids(cat.member, tag=[cat.tag, "t-odd"])
    assert sorted(ids) == sorted([cat.ids[1], cat.ids[3]])
    assert _ids(cat.member, tag=[cat.tag, "t-odd", "t-even"]) == []


def test_filter_created_at(cat):
    """Glance: created_at=gte:<ISO 8601> / lt:<ISO 8601> compare timestamps
    (second precision)."""
    pivot = cat.images[3]["created_at"]
    later = _ids(cat.member, tag=cat.tag, created_at="gte:" + pivot)
    earlier = _ids(cat.member, tag=cat.tag, created_at="lt:" + pivot)
    assert cat.ids[3] in later and cat.ids[0] in earlier
    assert set(later) | set(earlier) == set(cat.visible_ids)
    assert not set(later) & set(earlier)


def test_filter_updated_at_gte(cat):
    """Glance: updated_at=gte:<ISO> (Nova's changes-since filter)."""
    since = (datetime.datetime.now(datetime.timezone.utc)
             - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = _ids(cat.member, tag=cat.tag, updated_at="gte:" + since)
    assert sorted(ids) == sorted(cat.visible_ids)
    future = "2999-01-01T00:00:00Z"
    assert _ids(cat.member, tag=cat.tag, updated_at="gte:" + future) == []


@pytest.mark.parametrize("value", ["yesterday", "gte:notatime"])
def test_filter_bad_time_is_400(member, value):
    """Glance: a timestamp filter that is not ISO 8601 is 400."""
    assert member.get("/v2/images", params={"created_at": value}) \
        .status_code == 400


def test_filter_bad_time_operator_is_400(member):
    """Glance: an unknown operator on a timestamp filter is 400."""
    assert member.get("/v2/images", params={
        "created_at": "foo:2020-01-01T00:00:00Z"}).status_code == 400


def test_changes_since_is_400(member):
    """Glance: the v1 'changes-since' filter is 400 on v2."""
    assert member.get("/v2/images", params={
        "changes-since": "2020-01-01T00:00:00Z"}).status_code == 400


# -------------------------------------------------------- visibility/hidden


def test_filter_visibility(cat):
    """Glance: visibility=private|shared|community lists only that
    visibility (Tempest test_list_images_param_visibility)."""
    assert _ids(cat.member, tag=cat.tag, visibility="private") == \
        [cat.ids[0]]
    assert _ids(cat.member, tag=cat.tag, visibility="community") == \
        [cat.ids[4]]
    shared = _ids(cat.member, tag=cat.tag, visibility="shared")
    assert sorted(shared) == sorted([cat.ids[i] for i in (1, 2, 3, 6)])


def test_filter_visibility_all(cat):
    """Glance: visibility=all lists every visibility."""
    ids = _ids(cat.member, tag=cat.tag, visibility="all")
    assert sorted(ids) == sorted(cat.visible_ids)


@pytest.mark.parametrize("param,value", [("visibility", "everyone"),
                                         ("member_status", "maybe")])
def test_bad_visibility_or_member_status_is_400(member, param, value):
    """Glance: visibility must be public|private|shared|community|all and
    member_status pending|accepted|rejected|all, else 400."""
    assert member.get("/v2/images", params={param: value}).status_code == 400


def test_hidden_images_not_listed_by_default(cat):
    """Glance: os_hidden images are left out of the default list (Tempest
    test_list_hidden_image)."""
    assert cat.ids[5] not in _ids(cat.member, tag=cat.tag)


def test_os_hidden_true_lists_only_hidden(cat):
    """Glance: os_hidden=true lists only hidden images."""
    assert _ids(cat.member, tag=cat.tag, os_hidden="true") == [cat.ids[5]]


def test_os_hidden_false_is_default(cat):
    """Glance: os_hidden=false is the same as the default."""
    assert sorted(_ids(cat.member, tag=cat.tag, os_hidden="false")) == \
        sorted(cat.visible_ids)


def test_community_not_listed_for_others_by_default(cat, clients):
    """Glance: another project's community image is not in the default list
    but is with visibility=community or all."""
    other = clients(MEMBER_B)
    community = cat.ids[4]
    assert community not in _ids(other, tag=cat.tag)
    assert _ids(other, tag=cat.tag, visibility="community") == [community]
    assert _ids(other, tag=cat.tag, visibility="all") == [community]


def test_other_project_sees_no_private_or_shared(cat, clients):
    """Glance: another project lists none of A's private or shared (not
    shared with it) images."""
    other = clients(MEMBER_B)
    assert _ids(other, tag=cat.tag) == []
    assert _ids(other, tag=cat.tag, visibility="shared") == []
    assert _ids(other, tag=cat.tag, visibility="private") == []


def test_public_image_listed_for_everyone(clients):
    """Glance: another project's public image is in the default list, even
    while queued (Tempest test_list_public_image)."""
    admin, other = clients(ADMIN_A), clients(MEMBER_B)
    tag = unique("pub")
    image = admin.create_image(visibility="public", tags=[tag])
    assert _ids(other, tag=tag) == [image["id"]]
    assert _ids(other, tag=tag, visibility="public") == [image["id"]]


def test_admin_lists_other_projects_images(cat, clients):
    """Glance: an admin's list includes other projects' private and shared
    images (still without other projects' community images by default)."""
    admin = clients(ADMIN_A)
    if admin.project_id == cat.member.project_id:
        admin = None
    other_admin_ids = _ids(clients(ADMIN_A), tag=cat.tag)
    assert cat.ids[0] in other_admin_ids and cat.ids[1] in other_admin_ids


def test_deleted_images_not_listed(member):
    """Glance: deleted images never appear in lists."""
    tag = unique("del")
    image = member.create_image(tags=[tag])
    member.delete("/v2/images/%s" % image["id"])
    assert _ids(member, tag=tag) == []
    assert _ids(member, tag=tag, visibility="all") == []
