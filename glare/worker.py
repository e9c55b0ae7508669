"""The gunicorn worker: gthread, except that no thread waits for a slow
client.

gunicorn's gthread worker hands a connection to a thread as soon as it has
a byte to read; the thread then blocks until the whole request head (and,
inside the application, the body) has arrived.  Sixty-four clients that
send half a head, or a body one byte a second, hold every thread of both
workers, and ``/healthcheck`` stops answering.  This worker keeps the
event loop in charge until a request is ready:

* **Head**: the main loop reads the head without blocking (alongside every
  other connection) and gives the request to a thread only once the blank
  line that ends it has arrived, within ``header_timeout`` seconds of its
  first byte (or of the connection); a small body (at most ``body_buffer``
  bytes of ``Content-Length``) is read the same way, within
  ``body_timeout`` more seconds.  A client that is too slow gets ``408``
  and is closed; a head larger than ``MAX_HEAD`` gets ``431``.
* **Streamed bodies** (uploads: larger or chunked bodies) go to a thread
  once their first ``body_buffer`` bytes (or the whole body, if shorter)
  have arrived, read by the event loop as heads are, so that a client
  trickling a body one byte a second never holds a thread (it gets 408);
  ``Expect: 100-continue`` requests go at once (their client waits for
  the ``100``).  At most ``max_streaming`` of them per worker are in
  threads at a time (the threads minus a reserve), so that requests
  without a body always find a thread; the others wait in the event loop,
  costing nothing.  Their reads are paced as Apache's mod_reqtimeout paces
  them: ``body_timeout`` seconds for the first bytes, then one more second
  per ``body_min_rate`` bytes received; a body slower than that is cut off
  (the upload is discarded, as for a client that went away).
* A finished connection's lingering close (reading what the client still
  sends for up to 2 s, so that the response is not cut by a reset) is done
  by the event loop; gunicorn does it blocking, in the event loop, which
  froze the worker for 2 s per client that kept sending.
* Once a request is in a thread, a client that reads or writes nothing
  for ``idle_timeout`` seconds (Glance's ``client_socket_timeout``) is
  dropped.

TLS is terminated in front of Glare (gunicorn's own TLS is not used), so
the worker reads plain HTTP; with gunicorn TLS configured it behaves as
plain gthread.  A reverse proxy that buffers requests (nginx, haproxy) in
front of Glare remains the recommended production setup (README).
"""

import selectors
import socket
import time
from functools import partial

from gunicorn.workers import gthread

#: How long, and for how many bytes, a closed connection's late request
#: data is read and dropped so the kernel does not reset the connection
#: before the client has read the response (gunicorn's figures).
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 65536

#: Largest request head (with its blank line) the worker takes, whether
#: it is still arriving or came whole in one read (gunicorn's own limits
#: are lower for any single line; a longer head is refused with 431).
MAX_HEAD = 64 * 1024



def _plain(status, text):
    body = text.encode() + b"\n"
    return (b"HTTP/1.1 %s\r\nConnection: close\r\n"
            b"Content-Type: text/plain; charset=UTF-8\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status.encode(), len(body),
                                               body))


_TIMEOUT_RESPONSE = _plain("408 Request Timeout", "The request did not "
                           "arrive in time; it was abandoned.")
_TOO_LARGE_RESPONSE = _plain("431 Request Header Fields Too Large",
                             "The request head is too large.")


class ClientTooSlow(TimeoutError):
    """A request body arrived slower than the minimum rate."""


class Pace:
    """The limits of one worker (set from the configuration before the
    workers start; see ``worker_class``)."""

    def __init__(self, header_timeout=20.0, body_timeout=20.0,
                 body_min_rate=500, idle_timeout=900.0,
                 body_buffer=64 * 1024, reserved_threads=None):
        self.header_timeout = float(header_timeout)
        self.body_timeout = float(body_timeout)
        self.body_min_rate = float(body_min_rate)
        self.idle_timeout = float(idle_timeout)
        self.body_buffer = int(body_buffer)
        self.reserved_threads = reserved_threads


