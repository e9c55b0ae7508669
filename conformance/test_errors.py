"""Error statuses and bodies, request ids, and routing errors.

Glance renders errors with WebOb: text/plain without an Accept header, flat
JSON {"message", "code", "title"} for Accept: application/json, HTML for
text/html or */*.  Clients show the message text, so the bodies of the
common errors are pinned byte for byte here (in text/plain).
"""

import json
import re
import uuid

import pytest

from conformance.client import PATCH_V20, PATCH_V21

NO_ACCEPT = {"Accept": None}
UNKNOWN = "00000000-0000-0000-0000-000000000000"
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                        r"[0-9a-f]{4}-[0-9a-f]{12}$")
GENERIC = {
    403: "Access was denied to this resource.",
    416: "The Range requested is not available.",
    409: "There was a conflict when trying to complete your request.",
}
STATUS = {400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
          405: "405 Method Not Allowed", 409: "409 Conflict",
          413: "413 Request Entity Too Large",
          415: "415 Unsupported Media Type",
          416: "416 Request Range Not Satisfiable"}


def plain(code, message):
    """WebOb's text/plain body when the message is the explanation."""
    return "%s\n\n%s\n\n   " % (STATUS[code], message)


def plain_detail(code, message):
    """WebOb's text/plain body when the message is a detail after the
    class's generic sentence."""
    return "%s\n\n%s\n\n %s  " % (STATUS[code], GENERIC[code], message)


def _check(resp, code, body):
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert resp.text == body


# ------------------------------------------------------------- formats


def test_error_plain_without_accept(member):
    """Glance: without Accept an error is text/plain: '<status>\\n\\n<message>
    \\n\\n   '."""
    resp = member.get("/v2/images/" + UNKNOWN, headers=NO_ACCEPT)
    _check(resp, 404, plain(404, "No image found with ID " + UNKNOWN))


def test_error_json_with_accept_json(member):
    """Glance: with Accept: application/json an error is flat JSON
    {"message", "code", "title"}; code is the status line and message keeps
    WebOb's '<br /><br />' and newlines."""
    resp = member.get("/v2/images/" + UNKNOWN,
                      headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {
        "message": "No image found with ID %s<br /><br />\n\n\n" % UNKNOWN,
        "code": "404 Not Found", "title": "Not Found"}


@pytest.mark.parametrize("accept", ["text/html", "*/*"])
def test_error_html(member, accept):
    """Glance: with Accept text/html or */* (glanceclient, curl) an error is
    WebOb's HTML page."""
    resp = member.get("/v2/images/" + UNKNOWN, headers={"Accept": accept})
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert resp.text == (
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n"
        " <body>\n  <h1>404 Not Found</h1>\n  No image found with ID %s"
        "<br /><br />\n\n\n\n </body>\n</html>" % UNKNOWN)


def test_error_content_types_are_tempest_safe(member):
    """Glance: every error Content-Type is one Tempest accepts
    (application/json, text/plain or text/html, optionally with
    charset=UTF-8)."""
    allowed = {"application/json", "application/json; charset=UTF-8",
               "text/plain; charset=UTF-8", "text/html; charset=UTF-8"}
    requests_ = [("GET", "/v2/images/" + UNKNOWN),
                 ("GET", "/v2/images?sort_key=bogus"),
                 ("PUT", "/v2/images"),
                 ("PATCH", "/v2/images/" + UNKNOWN)]
    for accept in (None, "application/json", "*/*"):
        for method, path in requests_:
            resp = member.request(method, path, headers={"Accept": accept})
            assert resp.status_code >= 400
            assert resp.headers["Content-Type"] in allowed


# ------------------------------------------------------- pinned bodies


def test_body_expected(member):
    """Glance: POST without a body is 400 'Body expected in request.'."""
    resp = member.post("/v2/images", headers=dict(
        NO_ACCEPT, **{"Content-Type": "application/json"}))
    _check(resp, 400, plain(400, "Body expected in request."))


def test_malformed_json(member):
    """Glance: invalid JSON is 400 'Malformed JSON in request body.'."""
    resp = member.post("/v2/images", data="{", headers=dict(
        NO_ACCEPT, **{"Content-Type": "application/json"}))
    _check(resp, 400, plain(400, "Malformed JSON in request body."))


def test_scalar_body(member):
    """Glance: a JSON scalar body is 400 'Unexpected body type. Expected
    list/dict.'."""
    resp = member.post("/v2/images", data="3", headers=dict(
        NO_ACCEPT, **{"Content-Type": "application/json"}))
    _check(resp, 400, plain(400, "Unexpected body type. Expected list/dict."))


def test_create_content_type_not_checked(member):
    """Glance: POST /v2/images parses the body as JSON whatever the
    Content-Type says."""
    resp = member.post("/v2/images", data=json.dumps({"name": "ct"}),
                       headers={"Content-Type": "text/plain"})
    assert resp.status_code == 201
    member.tracker.add(member, resp.json()["id"])


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/v2/images/%s"), ("GET", "/v2/images/%s"),
    ("GET", "/v2/images/%s/file"),
    ("POST", "/v2/images/%s/actions/deactivate"),
    ("PUT", "/v2/images/%s/tags/x"), ("DELETE", "/v2/images/%s/tags/x")])
