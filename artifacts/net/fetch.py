"""Fetching a user's URL without letting it reach what it must not.

``open_url(url, policy)`` is the one HTTP client of web-download and import
tasks.  Every hop, the first request and each redirect, goes through
``artifacts.net.urls``: the URL is normalised and checked (``check``), its
host is resolved once and every address checked (``resolve``), and the TCP
connection goes to one of exactly those addresses (the Host header and TLS
server name stay the URL's host, so virtual hosting and certificate checks
work as usual).  A name cannot resolve to a public address when checked
and to a private one when connected to: there is no second lookup.  A
redirect to a URL the policy refuses ends the fetch with Glance's message
"Redirect to disallowed URL: <url>".

The body is streamed: ``Fetched.chunks()`` yields blocks as they arrive,
and a body shorter than its Content-Length is an error, never a silently
truncated image.  No proxy, netrc or environment setting is used.

The http store (``artifacts.stores.http``) reads every http(s) location
through ``open_url`` too (``method``, ``headers`` for a Range, and
``any_status`` to see a 404 or 416 itself), so a location's host is
checked and pinned on every read, not only when it was added: a name that
resolved to a public address then and to an internal one now (DNS
rebinding) is refused.
"""

import dataclasses
import logging
import urllib.parse

import certifi
import urllib3
from urllib3 import exceptions as u3

from artifacts import errors
from artifacts.net import urls

LOG = logging.getLogger(__name__)

MAX_REDIRECTS = 10          # urllib's limit, which Glance's fetch uses
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
BLOCK_SIZE = 1024 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "Glare (web-download)"


class FetchFailed(errors.ArtifactError):
    """The data could not be fetched; ``message`` says why (it becomes the
    task's message); ``reason`` names the kind of failure for callers that
    word it themselves: ``redirects``, ``refused redirect``, ``status``,
    ``unreachable``, ``timed out``, ``body``."""

    status = 502

    def __init__(self, message, reason=None):
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass
class Fetched:
    """An open response: ``url`` is the normalised URL finally fetched,
    ``address`` the address connected to, ``size`` the Content-Length (or
    None), ``status`` and ``headers`` the answer's.  Iterate ``chunks()``
    once (or ``read``), then ``close()`` (also done at the end of the
    iteration)."""

    url: str
    address: str
    size: int | None
    response: object = dataclasses.field(repr=False)
    pool: object = dataclasses.field(repr=False)
    status: int = 200
    headers: object = dataclasses.field(default=None, repr=False)

    def read(self, size):
        """Up to ``size`` bytes of the body as they arrive (b"" at its
        end); ``FetchFailed`` when the connection fails."""
        try:
            return self.response.read(size, decode_content=False)
        except (u3.HTTPError, OSError) as exc:
            raise FetchFailed("Reading the data from %s failed (%s)."
                              % (self.url, _reason(exc)),
                              reason=_reason(exc))

    def chunks(self, block_size=BLOCK_SIZE):
        total = 0
        try:
            while True:
                try:
                    block = self.response.read(block_size,
                                               decode_content=False)
                except (u3.HTTPError, OSError) as exc:
                    raise FetchFailed("Reading the data from %s failed "
                                      "after %d%s bytes (%s)."
                                      % (self.url, total, "" if self.size
                                         is None else " of %d" % self.size,
                                         _reason(exc)), reason="body")
                if not block:
                    break
                total += len(block)
                yield block
            if self.size is not None and total != self.size:
                raise FetchFailed("The server sent %d bytes instead of the "
                                  "%d it announced." % (total, self.size),
                                  reason="body")
        finally:
            self.close()

    def close(self):
        response, self.response = self.response, None
        if response is not None:
            response.release_conn()
            response.close()
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def open_url(url, policy, max_redirects=MAX_REDIRECTS,
             timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), verify=True,
             getaddrinfo=None, dial=None, method="GET", headers=None,
             any_status=False, user_agent=USER_AGENT):
    """GET ``url`` under ``policy``, following at most ``max_redirects``
    checked redirects; a ``Fetched`` for a 2xx answer (for any final
    answer with ``any_status``: its ``status`` says which).  ``method``
    (GET or HEAD) and ``headers`` (e.g. Range) are sent on every hop.

    Raises ``urls.Refused`` when ``url`` itself is refused and
    ``FetchFailed`` for anything after that (a refused redirect, no
    connection, an HTTP error status).  ``verify``: TLS verification, True
    (certifi's CAs), False or a CA bundle path.  ``getaddrinfo`` and
    ``dial(address, port) -> (host, port)`` (where a checked address is
    really reached) are seams for tests."""
    target = urls.check(url, policy)
    addresses = urls.resolve(target, policy, getaddrinfo)
    for hop in range(max_redirects + 1):
        response, pool, address = _request(
            target, addresses, timeout, verify, dial, method,
            dict(headers or {}, **{"User-Agent": user_agent}))
        status = response.status
        location = response.headers.get("Location")
        if status in _REDIRECTS and location:
            response.drain_conn()
            response.release_conn()
            pool.close()
            if hop == max_redirects:
                break
            target, addresses = _redirect_target(target, location, policy,
                                                 getaddrinfo)
            continue
        if not any_status and not 200 <= status < 300:
            response.release_conn()
            pool.close()
            raise FetchFailed("HTTP Error %d fetching %s."
                              % (status, target.url), reason="status")
        return Fetched(url=target.url, address=address,
                       size=_content_length(response), response=response,
                       pool=pool, status=status, headers=response.headers)
    raise FetchFailed("More than %d redirects fetching %s."
                      % (max_redirects, url), reason="redirects")


