"""Version discovery and URL version negotiation.

The exact list of version ids is configuration (Glance's depends on cache and
multi-store settings; Glare lists only what it implements), so these tests
pin the structure of the document and the rule that every advertised id
routes, never a particular list.
"""

import re

import pytest

VERSION_ID = re.compile(r"^v2\.\d+$")


def _versions(resp):
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["versions"]
    return body["versions"]


def test_versions_document_is_200(anonymous):
    """Glance: GET /versions answers 200 without any credentials, with
    {"versions": [{"id", "status", "links"}...]} (glanceclient needs exactly
    200 on this path)."""
    resp = anonymous.get("/versions")
    assert resp.status_code == 200
    versions = _versions(resp)
    assert versions
    for v in versions:
        assert set(v) == {"id", "status", "links"}
        assert VERSION_ID.match(v["id"]), v["id"]
        assert v["status"] in ("CURRENT", "SUPPORTED")


def test_exactly_one_current_version(anonymous):
    """Glance: exactly one entry is CURRENT, every other one SUPPORTED."""
    versions = _versions(anonymous.get("/versions"))
    statuses = [v["status"] for v in versions]
    assert statuses.count("CURRENT") == 1


def test_current_is_highest_minor(anonymous):
    """Glance: the CURRENT entry is the highest advertised minor version
    (clients take the newest one as the API level)."""
    versions = _versions(anonymous.get("/versions"))
    current = [v for v in versions if v["status"] == "CURRENT"][0]
    minors = [int(v["id"].split(".")[1]) for v in versions]
    assert int(current["id"].split(".")[1]) == max(minors)


def test_v2_0_is_always_advertised(anonymous):
    """Glance: v2.0 and v2.1 (json-patch 2.1 and sharing) are in every
    configuration's list."""
    ids = {v["id"] for v in _versions(anonymous.get("/versions"))}
    assert {"v2.0", "v2.1"} <= ids


def test_v2_2_to_v2_5_are_always_advertised(anonymous):
    """Glance: v2.2 (metadefs, tasks, property protections) through v2.5
    are in every configuration's list, whether or not a property
    protection file is set."""
    ids = {v["id"] for v in _versions(anonymous.get("/versions"))}
    assert {"v2.2", "v2.3", "v2.4", "v2.5"} <= ids


def test_version_links_point_at_v2_root(anonymous, setup):
    """Glance: every entry has one link, rel=self, href = <endpoint>/v2/
    (built from the request's host when no public_endpoint is set); all
    entries share it."""
    versions = _versions(anonymous.get("/versions"))
    hrefs = set()
    for v in versions:
        assert len(v["links"]) == 1
        link = v["links"][0]
        assert link["rel"] == "self"
        hrefs.add(link["href"])
    assert len(hrefs) == 1
    href = hrefs.pop()
    assert href.endswith("/v2/")
    assert href.startswith("http")


def test_ids_are_unique(anonymous):
    """Glance: no version id is listed twice."""
    ids = [v["id"] for v in _versions(anonymous.get("/versions"))]
    assert len(ids) == len(set(ids))


def test_root_is_300_multiple_choices(anonymous):
    """Glance: GET / answers 300 Multiple Choices with the same document
    (keystoneauth/openstacksdk discovery and Tempest's VersionsTest)."""
    root = anonymous.get("/")
    assert root.status_code == 300
    assert _versions(root) == _versions(anonymous.get("/versions"))


@pytest.mark.parametrize("path", ["/v3/images", "/images", "/v2.99/images",
                                  "/v1/images", "/x"])
def test_unknown_version_is_300(anonymous, path):
    """Glance: a path whose first segment is not an accepted version answers
    300 with the versions document, not 404."""
    resp = anonymous.get(path)
    assert resp.status_code == 300
    assert _versions(resp)


def test_versions_answers_any_method(anonymous):
    """Glance: /versions is answered by the version filter whatever the
    method (POST /versions is 200 too)."""
    resp = anonymous.post("/versions")
    assert resp.status_code == 200
    assert _versions(resp)


def test_every_advertised_version_routes(member):
    """Glance: /v2.N/... for every advertised v2.N is served like /v2/...
    (so a client that pins any listed id works)."""
    ids = [v["id"] for v in _versions(member.get("/versions"))]
    for vid in ids + ["v2"]:
        resp = member.get("/%s/images?limit=1" % vid)
        assert resp.status_code == 200, (vid, resp.status_code)
        assert "images" in resp.json()


def test_vendor_accept_header_selects_version(member):
    """Glance: Accept: application/vnd.openstack.images-v2.N on an
    unversioned path routes to /v2 (the Accept header wins over the path)."""
    ids = [v["id"] for v in _versions(member.get("/versions"))]
    for vid in ids:
        resp = member.get("/images?limit=1", headers={
            "Accept": "application/vnd.openstack.images-%s" % vid})
        assert resp.status_code == 200, (vid, resp.status_code)
        assert "images" in resp.json()


def test_unadvertised_minor_is_300(member):
    """Glance: a minor version that is not in the list (v2.99) is not
    routed: 300 with the document."""
    resp = member.get("/v2.99/images")
    assert resp.status_code == 300


def test_version_root_with_slash_is_404(member):
    """Glance: GET /v2/ is 404 'The resource could not be found.'."""
    assert member.get("/v2/").status_code == 404


def test_documents_need_no_token(anonymous):
    """Glance: version negotiation runs before authentication, so neither
    / nor /versions needs credentials (never 401)."""
    assert anonymous.get("/").status_code == 300
    assert anonymous.get("/versions").status_code == 200