class PacedSocket:
    """The socket a request body is read from, held to a minimum rate:
    ``recv`` fails with ``ClientTooSlow`` once ``body_timeout`` seconds
    plus one second per ``body_min_rate`` bytes received have passed
    since the request started.  Everything else is the socket's."""

    def __init__(self, sock, pace):
        self._sock = sock
        self._pace = pace
        self.restart()

    def restart(self):
        self._start = time.monotonic()
        self._received = 0

    def recv(self, size):
        pace = self._pace
        deadline = (self._start + pace.body_timeout
                    + self._received / pace.body_min_rate)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ClientTooSlow("the request body arrived too slowly")
        prior = self._sock.gettimeout()
        self._sock.settimeout(remaining if prior is None
                              else min(prior, remaining))
        try:
            data = self._sock.recv(size)
        except TimeoutError as exc:
            raise ClientTooSlow("the request body arrived too slowly") \
                from exc
        finally:
            self._sock.settimeout(prior)
        self._received += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _Waiting:
    """What the event loop knows of a request still arriving."""

    __slots__ = ("buf", "deadline", "body_end", "head_seen", "streamed",
                 "body_start", "body_since")

    def __init__(self, buf, deadline):
        self.buf = buf
        self.deadline = deadline
        self.body_end = None          # set once the head is complete
        self.head_seen = False
        self.streamed = False         # a body read on by a thread
        self.body_start = None        # offset of the body in buf
        self.body_since = None        # when the head was complete