def _redirect_target(current, location, policy, getaddrinfo):
    """(checked Url, its checked addresses) of a redirect, or
    FetchFailed in Glance's words."""
    try:
        joined = urllib.parse.urljoin(current.url, location)
    except ValueError:
        joined = location
    try:
        target = urls.check(joined, policy)
        return target, urls.resolve(target, policy, getaddrinfo)
    except urls.Refused as exc:
        LOG.warning("Refused redirect from %s to %r: %s", current.url,
                    joined, exc.message)
        raise FetchFailed("Redirect to disallowed URL: %s" % joined,
                          reason="refused redirect")


def _pool(target, address, timeout, verify, dial):
    host, port = (dial or (lambda a, p: (a, p)))(str(address),
                                                  target.effective_port)
    kwargs = dict(port=port, timeout=urllib3.Timeout(connect=timeout[0],
                                                     read=timeout[1]),
                  retries=False, maxsize=1, block=False)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            host, cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=(verify if isinstance(verify, str) else
                      certifi.where()) if verify else None,
            assert_hostname=target.host if verify else False,
            server_hostname=target.host, **kwargs)
    return urllib3.HTTPConnectionPool(host, **kwargs)


def _request(target, addresses, timeout, verify, dial, method="GET",
             extra=None):
    """(response, pool, address) of the first checked address that
    answers."""
    headers = {"Host": target.netloc, "User-Agent": USER_AGENT,
               "Accept-Encoding": "identity", "Accept": "*/*"}
    headers.update(extra or {})
    reasons, kinds = [], set()
    for address in addresses:
        pool = _pool(target, address, timeout, verify, dial)
        try:
            response = pool.urlopen(
                method, target.request_target, headers=headers,
                redirect=False, retries=False, preload_content=False,
                assert_same_host=False, release_conn=False)
            return response, pool, str(address)
        except (u3.HTTPError, OSError) as exc:
            pool.close()
            LOG.info("Fetching %s from %s failed: %s", target.url, address,
                     exc)
            reasons.append("%s: %s" % (address, _reason(exc)))
            kinds.add(_reason(exc))
    raise FetchFailed("Could not fetch %s (%s)." % (target.url,
                                                    "; ".join(reasons)),
                      reason="timed out" if kinds == {"timed out"}
                      else "unreachable")


def _reason(exc):
    # First: urllib3 2's NewConnectionError is a ConnectTimeoutError too.
    if isinstance(exc, u3.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, (u3.ConnectTimeoutError, u3.ReadTimeoutError)):
        return "timed out"
    if isinstance(exc, u3.ProtocolError):
        return "the connection ended early"
    if isinstance(exc, u3.SSLError):
        return "TLS failed"
    if isinstance(exc, u3.NewConnectionError):
        return "connection refused or unreachable"
    return type(exc).__name__


def _content_length(response):
    value = response.headers.get("Content-Length")
    if value is None or not value.isdigit():
        return None
    return int(value)
