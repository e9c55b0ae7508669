"""HTTP blob store (read-only): image data served by a web server, as
Glance's ``http`` store.

Locations are plain ``http://`` and ``https://`` URLs.  Glare never writes
or deletes here (``read_only``): the data belongs to whoever runs the web
server.  Whether a URL may become a location at all (SSRF policy: schemes,
denied hosts, private addresses) is decided where it is added
(``artifacts.external``), not here; this driver only refuses URLs that are
not http(s) and URLs carrying credentials (``user:password@``), which
would otherwise be sent to the server and stored in the database.

Reads: ``open(url, offset, length)`` sends one GET, with ``Range:
bytes=<offset>-<end>`` when a range is asked for, and streams the body as
the reader is read.  The size comes from ``Content-Range`` (206) or
``Content-Length`` (200), else from a HEAD; a server that reports neither
cannot be served (StoreUnavailable).  A server that ignores Range (200) is
skipped forward to the offset.  At most ``max_redirects`` redirects are
followed.  ``Accept-Encoding: identity`` asks for the bytes as stored.

Every request goes through the pinned fetcher (``artifacts.net.fetch``):
on every read, and on every redirect, the host is resolved once, each of
its addresses is checked, and the connection goes to one of exactly those
addresses.  Loopback, private, link-local (the cloud's metadata service),
multicast and reserved addresses are refused unless the host is one of the
store's ``internal_hosts``: a location whose name resolved to a public
address when it was added cannot be turned into a read of an internal
service later (DNS rebinding), nor be redirected inside.

Errors: 404/410 are ``NotFound``; any other non-2xx answer, too many
redirects, a timeout or a network error is ``StoreUnavailable`` naming the
store and the URL's host -- never the library's exception text, which
carries internals (the full error is logged).

Options (a dict):

``connect_timeout``, ``read_timeout``  seconds (default 10 / 60).
``max_redirects``   redirects followed per request (default 5, Glance's).
``verify``          TLS verification: true/false or a CA bundle path.
``internal_hosts``  hosts (names or addresses) whose data may be served
                    from private or loopback addresses (a web server inside
                    the deployment); every other host must be public.
``denied_hosts``    hosts never read from.
No proxy, netrc or environment setting is used, so no credentials from
the service's environment reach a location's server.
``block_size``      bytes per read when iterating (default 1 MiB).
"""

import logging
import urllib.parse

from artifacts import errors
from artifacts.net import fetch, urls
from artifacts.stores import BoundedReader, option_bool, register

LOG = logging.getLogger(__name__)

SCHEME = "http"
SCHEMES = ("http", "https")
DEFAULT_BLOCK_SIZE = 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
_NOT_FOUND = (404, 410)
# How each fetch failure reads in a store error.
_REASONS = {"redirects": None, "timed out": "the server did not answer in "
            "time", "unreachable": "cannot connect", "refused redirect":
            "it redirects to an address that is not allowed",
            "status": None, "body": "reading the data failed"}


def _float_option(options, name, default, store_name):
    value = options.get(name)
    try:
        value = default if value is None else float(value)
    except (TypeError, ValueError):
        value = -1
    if value <= 0:
        raise errors.Invalid("HTTP store %r: %r must be a positive number of "
                             "seconds." % (store_name, name))
    return value


def _hosts(value):
    if isinstance(value, str):
        value = value.split(",")
    return tuple(h.strip() for h in value or () if h.strip())


