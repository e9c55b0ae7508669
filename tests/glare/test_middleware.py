"""Request ids, the access log and the health check."""

import io
import logging
import re

import pytest
import webob
from gunicorn.http.wsgi import FileWrapper as GunicornFileWrapper

from glare import auth, config
from glare.middleware import Healthcheck, RequestId

UUID_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}\Z")


def hello(environ, start_response):
    body = environ.get("openstack.request_id", "").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))),
                              ("x-openstack-request-id", "req-stale")])
    return [body]


def get(app, path="/v2/images", method="GET", headers=None):
    return webob.Request.blank(path, method=method,
                               headers=headers or {}).get_response(app)


# -- request id --------------------------------------------------------------

def test_new_request_id():
    resp = get(RequestId(hello))
    rid = resp.headers["x-openstack-request-id"]
    assert UUID_ID.match(rid)
    assert resp.body.decode() == rid  # the app saw the same id
    assert resp.headers.getall("x-openstack-request-id") == [rid]


@pytest.mark.parametrize("sent,returned", [
    ("req-abc123", "req-abc123"),
    ("abc123", "req-abc123"),
    ("req-" + "a" * 60, "req-" + "a" * 60),
])
def test_client_request_id_is_echoed(sent, returned):
    resp = get(RequestId(hello), headers={"X-Openstack-Request-Id": sent})
    assert resp.headers["x-openstack-request-id"] == returned
    assert resp.body.decode() == returned


@pytest.mark.parametrize("sent", [
    "a" * 65, "req-abc def", "req-abc;rm -rf", "req-\u00e9t\u00e9",
    "req_abc", "req-abc\r\nX-Evil: 1"])
def test_bad_client_request_id_is_replaced(sent):
    environ = webob.Request.blank("/").environ
    environ["HTTP_X_OPENSTACK_REQUEST_ID"] = sent
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(headers)

    body = b"".join(RequestId(hello)(environ, start_response))
    rid = captured["x-openstack-request-id"]
    assert UUID_ID.match(rid), rid
    assert body.decode() == rid


def test_request_id_reaches_the_context():
    app = RequestId(auth.wrap(
        lambda env, sr: hello(dict(env, **{
            "openstack.request_id": env["glare.context"].request_id}), sr),
        config.load()))
    resp = get(app, headers={"X-Openstack-Request-Id": "req-nova-1"})
    assert resp.body == b"req-nova-1"


# -- access log --------------------------------------------------------------

def streaming(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    yield b"abc"
    yield b"defg"


def test_access_log_written_after_the_body(caplog):
    caplog.set_level(logging.INFO, logger="glare.access")
    environ = webob.Request.blank(
        "/v2/images/x/file", headers={"X-Openstack-Request-Id": "req-42"},
        environ={"QUERY_STRING": "a=1"}).environ
    environ["glare.context"] = type("Ctx", (), {"project_id": "proj-7"})()
    result = RequestId(streaming)(environ, lambda *a: None)
    chunks = list(result)
    assert chunks == [b"abc", b"defg"]
    assert not caplog.records  # nothing until the server closes
    result.close()
    (record,) = caplog.records
    line = record.getMessage()
    assert line.startswith("GET /v2/images/x/file?a=1 200 7 ")
    assert line.endswith(" req-42 proj-7")


def test_access_log_when_app_raises(caplog):
    caplog.set_level(logging.INFO, logger="glare.access")

    def broken(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        RequestId(broken)(webob.Request.blank("/x").environ, lambda *a: None)
    assert " 500 0 " in caplog.records[0].getMessage()


def test_file_wrapper_identity_is_preserved(caplog):
    """gunicorn only uses sendfile when isinstance(result, file_wrapper)."""
    caplog.set_level(logging.INFO, logger="glare.access")
    data = io.BytesIO(b"x" * 100)

    def download(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "100")])
        return environ["wsgi.file_wrapper"](data)

    environ = webob.Request.blank("/v2/images/x/file").environ
    environ["wsgi.file_wrapper"] = GunicornFileWrapper
    result = RequestId(download)(environ, lambda *a: None)
    assert isinstance(result, GunicornFileWrapper)
    assert result.filelike is data
    assert not caplog.records
    result.close()
    assert data.closed
    assert " 200 100 " in caplog.records[0].getMessage()


def test_file_wrapper_without_close():
    class NoClose:
        def read(self, n):
            return b""

    def download(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](NoClose())

    environ = webob.Request.blank("/").environ
    environ["wsgi.file_wrapper"] = GunicornFileWrapper
    result = RequestId(download)(environ, lambda *a: None)
    assert isinstance(result, GunicornFileWrapper)
    result.close()


def test_inner_close_is_called():
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("204 No Content", [])
        return Body()

    result = RequestId(app)(webob.Request.blank("/").environ,
                            lambda *a: None)
    list(result)
    result.close()
    assert closed == [True]


# -- healthcheck -------------------------------------------------------------

def not_reached(environ, start_response):
    start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
    return [b"app"]


def test_healthcheck_ok():
    resp = get(Healthcheck(not_reached), "/healthcheck")
    assert resp.status == "200 OK"
    assert resp.body == b"OK"
    assert resp.content_type == "text/plain"


def test_healthcheck_head_has_no_body():
    resp = get(Healthcheck(not_reached), "/healthcheck", method="HEAD")
    assert resp.status_int == 200
    assert resp.body == b""


def test_healthcheck_db_down():
    def db_check():
        raise OSError("database is locked")

    resp = get(Healthcheck(not_reached, db_check=db_check), "/healthcheck")
    assert resp.status_int == 503
    assert resp.body == b"DB unavailable"
    assert resp.content_type == "text/plain"


def test_healthcheck_db_up_and_other_paths_pass_through():
    app = Healthcheck(not_reached, db_check=lambda: None)
    assert get(app, "/healthcheck").body == b"OK"
    assert get(app, "/v2/images").status_int == 418
    assert get(app, "/healthcheck", method="POST").status_int == 418


def test_composed_stack_healthcheck_needs_no_auth(tmp_path):
    """Keystone mode: /healthcheck answers without a token; the API 401s,
    and both carry a request id."""
    conf_file = tmp_path / "glare.conf"
    conf_file.write_text(
        "[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\n"
        "www_authenticate_uri = http://keystone.test:5000\n")
    app = RequestId(Healthcheck(auth.wrap(hello,
                                          config.load(str(conf_file)))))
    resp = get(app, "/healthcheck")
    assert resp.status_int == 200
    assert UUID_ID.match(resp.headers["x-openstack-request-id"])
    resp = get(app, "/v2/images")
    assert resp.status_int == 401
    assert UUID_ID.match(resp.headers["x-openstack-request-id"])