def test_body_not_expected(member, method, path):
    """Glance: routes that take no body answer 400 'A body is not expected
    with this request.' to one."""
    image = member.create_image()
    resp = member.request(method, path % image["id"], data="x",
                          headers=NO_ACCEPT)
    _check(resp, 400, plain(400, "A body is not expected with this "
                                 "request."))


def test_body_tolerated_on_image_list(member):
    """Glance: the image list route is not body_reject: a body on GET
    /v2/images is ignored."""
    resp = member.request("GET", "/v2/images?limit=1", data="x")
    assert resp.status_code == 200


def test_not_found_body(member):
    """Glance: 404 'No image found with ID <id>' for show and patch."""
    _check(member.get("/v2/images/" + UNKNOWN, headers=NO_ACCEPT), 404,
           plain(404, "No image found with ID " + UNKNOWN))
    resp = member.patch("/v2/images/" + UNKNOWN, data="[]", headers=dict(
        NO_ACCEPT, **{"Content-Type": PATCH_V21}))
    _check(resp, 404, plain(404, "No image found with ID " + UNKNOWN))


def test_delete_not_found_body(member):
    """Glance: DELETE of an unknown or already deleted image is 404 'Failed
    to find image <id> to delete'."""
    image = member.create_image()
    member.delete("/v2/images/" + image["id"])
    for image_id in (UNKNOWN, image["id"]):
        resp = member.delete("/v2/images/" + image_id, headers=NO_ACCEPT)
        _check(resp, 404, plain(404, "Failed to find image %s to delete"
                                % image_id))


def test_bad_sort_key_body(member):
    """Glance: 400 'Invalid sort key: bogus. It must be one of the
    following: name, status, container_format, disk_format, size, id,
    created_at, updated_at.'."""
    resp = member.get("/v2/images?sort_key=bogus", headers=NO_ACCEPT)
    _check(resp, 400, plain(400, "Invalid sort key: bogus. It must be one "
                                 "of the following: name, status, "
                                 "container_format, disk_format, size, id, "
                                 "created_at, updated_at."))


@pytest.mark.parametrize("query,message", [
    ("limit=x", "limit param must be an integer"),
    ("limit=-1", "limit param must be positive"),
    ("sort_dir=up", "Invalid sort direction: up"),
    ("sort=name&sort_key=name", "Old and new sorting syntax cannot be "
                                "combined"),
    ("visibility=x", "Invalid visibility value: x"),
    ("member_status=x", "Invalid status: x"),
    ("os_hidden=x", "Invalid value 'x' for 'os_hidden' filter. Valid values "
                    "are 'true' or 'false'."),
    ("name=foo:bar", "Unable to filter by unknown operator 'foo'."),
    ("size_min=x", "Unable to filter on a range with a non-numeric value."),
    ("created_at=x", 'Bad "created_at" query filter format. Use ISO 8601 '
                     'DateTime notation.'),
    ("changes-since=x", 'The "changes-since" filter is no longer available '
                        'on v2.'),
    ("marker=" + UNKNOWN, "No image found with ID " + UNKNOWN),
])
def test_list_error_bodies(member, query, message):
    """Glance: the list's 400 messages."""
    _check(member.get("/v2/images?" + query, headers=NO_ACCEPT), 400,
           plain(400, message))


