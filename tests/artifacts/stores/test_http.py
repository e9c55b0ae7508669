"""HttpStore against a real HTTP server on 127.0.0.1 (http.server in a
thread) that serves byte ranges, redirects, errors, slow and truncated
bodies -- no mocked transport.  The server is one of the store's
``internal_hosts``; names are given addresses by replacing the resolver
(``socket.getaddrinfo``), which is how DNS rebinding is played."""

import http.server
import re
import socket
import threading
import time

import pytest

from artifacts import errors
from artifacts import stores
from artifacts.stores.http import HttpStore

from tests.artifacts.stores.conformance import _pattern

DATA = _pattern(300000)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TestServer"

    def log_message(self, *args):
        pass

    def _record(self):
        self.server.seen.append((self.command, self.path,
                                 self.headers.get("Range"),
                                 self.headers.get("Authorization")))

    def do_HEAD(self):
        self._record()
        self._serve(body=False)

    def do_GET(self):
        self._record()
        self._serve(body=True)

    def _send(self, status, headers=(), body=b"", send_body=True):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name == "Content-Length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _serve(self, body):
        path = self.path
        if path == "/inside":
            return self._send(302, [("Location",
                                     "http://metadata.test/latest")])
        match = re.match(r"^/redirect/(\d+)$", path)
        if match:
            n = int(match.group(1))
            target = "/image" if n <= 1 else "/redirect/%d" % (n - 1)
            return self._send(302, [("Location", target)])
        if path == "/missing":
            return self._send(404, body=b"not here", send_body=body)
        if path == "/error":
            return self._send(500, body=b"Traceback: internal secret",
                              send_body=body)
        if path == "/nohead" and not body:
            return self._send(405)
        if path == "/slow":
            time.sleep(2)
        if path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            if body:
                self.wfile.write(DATA[:1000])
            self.close_connection = True
            return
        if path in ("/nolength", "/nosize"):
            self.send_response(200)
            if not body and path == "/nolength":
                # Only the HEAD reports the size.
                self.send_header("Content-Length", str(len(DATA)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(DATA)
            self.close_connection = True
            return
        ranges = path not in ("/norange", "/nohead")
        self._serve_data(DATA, ranges, body)

    def _serve_data(self, data, ranges, body):
        header = self.headers.get("Range")
        match = re.match(r"^bytes=(\d+)-(\d*)$", header or "")
        if not ranges or not match:
            return self._send(200, [("Accept-Ranges", "bytes")], data, body)
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else len(data) - 1
        if first >= len(data):
            return self._send(416, [("Content-Range",
                                     "bytes */%d" % len(data))],
                              send_body=body)
        last = min(last, len(data) - 1)
        part = data[first:last + 1]
        return self._send(206, [("Content-Range", "bytes %d-%d/%d"
                                 % (first, last, len(data)))], part, body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients closing early (timeouts, short reads) are expected here.
        pass


@pytest.fixture(scope="module")
def server():
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def base(server):
    server.seen.clear()
    return "http://127.0.0.1:%d" % server.server_address[1]


LOCAL = {"internal_hosts": "127.0.0.1"}


def web(**options):
    """An http store that may read from the test server (127.0.0.1)."""
    return stores.create("http", "web", dict(LOCAL, **options))


@pytest.fixture
def store():
    return web(connect_timeout=2, read_timeout=5)


def _read(store, url, offset=0, length=None):
    with store.open(url, offset, length) as reader:
        return reader.size, reader.length, reader.read()


# -- interface and options --------------------------------------------------------

def test_registered_read_only_and_described(store):
    assert isinstance(store.driver, HttpStore)
    assert isinstance(store, stores.StoreDriver)
    assert store.read_only is True
    info = store.describe()
    assert info["kind"] == "http" and info["id"] == "web"
    assert info["read_only"] is True and info["max_redirects"] == 5


@pytest.mark.parametrize("options", [
    {"connect_timeout": 0}, {"read_timeout": "soon"}, {"max_redirects": -1},
    {"block_size": 0},
])
def test_bad_options_are_invalid(options):
    with pytest.raises(errors.Invalid):
        stores.create("http", "web", options)


def test_owns_http_and_https_urls(store):
    for url in ("http://example.com/image", "HTTPS://example.com:8443/a?b=c"):
        assert store.owns(url)
    for url in ("ftp://example.com/x", "file:///etc/passwd", "rbd://a/b/c/d",
                "http:///no-host", "example.com/image"):
        assert not store.owns(url)


def test_never_writes_or_deletes(store, base):
    with pytest.raises(errors.Forbidden) as info:
        store.writer("key")
    assert "'web'" in info.value.message
    with pytest.raises(errors.Forbidden):
        store.delete(base + "/image")
    with pytest.raises(errors.Forbidden):
        store.driver.location_for("key")
    assert _read(store, base + "/image")[2] == DATA


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/image", "file:///etc/passwd",
                                 "gopher://x/y"])
def test_other_schemes_are_refused(store, url):
    for call in (store.open, store.exists):
        with pytest.raises(errors.Invalid):
            call(url)


def test_credentials_in_urls_are_refused_and_never_sent(store, base, server):
    url = base.replace("http://", "http://user:hunter2@") + "/image"
    for call in (store.open, store.exists):
        with pytest.raises(errors.Invalid) as info:
            call(url)
        assert "hunter2" not in info.value.message
    assert server.seen == []


# -- reads ----------------------------------------------------------------------

def test_whole_object(store, base, server):
    assert _read(store, base + "/image") == (len(DATA), len(DATA), DATA)
    assert server.seen == [("GET", "/image", None, None)]


@pytest.mark.parametrize("offset,length,header", [
    (100, 50, "bytes=100-149"),
    (1000, None, "bytes=1000-"),
    (len(DATA) - 5, 100, "bytes=%d-%d" % (len(DATA) - 5, len(DATA) + 94)),
])
def test_ranges_are_one_range_get(store, base, server, offset, length,
                                  header):
    size, count, data = _read(store, base + "/image", offset, length)
    want = DATA[offset:offset + length if length is not None else None]
    assert (size, count, data) == (len(DATA), len(want), want)
    assert server.seen == [("GET", "/image", header, None)]


def test_offset_at_end_is_empty_and_past_end_is_416(store, base):
    assert _read(store, base + "/image", len(DATA)) == (len(DATA), 0, b"")
    with pytest.raises(errors.RangeNotSatisfiable):
        store.open(base + "/image", len(DATA) + 1)


def test_zero_length_needs_only_a_head(store, base, server):
    assert _read(store, base + "/image", 10, 0) == (len(DATA), 0, b"")
    assert [m for m, *_ in server.seen] == ["HEAD"]


def test_server_ignoring_range_is_skipped_forward(store, base):
    assert _read(store, base + "/norange", 5000, 10) == (
        len(DATA), 10, DATA[5000:5010])


def test_reader_streams_in_blocks(base):
    s = web(block_size=65536)
    with s.open(base + "/image", 7) as reader:
        blocks = list(reader)
    assert b"".join(blocks) == DATA[7:]
    assert max(len(b) for b in blocks) == 65536


def test_redirects_are_followed_up_to_the_limit(store, base):
    assert _read(store, base + "/redirect/3", 10, 5)[2] == DATA[10:15]
    limited = web(max_redirects=2)
    with pytest.raises(errors.StoreUnavailable) as info:
        limited.open(base + "/redirect/3")
    assert "redirects" in info.value.message
    assert "127.0.0.1" in info.value.message


def test_size_from_head_when_get_has_none(store, base):
    # No Content-Length on the GET: the HEAD's (which has one) is used.
    size, count, data = _read(store, base + "/nolength")
    assert (size, count, data) == (len(DATA), len(DATA), DATA)


def test_no_size_anywhere_is_store_unavailable(store, base):
    with pytest.raises(errors.StoreUnavailable) as info:
        store.open(base + "/nosize")
    assert "Content-Length" in info.value.message


def test_exists_by_head(store, base, server):
    assert store.exists(base + "/image") is True
    assert store.exists(base + "/missing") is False
    assert {m for m, *_ in server.seen} == {"HEAD"}


# -- failures ---------------------------------------------------------------------

def test_missing_is_not_found(store, base):
    with pytest.raises(errors.NotFound) as info:
        store.open(base + "/missing")
    assert "'web'" in info.value.message


def test_server_error_is_store_unavailable_without_its_body(store, base):
    for call in (store.open, store.exists):
        with pytest.raises(errors.StoreUnavailable) as info:
            call(base + "/error")
        message = info.value.message
        assert "'web'" in message and "127.0.0.1" in message
        assert "500" in message and "secret" not in message


def test_head_not_allowed_is_store_unavailable(store, base):
    with pytest.raises(errors.StoreUnavailable):
        store.exists(base + "/nohead")
    # GET still works.
    assert _read(store, base + "/nohead")[2] == DATA


def test_unreachable_host_is_store_unavailable(store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.StoreUnavailable) as info:
        store.open("http://127.0.0.1:%d/image" % port)
    message = info.value.message
    assert "'web'" in message and "127.0.0.1" in message
    # Not the library's text (pool objects, errno, retries).
    assert "Errno" not in message and "HTTPConnection" not in message


def test_read_timeout_is_store_unavailable(base):
    s = web(read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(errors.StoreUnavailable) as info:
        s.open(base + "/slow")
    assert time.monotonic() - started < 1.5
    assert "in time" in info.value.message


def test_truncated_body_is_store_unavailable(store, base):
    reader = store.open(base + "/truncated")
    assert reader.size == len(DATA)
    with pytest.raises(errors.StoreUnavailable):
        while reader.read(65536):
            pass
    reader.close()


def test_owner_of_picks_the_http_store_for_urls(store, tmp_path):
    local = stores.create("filesystem", "local",
                          {"datadir": str(tmp_path / "d")})
    both = {"local": local, "web": store}
    assert stores.owner_of(both, "https://example.com/img") is store
    assert stores.owner_of(both, "file://%s/x" % local.datadir) is local


@pytest.fixture
def dns(monkeypatch):
    """Names given addresses: ``dns["name"] = "address"``; other names do
    not resolve."""
    table = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host[:1].isdigit() or ":" in host:
            return real(host, port, *args, **kwargs)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (table[host], port))]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_internal_addresses_are_refused_before_any_request(base, server):
    plain = stores.create("http", "web", {})
    for url in (base + "/image", "http://169.254.169.254/latest",
                "http://[::1]/x", "http://10.0.0.5/x"):
        for call in (plain.open, plain.exists):
            with pytest.raises(errors.StoreUnavailable) as info:
                call(url)
            assert "not allowed" in info.value.message
            assert "'web'" in info.value.message
    assert server.seen == []


