"""A real HTTP server on 127.0.0.1 that web-download tests fetch from (a
thread of the test process; not a test module).

Paths::

    /data/<name>          the bytes registered under <name> (Content-Length;
                          HEAD answers the length alone)
    /nolength/<name>      the same, without Content-Length (connection close)
    /slow/<name>          the same, 64 KiB every ``slow_delay`` seconds
    /short/<name>         announces more bytes than it sends
    /redirect?to=<url>    302 to <url> (relative or absolute)
    /status/<code>        an empty answer with that status

``requests`` records (method, path, Host header) of every request.
"""

import contextlib
import http.server
import threading
import time
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WebSource"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        """The size of ``/data/<name>`` (what Glance's http store asks
        before it accepts a location), no body."""
        self.server.requests.append(("HEAD", self.path,
                                     self.headers.get("Host")))
        kind, _, name = urllib.parse.urlsplit(
            self.path).path.strip("/").partition("/")
        data = self.server.files.get(name)
        self.send_response(200 if kind == "data" and data is not None
                           else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()

    def do_GET(self):
        server = self.server
        server.requests.append(("GET", self.path, self.headers.get("Host")))
        parts = urllib.parse.urlsplit(self.path)
        kind, _, name = parts.path.strip("/").partition("/")
        data = server.files.get(name)
        if kind == "redirect":
            target = urllib.parse.parse_qs(parts.query).get("to", ["/"])[0]
            # Raw UTF-8 on the wire, as a hostile server may send it.
            return self._answer(302, headers={"Location": target.encode(
                "utf-8").decode("latin-1")})
        if kind == "status":
            return self._answer(int(name))
        if data is None:
            return self._answer(404, b"no such file")
        if kind == "data":
            return self._answer(200, data)
        if kind == "short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) + 1000))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return None
        if kind in ("nolength", "slow"):
            self.send_response(200)
            if kind == "slow":
                self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            step = 65536 if kind == "slow" else len(data) or 1
            for start in range(0, len(data), step):
                self.wfile.write(data[start:start + step])
                self.wfile.flush()
                if kind == "slow":
                    time.sleep(server.slow_delay)
            self.close_connection = True
            return None
        return self._answer(404, b"unknown path")

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        return None


class WebSource(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = {}
        self.requests = []
        self.slow_delay = 0.2

    def handle_error(self, request, client_address):
        pass                # clients that stop reading are expected

    @property
    def port(self):
        return self.server_address[1]

    def url(self, path, host="127.0.0.1"):
        return "http://%s:%d%s" % (host, self.port, path)


@contextlib.contextmanager
def web_source():
    """A running ``WebSource``, stopped at the end of the block."""
    server = WebSource()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