def test_read_only_at_create_body(member):
    """Glance: 403 'Attribute 'status' is read-only.' (as the explanation)
    at create."""
    resp = member.post("/v2/images", json={"status": "active"},
                       headers=NO_ACCEPT)
    _check(resp, 403, plain(403, "Attribute 'status' is read-only."))


def test_reserved_at_create_body(member):
    """Glance: 403 with 'Attribute 'os_glance_x' is reserved.' as a detail
    after WebOb's generic sentence at create."""
    resp = member.post("/v2/images", json={"os_glance_x": "y"},
                       headers=NO_ACCEPT)
    _check(resp, 403, plain_detail(403, "Attribute 'os_glance_x' is "
                                        "reserved."))


def test_duplicate_id_body(member):
    """Glance: 409 'Image ID <id> already exists!'."""
    image = member.create_image()
    resp = member.post("/v2/images", json={"id": image["id"]},
                       headers=NO_ACCEPT)
    _check(resp, 409, plain(409, "Image ID %s already exists!"
                            % image["id"]))


def test_create_owner_refused_body(member):
    """Glance: 403 'You are not permitted to create images owned by
    '<owner>'.'."""
    resp = member.post("/v2/images", json={"owner": "zzz"},
                       headers=NO_ACCEPT)
    _check(resp, 403, plain_detail(403, "You are not permitted to create "
                                        "images owned by 'zzz'"))


def test_publicize_refused_body(member):
    """Glance: 403 'You are not authorized to complete publicize_image
    action.'."""
    resp = member.post("/v2/images", json={"visibility": "public"},
                       headers=NO_ACCEPT)
    _check(resp, 403, plain(403, "You are not authorized to complete "
                                 "publicize_image action."))


def test_patch_bodies(member):
    """Glance: PATCH messages: read-only and reserved as explanations,
    missing/present property conflicts and base removal as details."""
    image = member.create_image(foo="bar")
    path = "/v2/images/" + image["id"]

    def patch(ops, media=PATCH_V21):
        return member.patch(path, data=json.dumps(ops), headers=dict(
            NO_ACCEPT, **{"Content-Type": media}))

    _check(patch([{"op": "replace", "path": "/status", "value": "active"}]),
           403, plain(403, "Attribute 'status' is read-only."))
    _check(patch([{"op": "add", "path": "/os_glance_x", "value": "y"}]),
           403, plain(403, "Attribute 'os_glance_x' is reserved."))
    _check(patch([{"op": "replace", "path": "/nope", "value": "y"}]),
           409, plain_detail(409, "Property nope does not exist."))
    _check(patch([{"op": "remove", "path": "/nope"}]),
           409, plain_detail(409, "Property nope does not exist."))
    _check(patch([{"add": "/foo", "value": "y"}], PATCH_V20),
           409, plain_detail(409, "Property foo already present."))
    _check(patch([{"op": "remove", "path": "/name"}]),
           403, plain_detail(403, "Property name may not be removed."))
    _check(patch([{"op": "move", "path": "/a", "from": "/b"}]),
           400, plain(400, "Invalid operation: `move`. It must be one of the "
                           "following: add, remove, replace."))
    _check(patch({"op": "add"}), 400,
           plain(400, "Request body must be a JSON array of operation "
                      "objects."))
    _check(patch(["x"]), 400, plain(400, "Operations must be JSON objects."))
    _check(patch([{"op": "add", "path": "/a/b", "value": "y"}]), 400,
           plain(400, "Invalid JSON pointer for this resource: '/a/b'"))
    _check(patch([{"op": "add", "path": "/x"}]), 400,
           plain(400, 'Operation "add" requires a member named "value".'))


def test_owner_change_refused_body(member):
    """Glance: 403 with "Owner can't be updated by non admin." as a
    detail."""
    image = member.create_image()
    resp = member.patch("/v2/images/" + image["id"], data=json.dumps(
        [{"op": "replace", "path": "/owner", "value": "x"}]),
        headers=dict(NO_ACCEPT, **{"Content-Type": PATCH_V21}))
    _check(resp, 403, plain_detail(403, "Owner can't be updated by non "
                                        "admin."))


