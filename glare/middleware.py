"""Outer WSGI middleware: request ids, the access log and the health check.

``RequestId`` is the outermost layer so that every response, including
errors raised by inner layers, carries ``x-openstack-request-id`` (Tempest
compares it with a task's ``request_id``; glanceclient echoes it back), and
so that the access log line covers the whole request.

Intended composition::

    app = RequestId(Healthcheck(VersionNegotiation(auth.wrap(flask_app,
                                                              conf))))
"""

import logging
import re
import time
import uuid

from artifacts.db.session import is_unavailable

ACCESS_LOG = logging.getLogger("glare.access")

REQUEST_ID_KEY = "openstack.request_id"
REQUEST_ID_HEADER = "x-openstack-request-id"
MAX_REQUEST_ID_LENGTH = 64

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,%d}\Z" % MAX_REQUEST_ID_LENGTH)


def new_request_id():
    return "req-" + str(uuid.uuid4())


def request_id_from(environ):
    """The id to use for this request.

    A client's ``X-Openstack-Request-Id`` is echoed (``req-`` prefixed if
    missing), as Glance does; an id that is too long or has characters
    outside ``[A-Za-z0-9-]`` is replaced by a fresh one so it cannot inject
    anything into logs or headers.
    """
    offered = environ.get("HTTP_X_OPENSTACK_REQUEST_ID", "").strip()
    if offered and _VALID_REQUEST_ID.match(offered):
        return offered if offered.startswith("req-") else "req-" + offered
    return new_request_id()


class RequestId:
    """Assigns the request id and writes one access-log line per request.

    The log line is written when the server closes the response iterable,
    i.e. after the last byte was sent, so the duration covers a long
    download and a client that disconnects mid-way is still logged.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request_id = request_id_from(environ)
        environ[REQUEST_ID_KEY] = request_id
        started = time.monotonic()
        seen = {"status": None, "length": None}

        def _start_response(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers
                       if k.lower() != REQUEST_ID_HEADER]
            headers.append((REQUEST_ID_HEADER, request_id))
            seen["status"] = status
            seen["length"] = next((v for k, v in headers
                                   if k.lower() == "content-length"), None)
            return start_response(status, headers, exc_info)

        def _log(sent_bytes):
            status = seen["status"] or "500"
            if sent_bytes is None:
                sent_bytes = seen["length"] or "-"
            context = environ.get("glare.context")
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO",
                                                                "")
            if environ.get("QUERY_STRING"):
                path += "?" + environ["QUERY_STRING"]
            ACCESS_LOG.info(
                "%s %s %s %s %.3f %s %s",
                environ.get("REQUEST_METHOD", "-"), path,
                status.split(" ", 1)[0], sent_bytes,
                time.monotonic() - started, request_id,
                getattr(context, "project_id", None) or "-")

        try:
            result = self.app(environ, _start_response)
        except Exception:
            _log(0)
            raise
        return _with_close_hook(result, environ, _log)


def _with_close_hook(result, environ, on_close):
    """Arrange for ``on_close(bytes_sent_or_None)`` after the response.

    A file wrapper (``environ['wsgi.file_wrapper']``; gunicorn recognises
    it with ``isinstance`` and then uses ``sendfile``) must reach the server
    as the very same object, so instead of wrapping it we replace its
    ``close`` on the instance.  Anything else is wrapped in an iterable that
    counts the bytes it passes on.
    """
    file_wrapper = environ.get("wsgi.file_wrapper")
    is_file_wrapper = (hasattr(result, "filelike") or
                       (isinstance(file_wrapper, type) and
                        isinstance(result, file_wrapper)))
    if is_file_wrapper:
        original_close = getattr(result, "close", None)

        def close():
            try:
                if original_close is not None:
                    original_close()
            finally:
                on_close(None)

        try:
            result.close = close
            return result
        except AttributeError:
            pass  # a slotted wrapper: fall back to wrapping (no sendfile)
    return _ClosingIterable(result, on_close)


class _ClosingIterable:
    """Pass the app's chunks through, count them, report on close()."""

    def __init__(self, iterable, on_close):
        self._iterable = iterable
        self._on_close = on_close
        self._sent = 0

    def __iter__(self):
        for chunk in self._iterable:
            self._sent += len(chunk)
            yield chunk

    def close(self):
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close(self._sent)


class Healthcheck:
    """``GET``/``HEAD /healthcheck`` for load balancers; no auth needed.

    Answers ``200 OK`` (text/plain, like oslo.middleware's healthcheck), or
    ``503 DB unavailable`` when the optional ``db_check()`` raises.  Every
    other path goes to the wrapped app.
    """

    PATH = "/healthcheck"

    def __init__(self, app, db_check=None):
        self.app = app
        self.db_check = db_check

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if (environ.get("PATH_INFO") != self.PATH
                or method not in ("GET", "HEAD")):
            return self.app(environ, start_response)
        status, body = "200 OK", b"OK"
        if self.db_check is not None:
            try:
                self.db_check()
            except Exception as exc:  # any failure means "not healthy"
                log = logging.getLogger(__name__)
                if is_unavailable(exc):
                    # Expected while the database is away: one line, not
                    # a traceback per probe.
                    log.warning("Health check: database unavailable: %s",
                                getattr(exc, "orig", None) or exc)
                else:
                    log.exception("Health check failed")
                status, body = "503 Service Unavailable", b"DB unavailable"
        headers = [("Content-Type", "text/plain; charset=UTF-8"),
                   ("Content-Length", str(len(body))),
                   ("Cache-Control", "no-cache")]
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]