def test_a_name_is_checked_and_pinned_on_every_read(server, dns):
    """DNS rebinding: the name resolved to a public address when the
    location was added; now it resolves to the loopback address, and the
    read is refused without a request.  A name the operator lists in
    internal_hosts is read from the very address that was checked (the
    name resolves nowhere else: the connection went to the pinned
    address)."""
    port = server.server_address[1]
    url = "http://images.test:%d/image" % port
    dns["images.test"] = "93.184.216.34"         # when it was added
    dns["images.test"] = "127.0.0.1"             # at read time
    for store in (web(), stores.create("http", "web", {})):
        with pytest.raises(errors.StoreUnavailable) as info:
            store.open(url)
        assert "not allowed" in info.value.message
        assert "images.test" in info.value.message
    assert server.seen == []
    trusted = web(internal_hosts="images.test")
    assert _read(trusted, url, 10, 5) == (len(DATA), 5, DATA[10:15])
    assert trusted.exists(url) is True
    assert [m for m, *_ in server.seen] == ["GET", "HEAD"]


def test_a_redirect_inside_is_a_store_error(store, base, server, dns):
    """A trusted server cannot bounce a read to the metadata service."""
    dns["metadata.test"] = "169.254.169.254"
    with pytest.raises(errors.StoreUnavailable) as info:
        store.open(base + "/inside")
    assert "address that is not allowed" in info.value.message
    assert [p for _, p, *_ in server.seen] == ["/inside"]


def test_internal_and_denied_hosts_options(base):
    assert web().describe()["internal_hosts"] == ["127.0.0.1"]
    denied = web(denied_hosts="127.0.0.1")
    with pytest.raises(errors.StoreUnavailable):
        denied.open(base + "/image")
    with pytest.raises(errors.Invalid):
        stores.create("http", "web", {"internal_hosts": "bad host/"})