def test_patch_media_type_body(member):
    """Glance: 415 names the request type and lists the accepted ones as a
    detail."""
    image = member.create_image()
    resp = member.patch("/v2/images/" + image["id"], data="[]", headers=dict(
        NO_ACCEPT, **{"Content-Type": "application/json"}))
    assert resp.status_code == 415
    assert resp.text == (
        "415 Unsupported Media Type\n\nThe request media type "
        "application/json is not supported by this server. \n\n Image PATCH "
        "expects Content-Type one of: %s, %s" % (PATCH_V20, PATCH_V21))


def test_formats_frozen_body(member):
    """Glance: 403 'Attribute disk_format can be only replaced for a queued
    image.'."""
    image = member.create_active(b"x")
    resp = member.patch("/v2/images/" + image["id"], data=json.dumps(
        [{"op": "replace", "path": "/disk_format", "value": "qcow2"}]),
        headers=dict(NO_ACCEPT, **{"Content-Type": PATCH_V21}))
    _check(resp, 403, plain(403, "Attribute disk_format can be only "
                                 "replaced for a queued image."))


def test_data_error_bodies(member):
    """Glance: upload/download messages: 409 status transition, 400 missing
    formats, 416 bad range, 400 multiple ranges, 204 then 403 for a
    deactivated image."""
    image = member.create_image()
    resp = member.upload(image["id"], b"x", headers=NO_ACCEPT)
    _check(resp, 400, plain(400, "Properties disk_format, container_format "
                                 "must be set prior to saving data."))
    active = member.create_active(b"0123456789")
    path = "/v2/images/%s/file" % active["id"]
    _check(member.upload(active["id"], b"x", headers=NO_ACCEPT), 409,
           plain(409, "Image status transition from active to saving is not "
                      "allowed"))
    _check(member.get(path, headers=dict(NO_ACCEPT, Range="foo")), 416,
           plain_detail(416, "Invalid Range header."))
    _check(member.get(path, headers=dict(NO_ACCEPT, Range="bytes=20-30")),
           416, plain_detail(416, "Invalid start position in Range header. "
                                  "Start position MUST be in the inclusive "
                                  "range [0, 9]."))
    _check(member.get(path, headers=dict(NO_ACCEPT, Range="bytes=0-1,3-4")),
           400, plain(400, "Requests with multiple ranges are not supported "
                           "in Glance. You may make multiple single-range "
                           "requests instead."))
    member.post("/v2/images/%s/actions/deactivate" % active["id"])
    _check(member.get(path, headers=NO_ACCEPT), 403,
           plain(403, "The requested image has been deactivated. Image data "
                      "download is forbidden."))


