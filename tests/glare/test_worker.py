"""glare.worker (slow clients hold no thread) and what glare.server tells
gunicorn; the whole worker runs in tests/reliability/test_stalled_clients.py.
"""

import socket
import threading
import time

import pytest

from glare import config, server, worker


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
