"""glare.worker (slow clients hold no thread) and what glare.server tells
gunicorn.  The worker's own reads (a head over ``MAX_HEAD``, bodies
arriving in small pieces) run in a real gunicorn serving ``echo_app``; the
whole of Glare under stalled clients is
tests/reliability/test_stalled_clients.py.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from glare import config, server, worker
from tests.conftest import ROOT, free_port, stop_process_group


@pytest.mark.parametrize("head,expected", [
    (b"GET / HTTP/1.1\r\nHost: x", (None, False, False)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: 10", (10, False, False)),
    (b"PUT /f HTTP/1.1\r\ncontent-length:  10 ", (10, False, False)),
    (b"PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked", (None, True, False)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-Continue",
     (5, False, True)),
    # Unclear framing: a thread (gunicorn) decides at once, never the
    # event loop.
    (b"PUT /f HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6",
     (None, True, True)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: -1", (None, True, True)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: " + b"9" * 30, (None, True, True)),
])
def test_framing(head, expected):
    assert worker._framing(head) == expected


@pytest.mark.parametrize("body,complete", [
    (b"0\r\n\r\n", True),
    (b"a\r\n0123456789\r\n0\r\n\r\n", True),
    (b"a\r\n0123456789\r\n0;ext=1\r\n\r\n", True),
    (b"a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", True),
    (b"a\r\n0123456789\r\n", False),
    (b"a\r\n01234", False),
])
def test_a_short_chunked_body_is_seen_complete(body, complete):
    head = b"PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert worker._may_end_chunked(head + body, len(head)) is complete


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_paced_socket_allows_a_steady_body(pair):
    reader, writer = pair
    paced = worker.PacedSocket(reader, worker.Pace(body_timeout=0.5,
                                                   body_min_rate=1000))
    writer.sendall(b"x" * 2000)
    assert len(paced.recv(4096)) == 2000
    # 2000 bytes bought two more seconds.
    time.sleep(0.7)
    writer.sendall(b"y")
    assert paced.recv(10) == b"y"
    # Delegation: what gunicorn calls on the socket still works.
    assert paced.fileno() == reader.fileno()
    paced.settimeout(3)
    assert reader.gettimeout() == 3 and paced.gettimeout() == 3


def test_paced_socket_cuts_off_a_trickle(pair):
    reader, writer = pair
    paced = worker.PacedSocket(reader, worker.Pace(body_timeout=0.3,
                                                   body_min_rate=1000))
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.1):
            try:
                writer.send(b"z")
            except OSError:
                return
    thread = threading.Thread(target=trickle)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(worker.ClientTooSlow):
            while True:
                paced.recv(100)
    finally:
        stop.set()
        thread.join()
    assert time.monotonic() - started < 1.0
    # The socket's own timeout is left as it was.
    assert reader.gettimeout() is None
    # A new request on the connection starts a new allowance.
    paced.restart()
    writer.sendall(b"ok")
    assert paced.recv(10).endswith(b"ok")


def test_paced_socket_cuts_off_silence(pair):
    reader, _writer = pair
    paced = worker.PacedSocket(reader, worker.Pace(body_timeout=0.2))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        paced.recv(10)
    assert 0.15 < time.monotonic() - started < 1.0


def test_worker_class_carries_the_configured_pace(monkeypatch, tmp_path):
    seen = {}

    class FakeServer:
        def __init__(self, conf, options):
            seen.update(options)

        def run(self):
            pass
    monkeypatch.setattr(server, "_Server", FakeServer)
    conf = config.load(overrides={
        "database.connection": "sqlite:///%s" % (tmp_path / "g.sqlite"),
        "glance_store.filesystem_store_datadir": str(tmp_path / "images"),
        "DEFAULT.client_header_timeout": 7,
        "DEFAULT.client_body_timeout": 9,
        "DEFAULT.client_body_min_rate": 1234,
        "DEFAULT.client_socket_timeout": 60})
    from artifacts.db import migrate
    from artifacts.db.session import make_engine
    migrate.upgrade(make_engine(conf.database.connection))
    server.run(conf)
    cls = seen["worker_class"]
    assert issubclass(cls, worker.PacedThreadWorker)
    pace = cls.pace
    assert (pace.header_timeout, pace.body_timeout, pace.body_min_rate,
            pace.idle_timeout) == (7, 9, 1234, 60)


def test_serve_shouts_when_trusting_headers_beyond_loopback(
        monkeypatch, tmp_path, capsys):
    class FakeServer:
        def __init__(self, conf, options):
            pass

        def run(self):
            pass
    monkeypatch.setattr(server, "_Server", FakeServer)
    url = "sqlite:///%s" % (tmp_path / "g.sqlite")
    from artifacts.db import migrate
    from artifacts.db.session import make_engine
    migrate.upgrade(make_engine(url))
    base = {"database.connection": url,
            "glance_store.filesystem_store_datadir": str(tmp_path / "i")}
    server.run(config.load(overrides=base))
    assert "INSECURE" not in capsys.readouterr().err
    server.run(config.load(overrides=dict(base, **{
        "DEFAULT.bind_host": "0.0.0.0"})))
    err = capsys.readouterr().err
    assert err.count("INSECURE") == 2
    assert "X-Identity-Status: Confirmed" in err
    assert "0.0.0.0:9292" in err


# ------------------------------------------------ the worker in gunicorn


def echo_app(environ, start_response):
    """What the worker handed over: the body's length and digest, and the
    worker's pid (a worker that died would come back with another)."""
    body = environ["wsgi.input"].read()
    out = json.dumps({"pid": os.getpid(), "length": len(body),
                      "sha256": hashlib.sha256(body).hexdigest()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    """gunicorn with one PacedThreadWorker (default pace) serving
    ``echo_app``; yields (host, port)."""
    port = free_port()
    log = tmp_path_factory.mktemp("echo") / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1",
             "--threads", "4", "--worker-class",
             "glare.worker.PacedThreadWorker", "--bind",
             "127.0.0.1:%d" % port, "tests.glare.test_worker:echo_app"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get("http://127.0.0.1:%d/" % port, timeout=1)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n"
                                       + log.read_text())
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        stop_process_group(proc)


def _echo(address, **kwargs):
    resp = requests.post("http://%s:%d/" % address, timeout=30, **kwargs)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _response(sock):
    """Everything the server sends until it closes the connection."""
    sock.settimeout(10)
    data = b""
    while True:
        try:
            block = sock.recv(65536)
        except ConnectionResetError:
            break
        if not block:
            break
        data += block
    return data


@pytest.mark.parametrize("head", [
    # No blank line yet: the event loop gives up at MAX_HEAD.
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (worker.MAX_HEAD + 10),
    # A complete head over MAX_HEAD in lines gunicorn would accept (each
    # under its 8190-byte field limit, fewer than its 100 fields).
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-F%d: %s\r\n" % (n, b"b" * 1000) for n in range(80)) + b"\r\n",
])
def test_a_head_over_max_head_gets_431_and_the_worker_serves_on(echo, head):
    before = _echo(echo)["pid"]
    with socket.create_connection(echo) as sock:
        sock.sendall(head)
        answer = _response(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"The request head is too large." in answer
    assert _echo(echo, data=b"after")["pid"] == before


def _trickle(address, head, pieces, pause=0.002):
    with socket.create_connection(address) as sock:
        sock.sendall(head)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(pause)
        answer = _response(sock)
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK", answer[:300]
    return json.loads(rest.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize("size, piece", [
    (5000, 7),                          # small body, read by the loop
    (worker.Pace().body_buffer * 3 + 11, 4096),   # streamed to a thread
])
def test_a_body_in_small_pieces_reaches_the_app_whole(echo, size, piece):
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % size)
    # The head itself arrives in pieces too, the last one with the body's
    # first bytes.
    pieces = [head[:10], head[10:25], head[25:] + body[:piece]] + [
        body[n:n + piece] for n in range(piece, size, piece)]
    seen = _trickle(echo, b"", pieces,
                    pause=0.002 if size < 10000 else 0)
    assert seen["length"] == size
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_chunked_body_in_small_pieces_reaches_the_app_whole(echo):
    data = os.urandom(3000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[n:n + 100]),
                                          data[n:n + 100])
                      for n in range(0, len(data), 100)) + b"0\r\n\r\n"
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    seen = _trickle(echo, head, [chunks[n:n + 13]
                                 for n in range(0, len(chunks), 13)])
    assert seen["length"] == len(data)
    assert seen["sha256"] == hashlib.sha256(data).hexdigest()
