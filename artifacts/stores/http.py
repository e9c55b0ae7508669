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

Redirects never lead somewhere more internal than where they come from:
from a public address only to public ones, from a private one not to
loopback or link-local ones (the cloud's metadata service), so a URL a
client named, which passed the external-URL policy, cannot be bounced
inside (``_RedirectGuard``).

Errors: 404/410 are ``NotFound``; any other non-2xx answer, too many
redirects, a timeout or a network error is ``StoreUnavailable`` naming the
store and the URL's host -- never the library's exception text, which
carries internals (the full error is logged).

Options (a dict):

``connect_timeout``, ``read_timeout``  seconds (default 10 / 60).
``max_redirects``   redirects followed per request (default 5, Glance's).
``verify``          TLS verification: true/false or a CA bundle path.
``proxies``         requests' proxies mapping (``{"https": "http://p:3128"}``);
                    the environment's proxies and ~/.netrc are ignored, so no
                    credentials from the service's environment reach a
                    location's server.
``block_size``      bytes per read when iterating (default 1 MiB).
"""

import ipaddress
import logging
import socket
import urllib.parse

from artifacts import errors
from artifacts.stores import BoundedReader, option_bool, register

try:
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError as exc:  # pragma: no cover - requests is a core dependency
    raise ImportError("The http store needs requests (%s)" % exc)

LOG = logging.getLogger(__name__)

SCHEME = "http"
SCHEMES = ("http", "https")
DEFAULT_BLOCK_SIZE = 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
_NOT_FOUND = (404, 410)


class UnsafeRedirect(requests.RequestException):
    """A redirect towards a more internal address than the one before."""


def _reach(url):
    """How internal the host of ``url`` is: 0 public, 1 private, 2
    loopback, link-local, unspecified or reserved (its most internal
    address when a name resolves to several); None if it does not
    resolve (the request itself will fail)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, parts.port or 80,
                                       proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(i[4][0].split("%")[0])
                     for i in infos]
    reach = 0
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if mapped.is_loopback or mapped.is_link_local or \
                mapped.is_unspecified or mapped.is_reserved or \
                mapped.is_multicast:
            reach = max(reach, 2)
        elif not mapped.is_global:
            reach = max(reach, 1)
    return reach


class _RedirectGuard(requests.Session):
    """A session whose redirects never go more internal (see the module
    docstring); each hop is compared with the one before."""

    def get_redirect_target(self, resp):
        target = super().get_redirect_target(resp)
        if target:
            here = resp.url or resp.request.url
            there = urllib.parse.urljoin(here, target)
            before, after = _reach(here), _reach(there)
            if before is not None and after is not None and after > before:
                raise UnsafeRedirect("redirect from %s to a more internal "
                                     "address" % urllib.parse.urlsplit(
                                         here).hostname)
        return target


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
        self.session = _RedirectGuard()
        # No proxies or .netrc credentials from the environment (see above).
        self.session.trust_env = False
        self.session.max_redirects = self.max_redirects
        self.session.proxies = dict(options.get("proxies") or {})
        self.session.headers["Accept-Encoding"] = "identity"

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
        try:
            response = self.session.request(
                method, url, headers=headers or {}, stream=True,
                allow_redirects=True, verify=self.verify,
                timeout=(self.connect_timeout, self.read_timeout))
        except requests.TooManyRedirects as exc:
            raise self._failed(host, "more than %d redirects"
                               % self.max_redirects, exc)
        except UnsafeRedirect as exc:
            raise self._failed(host, "it redirects to a more internal "
                                     "address", exc)
        except requests.Timeout as exc:
            raise self._failed(host, "the server did not answer in time",
                               exc)
        except requests.ConnectionError as exc:
            raise self._failed(host, "cannot connect", exc)
        except (requests.RequestException, Urllib3Error, OSError,
                ValueError) as exc:
            raise self._failed(host, "the request failed (%s)"
                               % type(exc).__name__, exc)
        return response

    def _status_error(self, response, host):
        status = response.status_code
        response.close()
        if status in _NOT_FOUND:
            return errors.NotFound("No data at this URL of store %r (host %s "
                                   "answered %d)." % (self.name, host, status))
        return self._failed(host, "the server answered HTTP %d" % status)

    def _size(self, url, host):
        """The object's size from a HEAD."""
        response = self._request("HEAD", url, host)
        response.close()
        if not 200 <= response.status_code < 300:
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
        status = response.status_code
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
        if 200 <= response.status_code < 300:
            return True
        if response.status_code in _NOT_FOUND:
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
            return self._response.raw.read(want, decode_content=False)
        except (Urllib3Error, requests.RequestException, OSError) as exc:
            raise self._store._failed(self._host, "reading the data failed",
                                      exc)

    def _release(self):
        response, self._response = self._response, None
        if response is not None:
            response.close()


register("http", HttpStore)