def _framing(head):
    """(content length or None, chunked, expects 100-continue) of a
    request head, as far as a quick look can tell; (None, True, True)
    when the framing is unclear (gunicorn then decides, in a thread, at
    once)."""
    length, chunked, expect = None, False, False
    for line in head.split(b"\n")[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 18:
                return None, True, True
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect" and value.lower() == b"100-continue":
            expect = True
    return length, chunked, expect


def _may_end_chunked(buf, start):
    """Whether a chunked body shorter than the buffer may be complete: it
    ends with a blank line after a last chunk ``0`` (perhaps with an
    extension or trailers).  A false yes only hands the request to a
    thread early, which then reads the rest."""
    return buf.endswith(b"\r\n\r\n") and (
        buf.startswith(b"0", start) or buf.find(b"\r\n0", start) >= 0)


class PacedThreadWorker(gthread.ThreadWorker):
    """gthread, with request heads (and small bodies) read by the event
    loop and streamed bodies paced and counted; see the module docstring.
    ``pace`` is set on a subclass by ``worker_class``."""

    pace = Pace()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._arriving = {}           # conn -> _Waiting
        self._lingering = {}          # closing socket -> [deadline, bytes]
        self._queued = []             # streamed requests waiting for a slot
        self._streaming = 0
        reserve = self.pace.reserved_threads
        if reserve is None:
            reserve = max(2, self.cfg.threads // 4)
        self.max_streaming = max(1, self.cfg.threads - reserve)

    # ------------------------------------------------ the event loop's side

    def enqueue_req(self, conn):
        """Every way into a thread (a new connection, a kept-alive one
        becoming readable, a pipelined request) comes here first."""
        if self.cfg.is_ssl:
            return super().enqueue_req(conn)
        buf = bytearray()
        if conn.parser is not None:
            # Bytes a previous request's body read left behind.
            buf += conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        waiting = _Waiting(buf, time.monotonic() + self.pace.header_timeout)
        self._arriving[conn] = waiting
        if not self._ready(conn, waiting):
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self._readable, conn))

    def _readable(self, conn, _sock):
        waiting = self._arriving.get(conn)
        if waiting is None:
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        waiting.buf += data
        if waiting.streamed:
            # The body's pace, as PacedSocket holds it in a thread.
            waiting.deadline = (waiting.body_since + self.pace.body_timeout
                                + (len(waiting.buf) - waiting.body_start)
                                / self.pace.body_min_rate)
        self._ready(conn, waiting)

    def _ready(self, conn, waiting):
        """Hand the request over if it has arrived (as far as the event
        loop waits for it); True when it left the event loop."""
        buf = waiting.buf
        if waiting.body_end is None:
            end = buf.find(b"\r\n\r\n")
            sep = 4
            if end < 0:
                end, sep = buf.find(b"\n\n"), 2
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._refuse(conn, _TOO_LARGE_RESPONSE)
                    return True
                return False
            if end + sep > MAX_HEAD:
                # Complete, but it came in larger reads than the limit.
                self._refuse(conn, _TOO_LARGE_RESPONSE)
                return True
            length, chunked, expect = _framing(bytes(buf[:end]))
            if expect:
                self._dispatch(conn, waiting, streaming=True)
                return True
            length = self.pace.body_buffer if chunked else length or 0
            waiting.streamed = chunked or length > self.pace.body_buffer
            waiting.body_start = end + sep
            waiting.body_since = time.monotonic()
            waiting.body_end = waiting.body_start + min(
                length, self.pace.body_buffer)
            if waiting.body_end > waiting.body_start:
                waiting.deadline = max(waiting.deadline, time.monotonic()
                                       + self.pace.body_timeout)
        if len(buf) < waiting.body_end and not (
                waiting.streamed and _may_end_chunked(
                    buf, waiting.body_start)):
            return False
        self._dispatch(conn, waiting, streaming=waiting.streamed)
        return True

    def _dispatch(self, conn, waiting, streaming):
        del self._arriving[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn._glare_ready = bytes(waiting.buf)
        conn.data_ready = True
        if streaming and self._streaming >= self.max_streaming:
            self._queued.append(conn)
            return
        self._submit(conn, streaming)

    def _submit(self, conn, streaming):
        conn._glare_streaming = streaming
        if streaming:
            self._streaming += 1
        conn.sock.setblocking(True)
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        if getattr(conn, "_glare_streaming", False):
            conn._glare_streaming = False
            self._streaming -= 1
            while self._queued and self._streaming < self.max_streaming:
                self._submit(self._queued.pop(0), streaming=True)
        # gunicorn closes a finished connection "gracefully" right here:
        # it lingers up to 2 s reading what the client still sends, in the
        # event loop, so a client trickling a body it was refused froze the
        # whole worker (everyone's requests) for 2 s per connection.  The
        # linger is done by the event loop instead.
        conn.close = partial(self._close, conn)
        super().finish_request(conn, fs)

    def _close(self, conn, graceful=False):
        if not graceful:
            return type(conn).close(conn)
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ,
                                 self._linger_readable)
        except (OSError, ValueError, KeyError):
            return type(conn).close(conn)
        self._lingering[sock] = [time.monotonic() + LINGER_SECONDS, 0]
        return None

    def _linger_readable(self, sock):
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        state = self._lingering.get(sock)
        if state is None:
            return
        state[1] += len(data)
        if not data or state[1] >= LINGER_MAX_BYTES:
            self._end_linger(sock)

    def _end_linger(self, sock):
        self._lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            sock.close()
        except OSError:
            pass

    def murder_pending(self):
        """Also called once a loop turn: close requests that did not
        arrive in time."""
        super().murder_pending()
        now = time.monotonic()
        late = [conn for conn, waiting in self._arriving.items()
                if waiting.deadline <= now]
        for conn in late:
            self._refuse(conn, _TIMEOUT_RESPONSE
                         if self._arriving[conn].buf else None)
        for sock in [sock for sock, (deadline, _) in self._lingering.items()
                     if deadline <= now]:
            self._end_linger(sock)

    def _refuse(self, conn, response):
        if response:
            try:
                conn.sock.send(response)
            except OSError:
                pass
        self._drop(conn)

    def _drop(self, conn):
        self._arriving.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    # ---------------------------------------------------- a thread's side

    def handle(self, conn):
        ready = conn.__dict__.pop("_glare_ready", None)
        if ready is not None:
            conn.init()
            unreader = conn.parser.unreader
            unreader.unread(ready)
            if isinstance(unreader.sock, PacedSocket):
                unreader.sock.restart()
            else:
                unreader.sock = PacedSocket(unreader.sock, self.pace)
        return super().handle(conn)

    def handle_request(self, req, conn):
        # Writing the response (and reading a body) may wait this long
        # for the client; gunicorn leaves the socket blocking for ever.
        conn.sock.settimeout(self.pace.idle_timeout)
        try:
            return super().handle_request(req, conn)
        except ClientTooSlow:
            return False


def worker_class(pace):
    """A worker class bound to ``pace`` (gunicorn takes a class object as
    ``worker_class``; the forked workers inherit it)."""
    return type("GlareWorker", (PacedThreadWorker,), {"pace": pace})


