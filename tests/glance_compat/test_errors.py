"""Error bodies must be byte-identical to Glance's (reference §6)."""

import json

import flask
import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from artifacts import errors
from glance_compat.errors import (error_response, flask_error_response,
                                  from_artifact_error)

NO_IMAGE = "No image found with ID 00000000-0000-0000-0000-000000000000"


def environ(method="GET", accept=None, content_type=None):
    env = {"REQUEST_METHOD": method, "PATH_INFO": "/v2/images",
           "SERVER_NAME": "localhost", "SERVER_PORT": "9292",
           "wsgi.url_scheme": "http"}
    if accept is not None:
        env["HTTP_ACCEPT"] = accept
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    return env


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    assert len(values) <= 1, headers
    return values[0] if values else None


def test_404_plain_is_default():
    status, headers, body = error_response(environ(), 404,
                                           explanation=NO_IMAGE)
    assert status == "404 Not Found"
    assert body == ("404 Not Found\n\n%s\n\n   " % NO_IMAGE).encode()
    assert header(headers, "Content-Type") == "text/plain; charset=UTF-8"
    assert header(headers, "Content-Length") == str(len(body))


def test_404_json():
    status, headers, body = error_response(
        environ(accept="application/json"), 404, explanation=NO_IMAGE)
    assert header(headers, "Content-Type") == "application/json"
    assert body == (
        b'{"message": "No image found with ID '
        b'00000000-0000-0000-0000-000000000000<br /><br />\\n\\n\\n", '
        b'"code": "404 Not Found", "title": "Not Found"}')
    assert json.loads(body)["code"] == "404 Not Found"


def test_404_html_for_any_accept():
    # glanceclient sends Accept: */* and gets HTML.
    _, headers, body = error_response(environ(accept="*/*"), 404,
                                      explanation=NO_IMAGE)
    assert header(headers, "Content-Type") == "text/html; charset=UTF-8"
    assert body == (
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n"
        " <body>\n  <h1>404 Not Found</h1>\n  %s<br /><br />\n\n\n\n"
        " </body>\n</html>" % NO_IMAGE).encode()


def test_400_explanation():
    msg = ("Invalid sort key: bogus. It must be one of the following: name, "
           "status, container_format, disk_format, size, id, created_at, "
           "updated_at.")
    _, _, body = error_response(environ(), 400, explanation=msg)
    assert body == ("400 Bad Request\n\n%s\n\n   " % msg).encode()


def test_409_with_detail():
    status, _, body = error_response(
        environ(), 409, detail="Property newprop already present.")
    assert status == "409 Conflict"
    assert body == (b"409 Conflict\n\nThere was a conflict when trying to "
                    b"complete your request.\n\n Property newprop already "
                    b"present.  ")


def test_403_with_detail():
    _, _, body = error_response(
        environ(), 403, detail="Attribute 'os_glance_foo' is reserved.")
    assert body == (b"403 Forbidden\n\nAccess was denied to this resource."
                    b"\n\n Attribute 'os_glance_foo' is reserved.  ")


def test_405_with_allow():
    status, headers, body = error_response(
        environ(method="PUT"), 405, headers=[("Allow", "GET, PATCH, DELETE")])
    assert status == "405 Method Not Allowed"
    assert header(headers, "Allow") == "GET, PATCH, DELETE"
    assert body == (b"405 Method Not Allowed\n\nThe method PUT is not "
                    b"allowed for this resource. \n\n ")


def test_415_with_detail():
    _, _, body = error_response(
        environ(method="PUT", content_type="application/octet-stream"), 415,
        detail="Image disk_format qcow2 does not match stream data raw")
    assert body == (b"415 Unsupported Media Type\n\nThe request media type "
                    b"application/octet-stream is not supported by this "
                    b"server. \n\n Image disk_format qcow2 does not match "
                    b"stream data raw")


def test_501():
    _, _, body = error_response(environ(method="TRACE"), 501)
    assert body == (b"501 Not Implemented\n\n The request method TRACE is "
                    b"not implemented for this server. \n\n ")


def test_413_and_generic_500():
    msg = ("The limit has been exceeded on the number of allowed image tags."
           " Attempted: 3, Maximum: 2")
    _, _, body = error_response(environ(), 413, explanation=msg)
    assert body == ("413 Request Entity Too Large\n\n%s\n\n   "
                    % msg).encode()
    _, _, body = error_response(environ(), 500)
    assert b"The server has either erred or is incapable" in body


def test_unknown_status_still_renders():
    status, headers, body = error_response(environ(), 499, explanation="x")
    assert status.startswith("499 ")
    assert header(headers, "Content-Type")
    assert b"x" in body