class HttpStore:
    """Read-only access to data behind http(s) URLs; see the module
    docstring."""

    scheme = SCHEME
    read_only = True

    def __init__(self, name, options):
        self.name = name
        options = dict(options or {})
        self.connect_timeout = _float_option(options, "connect_timeout", 10.0,
                                             name)
        self.read_timeout = _float_option(options, "read_timeout", 60.0, name)
        try:
            self.max_redirects = int(options.get("max_redirects",
                                                 DEFAULT_MAX_REDIRECTS))
            self.block_size = int(options.get("block_size",
                                              DEFAULT_BLOCK_SIZE))
        except (TypeError, ValueError):
            raise errors.Invalid("HTTP store %r: max_redirects and block_size "
                                 "must be integers." % name)
        if self.max_redirects < 0 or self.block_size <= 0:
            raise errors.Invalid("HTTP store %r: max_redirects must be >= 0 "
                                 "and block_size > 0." % name)
        verify = options.get("verify", True)
        if isinstance(verify, str) and verify.lower() in (
                "true", "false", "1", "0", "yes", "no"):
            verify = option_bool(verify, True)
        self.verify = verify
        try:
            self.policy = urls.Policy.build(
                allowed_schemes=SCHEMES,
                disallowed_hosts=_hosts(options.get("denied_hosts")),
                trusted_hosts=_hosts(options.get("internal_hosts")))
        except ValueError as exc:
            raise errors.Invalid("HTTP store %r: %s" % (name, exc))

    # -- locations --------------------------------------------------------

    def _check(self, url):
        """``(url, host)`` for an http(s) URL without credentials."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES or "://" not in url:
            raise errors.Invalid(
                "Store %r reads only http:// and https:// URLs, not %s."
                % (self.name, (scheme + "://") if scheme else "this location"))
        if "@" in parts.netloc:
            raise errors.Invalid(
                "Store %r does not use URLs with credentials "
                "(user:password@%s); serve the data without them."
                % (self.name, parts.netloc.rpartition("@")[2]))
        if not parts.hostname:
            raise errors.Invalid("URL of store %r has no host." % self.name)
        return url, parts.hostname

    def owns(self, location):
        """True for any http:// or https:// URL with a host."""
        try:
            parts = urllib.parse.urlsplit(location)
            return parts.scheme.lower() in SCHEMES and bool(parts.hostname) \
                and "://" in location
        except (ValueError, TypeError, AttributeError):
            return False

    def location_for(self, key):
        raise errors.Forbidden("Store %r is read-only: it has no keys to "
                               "write under." % self.name)

    # -- requests ---------------------------------------------------------

    def _failed(self, host, what, exc=None):
        if exc is not None:
            LOG.warning("Store %r: %s on host %s", self.name, what, host,
                        exc_info=(type(exc), exc, exc.__traceback__))
        return errors.StoreUnavailable(
            "Store %r could not read data from host %s: %s."
            % (self.name, host, what))

    def _request(self, method, url, host, headers=None):
        """A ``fetch.Fetched`` of any final status: the host checked and
        pinned (see the module docstring)."""
        try:
            return fetch.open_url(
                url, self.policy, max_redirects=self.max_redirects,
                timeout=(self.connect_timeout, self.read_timeout),
                verify=self.verify, method=method, headers=headers,
                any_status=True, user_agent="Glare (http store)")
        except urls.Refused as exc:
            raise self._failed(host, "its address is not allowed (%s)"
                               % exc.message.rstrip("."), exc)
        except fetch.FetchFailed as exc:
            raise self._fetch_failed(host, exc)

    def _fetch_failed(self, host, exc):
        if exc.reason == "redirects":
            what = "more than %d redirects" % self.max_redirects
        else:
            what = _REASONS.get(exc.reason) or "the request failed"
        return self._failed(host, what, exc)

    def _status_error(self, response, host):
        status = response.status
        response.close()
        if status in _NOT_FOUND:
            return errors.NotFound("No data at this URL of store %r (host %s "
                                   "answered %d)." % (self.name, host, status))
        return self._failed(host, "the server answered HTTP %d" % status)

    def _size(self, url, host):
        """The object's size from a HEAD."""
        response = self._request("HEAD", url, host)
        response.close()
        if not 200 <= response.status < 300:
            raise self._status_error(response, host)
        size = _int_header(response, "Content-Length")
        if size is None:
            raise self._failed(host, "the server does not report the size of "
                                     "the data (no Content-Length)")
        return size

    # -- driver interface -------------------------------------------------

    def writer(self, key):
        raise errors.Forbidden("Store %r is read-only." % self.name)

    def delete(self, location):
        raise errors.Forbidden("Store %r is read-only: Glare does not delete "
                               "data served by a web server." % self.name)

    def open(self, location, offset=0, length=None):
        """An ``HttpReader`` streaming ``length`` bytes (default: to the
        end) from ``offset``; ``offset == size`` gives an empty reader,
        ``offset > size`` is RangeNotSatisfiable."""
        url, host = self._check(location)
        if length == 0:
            return self._empty(url, host, offset)
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = "bytes=%d-%s" % (offset, end)
        response = self._request("GET", url, host, headers)
        status = response.status
        if status == 416:
            response.close()
            return self._empty(url, host, offset)
        if not 200 <= status < 300:
            raise self._status_error(response, host)
        try:
            skip = 0
            count = _int_header(response, "Content-Length")
            if status == 206:
                first, size = _content_range(response)
                if first is None or first != offset:
                    raise self._failed(host, "the server answered a different "
                                             "byte range than asked for")
                if size is None:
                    size = self._size(url, host)
                if count is None:
                    count = size - offset
            else:
                # The whole object: the server ignores Range, or none was
                # asked for.
                size = count if count is not None else self._size(url, host)
                skip = min(offset, size)
                count = size - skip
            if offset > size:
                raise errors.RangeNotSatisfiable(
                    "Offset %d is beyond the end of the data (%d bytes)."
                    % (offset, size))
            if length is not None:
                count = min(count, length)
            reader = HttpReader(self, response, host, size, offset, count)
            if skip:
                reader._discard(skip)
            return reader
        except BaseException:
            response.close()
            raise

    def _empty(self, url, host, offset):
        size = self._size(url, host)
        if offset > size:
            raise errors.RangeNotSatisfiable(
                "Offset %d is beyond the end of the data (%d bytes)."
                % (offset, size))
        return HttpReader(self, None, host, size, offset, 0)

    def exists(self, location):
        """HEAD: 2xx is True, 404/410 False, anything else
        StoreUnavailable."""
        url, host = self._check(location)
        response = self._request("HEAD", url, host)
        response.close()
        if 200 <= response.status < 300:
            return True
        if response.status in _NOT_FOUND:
            return False
        raise self._status_error(response, host)

    def describe(self):
        return {
            "id": self.name,
            "kind": "http",
            "scheme": SCHEME,
            "schemes": list(SCHEMES),
            "read_only": True,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "max_redirects": self.max_redirects,
            "internal_hosts": list(self.policy.trusted_hosts),
        }

    def __repr__(self):
        return "HttpStore(%r)" % self.name


def _int_header(response, name):
    value = response.headers.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _content_range(response):
    """``(first byte, total size or None)`` of ``Content-Range: bytes
    <first>-<last>/<size|*>``; ``(None, None)`` when malformed."""
    value = response.headers.get("Content-Range") or ""
    unit, _, spec = value.partition(" ")
    span, _, total = spec.partition("/")
    first = span.partition("-")[0]
    if unit.strip().lower() != "bytes" or not first.isdigit():
        return None, None
    return int(first), int(total) if total.isdigit() else None


class HttpReader(BoundedReader):
    """Streams ``length`` bytes of a response body, never more."""

    def __init__(self, store, response, host, size, offset, length):
        self._store = store
        self._response = response
        self._host = host
        self.size = size
        self.offset = offset
        self.length = length
        self.block_size = store.block_size
        self._remaining = length

    def _raw(self, want):
        try:
            return self._response.read(want)
        except fetch.FetchFailed as exc:
            raise self._store._fetch_failed(self._host, exc)

    def _release(self):
        response, self._response = self._response, None
        if response is not None:
            response.close()


register("http", HttpStore)