def test_upload_content_type_body(member):
    """Glance: 415 for image data that is not application/octet-stream."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put("/v2/images/%s/file" % image["id"], data=b"x",
                      headers=dict(NO_ACCEPT,
                                   **{"Content-Type": "text/plain"}))
    assert resp.status_code == 415
    assert resp.text.startswith(
        "415 Unsupported Media Type\n\nThe request media type text/plain is "
        "not supported by this server.")


def test_protected_delete_body(member):
    """Glance: 403 'Image <id> is protected and cannot be deleted.'."""
    image = member.create_image(protected=True)
    resp = member.delete("/v2/images/" + image["id"], headers=NO_ACCEPT)
    _check(resp, 403, plain(403, "Image %s is protected and cannot be "
                                 "deleted." % image["id"]))


def test_action_on_queued_body(member):
    """Glance: 403 'Not allowed to deactivate image in status 'queued''."""
    image = member.create_image()
    resp = member.post("/v2/images/%s/actions/deactivate" % image["id"],
                       headers=NO_ACCEPT)
    _check(resp, 403, plain(403, "Not allowed to deactivate image in status "
                                 "'queued'"))


def test_member_bodies(member, member_b):
    """Glance: member messages (create on a non-shared image, duplicates,
    bad bodies, owner changing status, unknown membership)."""
    private = member.create_image(visibility="private")
    _check(member.post("/v2/images/%s/members" % private["id"],
                       json={"member": "x"}, headers=NO_ACCEPT), 403,
           plain(403, "Not allowed to create members for image %s."
                 % private["id"]))
    _check(member.get("/v2/images/%s/members" % private["id"],
                      headers=NO_ACCEPT), 403,
           plain(403, "Not allowed to list members for image %s: Only "
                      "shared images have members." % private["id"]))
    image = member.create_image()
    path = "/v2/images/%s/members" % image["id"]
    member.post(path, json={"member": member_b.project_id})
    _check(member.post(path, json={"member": member_b.project_id},
                       headers=NO_ACCEPT), 409,
           plain(409, "Member %s is duplicated for image %s"
                 % (member_b.project_id, image["id"])))
    _check(member.post(path, json={}, headers=NO_ACCEPT), 400,
           plain(400, "Member to be added not specified"))
    _check(member.post(path, json={"member": ""}, headers=NO_ACCEPT), 400,
           plain(400, "Member can't be empty"))
    _check(member.post(path, json=["x"], headers=NO_ACCEPT), 400,
           plain(400, 'Expected a member in the form: {"member": '
                      '"image_id"}'))
    mine = path + "/" + member_b.project_id
    _check(member.put(mine, json={"status": "accepted"}, headers=NO_ACCEPT),
           403, plain(403, "You are not authorized to complete modify_member "
                           "action."))
    _check(member_b.put(mine, json={"status": "bogus"}, headers=NO_ACCEPT),
           400, plain(400, 'Incorrect request: Status must be "pending", '
                           '"accepted" or "rejected".'))
    _check(member_b.put(mine, json={}, headers=NO_ACCEPT), 400,
           plain(400, "Status not specified"))
    _check(member_b.put(mine, json=["x"], headers=NO_ACCEPT), 400,
           plain(400, 'Expected a status in the form: {"status": '
                      '"status"}'))
    _check(member.get(path + "/nobody", headers=NO_ACCEPT), 404,
           plain(404, "nobody not found in the member list of the image %s."
                 % image["id"]))
    _check(member_b.delete(mine, headers=NO_ACCEPT), 403,
           plain(403, "You are not authorized to complete delete_member "
                      "action."))


def test_member_unknown_image_body(member):
    """Glance: member endpoints say 'Image <id> not found.' for an image the
    caller cannot see."""
    _check(member.get("/v2/images/%s/members" % UNKNOWN, headers=NO_ACCEPT),
           404, plain(404, "Image %s not found." % UNKNOWN))


def test_tag_missing_body(member):
    """Glance: deleting an absent tag is a bare 404 (WebOb's generic
    'The resource could not be found.')."""
    image = member.create_image()
    resp = member.delete("/v2/images/%s/tags/nope" % image["id"],
                         headers=NO_ACCEPT)
    _check(resp, 404, plain(404, "The resource could not be found."))


# ----------------------------------------------------------- routing


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/v2/images", "GET, POST"),
    ("DELETE", "/v2/images", "GET, POST"),
    ("PUT", "/v2/images/%s", "GET, PATCH, DELETE"),
    ("POST", "/v2/images/%s", "GET, PATCH, DELETE"),
    ("POST", "/v2/images/%s/file", "GET, PUT"),
    ("DELETE", "/v2/images/%s/file", "GET, PUT"),
    ("PUT", "/v2/images/%s/members", "GET, POST"),
    ("POST", "/v2/images/%s/members/x", "GET, PUT, DELETE"),
    ("HEAD", "/v2/images", "GET, POST"),
    ("HEAD", "/v2/images/%s", "GET, PATCH, DELETE"),
])
def test_wrong_method_is_405_with_allow(member, method, path, allow):
    """Glance: a known path with a method it does not route is 405 with an
    Allow header listing the routed methods (HEAD is not mapped to GET)."""
    image = member.create_image()
    resp = member.request(method, path.replace("%s", image["id"]))
    assert resp.status_code == 405
    assert resp.headers["Allow"] == allow


def test_wrong_method_body(member):
    """Glance: the 405 body names the method."""
    resp = member.put("/v2/images", headers=NO_ACCEPT)
    assert resp.status_code == 405
    assert resp.text == ("405 Method Not Allowed\n\nThe method PUT is not "
                         "allowed for this resource. \n\n ")


@pytest.mark.parametrize("method,path,status", [
    ("TRACE", "/v2/images", 405), ("PROPFIND", "/v2/images/%s", 405),
    ("TRACE", "/versions", 200)])
def test_unknown_method_on_known_path(member, method, path, status):
    """Glance: an unknown method on a routed path is 405 with Allow (not
    501), and /versions answers it with 200."""
    image = member.create_image()
    resp = member.request(method, path.replace("%s", image["id"]))
    assert resp.status_code == status


def test_unknown_method_on_unknown_path_is_501(member):
    """Glance: an unknown method on an unrouted path is 501 Not
    Implemented."""
    resp = member.request("TRACE", "/v2/nothing/here")
    assert resp.status_code == 501


def test_unknown_path_is_404(member):
    """Glance: an unknown path under /v2 is 404."""
    assert member.get("/v2/nothing").status_code == 404
    assert member.get("/v2/images/%s/nothing" % UNKNOWN).status_code == 404


def test_options_answered_by_cors_layer(member):
    """Glance: the stock pipeline starts with oslo.middleware's CORS filter,
    which answers OPTIONS with 200 and an empty body before routing."""
    resp = member.request("OPTIONS", "/v2/images")
    assert resp.status_code == 200
    assert resp.content == b""


# -------------------------------------------------------- request ids


def test_request_id_on_every_response(member):
    """Glance: every API response, success or error, carries
    x-openstack-request-id: req-<uuid>."""
    image = member.create_image()
    responses = [
        member.get("/v2/images/" + image["id"]),
        member.get("/v2/images"),
        member.get("/v2/images/" + UNKNOWN),
        member.get("/v2/images?sort_key=bogus"),
        member.get("/v2/schemas/image"),
        member.put("/v2/images"),
        member.put("/v2/images/%s/tags/x" % image["id"]),
        member.delete("/v2/images/" + image["id"]),
    ]
    ids = [r.headers.get("x-openstack-request-id") for r in responses]
    for rid in ids:
        assert rid and REQUEST_ID.match(rid), rid
    assert len(set(ids)) == len(ids)


def test_request_id_echoed(member):
    """Glance: an inbound X-Openstack-Request-Id is echoed back (Nova's
    global request id, glanceclient's follow-up GET)."""
    rid = "req-" + str(uuid.uuid4())
    resp = member.get("/v2/images", headers={"X-Openstack-Request-Id": rid})
    assert resp.headers["x-openstack-request-id"] == rid


def test_request_id_gets_req_prefix(member):
    """Glance: an echoed request id without the 'req-' prefix gets it."""
    resp = member.get("/v2/images/" + UNKNOWN,
                      headers={"X-Openstack-Request-Id": "abc123"})
    assert resp.headers["x-openstack-request-id"] == "req-abc123"


@pytest.mark.glance_deviation(
    "Glance's context middleware returns (instead of raising) the 431 it "
    "builds for an X-Openstack-Request-Id over max_request_id_length (64), "
    "so the request fails with 500 and no request id")
def test_overlong_request_id_does_not_fail_request(member):
    """Correct behaviour: a request whose inbound request id is too long is
    not failed with a server error; the response carries a request id of
    its own."""
    resp = member.get("/v2/images?limit=0",
                      headers={"X-Openstack-Request-Id": "x" * 70})
    assert resp.status_code < 500
    assert resp.headers.get("x-openstack-request-id")


def test_no_content_responses_are_empty(member):
    """Glance: 204 responses have an empty body with Content-Length 0."""
    image = member.create_image(disk_format="raw", container_format="bare")
    for resp in (member.put("/v2/images/%s/tags/t" % image["id"]),
                 member.upload(image["id"], b"abc"),
                 member.delete("/v2/images/" + image["id"])):
        assert resp.status_code == 204
        assert resp.content == b""


@pytest.mark.glance_deviation(
    "Glance (WebOb behind uWSGI) sends Content-Length: 0 on its 204s; RFC "
    "9110 section 8.6 says a server must not send Content-Length in a 204")
def test_no_content_responses_have_no_content_length(member):
    """Correct behaviour (RFC 9110 8.6): a 204 carries no Content-Length."""
    image = member.create_image(disk_format="raw", container_format="bare")
    for resp in (member.put("/v2/images/%s/tags/t" % image["id"]),
                 member.upload(image["id"], b"abc"),
                 member.delete("/v2/images/" + image["id"])):
        assert resp.status_code == 204
        assert "Content-Length" not in resp.headers