def test_head_has_no_body_but_a_content_type():
    status, headers, body = error_response(environ(method="HEAD"), 404)
    assert status == "404 Not Found"
    assert body == b""
    assert header(headers, "Content-Type")


def test_from_artifact_error_not_found():
    status, headers, body = from_artifact_error(
        environ(), errors.NotFound(NO_IMAGE))
    assert status == "404 Not Found"
    assert body == ("404 Not Found\n\n%s\n\n   " % NO_IMAGE).encode()


def test_from_artifact_error_empty_message_uses_generic_text():
    _, _, body = from_artifact_error(environ(), errors.NotFound())
    assert body == (b"404 Not Found\n\nThe resource could not be found."
                    b"\n\n   ")


def test_from_artifact_error_415_with_accept_patch():
    allowed = ("application/openstack-images-v2.0-json-patch, "
               "application/openstack-images-v2.1-json-patch")
    exc = errors.UnsupportedMediaType(
        "Image PATCH expects Content-Type one of: %s" % allowed,
        Accept_Patch=allowed)
    status, headers, body = from_artifact_error(
        environ(method="PATCH", content_type="application/json"), exc)
    assert status == "415 Unsupported Media Type"
    assert header(headers, "Accept-Patch") == allowed
    assert body == ("415 Unsupported Media Type\n\nThe request media type "
                    "application/json is not supported by this server. "
                    "\n\n Image PATCH expects Content-Type one of: %s"
                    % allowed).encode()


def test_from_artifact_error_405_route_reject_and_task_delete():
    status, headers, body = from_artifact_error(
        environ(method="PUT"), errors.MethodNotAllowed(Allow="GET"))
    assert header(headers, "Allow") == "GET"
    assert body == (b"405 Method Not Allowed\n\nThe method PUT is not "
                    b"allowed for this resource. \n\n ")
    msg = ("This operation is currently not permitted on Glance Tasks. "
           "They are auto deleted after reaching the time based on their "
           "expires_at property.")
    _, headers, body = from_artifact_error(
        environ(method="DELETE"), errors.MethodNotAllowed(msg, Allow="GET"))
    assert header(headers, "Allow") == "GET"
    assert body == ("405 Method Not Allowed\n\n" + msg).encode()


def test_from_artifact_error_detail_form():
    exc = errors.Conflict("Property newprop already present.")
    exc.detail_form = True
    _, _, body = from_artifact_error(environ(), exc)
    assert body == (b"409 Conflict\n\nThere was a conflict when trying to "
                    b"complete your request.\n\n Property newprop already "
                    b"present.  ")


@pytest.fixture
def app():
    app = flask.Flask(__name__)

    @app.route("/v2/images/<image_id>", methods=["GET", "PATCH", "DELETE"])
    def show(image_id):
        if image_id == "boom":
            raise RuntimeError("unexpected")
        raise errors.NotFound("No image found with ID %s" % image_id)

    app.register_error_handler(Exception, flask_error_response)
    return app


def test_flask_helper_renders_artifact_error(app):
    resp = app.test_client().get("/v2/images/abc")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert resp.data == b"404 Not Found\n\nNo image found with ID abc\n\n   "
    assert resp.headers.getlist("Content-Length") == [str(len(resp.data))]

    resp = app.test_client().get("/v2/images/abc",
                                 headers={"Accept": "application/json"})
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.get_json()["title"] == "Not Found"


def test_flask_helper_werkzeug_and_unexpected(app):
    client = app.test_client()
    resp = client.put("/v2/images/abc")
    assert resp.status_code == 405
    assert sorted(resp.headers["Allow"].split(", ")) == ["DELETE", "GET",
                                                          "PATCH"]
    assert resp.data == (b"405 Method Not Allowed\n\nThe method PUT is not "
                         b"allowed for this resource. \n\n ")
    resp = client.get("/nowhere")
    assert resp.status_code == 404
    assert resp.data == (b"404 Not Found\n\nThe resource could not be found."
                         b"\n\n   ")
    resp = client.get("/v2/images/boom")
    assert resp.status_code == 500
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert b"The server has either erred" in resp.data


def test_flask_helper_direct_call():
    app = flask.Flask(__name__)
    with app.test_request_context("/v2/images/x", method="PUT"):
        resp = flask_error_response(MethodNotAllowed(["GET", "HEAD"]))
        assert resp.headers["Allow"] == "GET"
        resp = flask_error_response(NotFound())
        assert resp.status_code == 404
