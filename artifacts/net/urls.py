"""URL safety: every URL Glare accepts passes through ``check``.

Three kinds of URL reach Glare from users: external blobs of the Artifact
API (stored, then sent to clients in a ``Location`` header), web-download
imports and legacy import tasks (the server fetches them) and image
locations (stored; read by the http store).  All of them go through this
module, so one set of rules holds everywhere:

* **One spelling.**  ``parse`` normalises the URL and everything after it
  (policy checks, storage, the ``Location`` header, the fetch) uses the
  normalised string, never the raw one.  The host is mapped with IDNA's
  UTS-46 table first (full-width digits and dots, circled letters and
  ideographic full stops become the ASCII they stand for: ``１２７．０．０．１``
  *is* ``127.0.0.1``) and must be ASCII afterwards (an internationalised
  name is written in its ``xn--`` form).  Refused outright: control
  characters, spaces and backslashes anywhere (``127.0.0.1\\.example.com``
  is ``127.0.0.1`` to a browser), credentials (``user@``), percent-encoded
  hosts, IPv6 zone ids, and IPv4 addresses in any form but the dotted quad
  (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``), which resolvers
  and browsers read as addresses.  Non-ASCII characters of the path and
  query are percent-encoded (UTF-8).
* **Addresses.**  A host that is an address, an IPv6 address embedding an
  IPv4 one (IPv4-mapped, IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4
  ``2002::/16``, Teredo) or, when the server fetches, any address a name
  resolves to, must be global: loopback, private, link-local (the cloud
  metadata service at 169.254.169.254), shared, reserved and documentation
  ranges are refused unless the operator names that host in the policy's
  ``allowed_hosts`` (exactly; not through a parent domain).  Multicast,
  broadcast and unspecified addresses are refused even then, and so are
  local names (``localhost``, ``*.localhost``, ``.local``, ``.internal``).
* **The operator's lists** (``Policy``): schemes, hosts and ports, allowed
  and disallowed, with Glance's ``[import_filtering_opts]`` meaning (an
  allowed list, when set, is the only list obeyed; a port is checked only
  when the URL names one).

``resolve`` gives the addresses a fetch may connect to (each one checked):
the fetch connects to exactly those (``artifacts.net.fetch``), so a name
cannot resolve to a public address at check time and to a private one at
connect time (no DNS-rebinding window), and it checks every redirect the
same way.  ``check_fetchable`` is ``check`` plus that resolution: what a
caller that lets the server fetch the URL later should use;
``check_location`` applies it to image locations (http and https ones:
other schemes are left to the caller).
"""

import dataclasses
import ipaddress
import re
import socket
import urllib.parse

import idna

from artifacts import errors

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost",
                "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")

# IPv6 prefixes whose addresses carry an IPv4 address in the low 32 bits.
_EMBED_LOW32 = (ipaddress.ip_network("::ffff:0:0/96"),       # mapped
                ipaddress.ip_network("::ffff:0:0:0/96"),     # translated
                ipaddress.ip_network("64:ff9b::/96"))        # NAT64
# Ranges Python's tables may not know as non-global on every version.
_NOT_GLOBAL = (ipaddress.ip_network("64:ff9b:1::/48"),       # local NAT64
               ipaddress.ip_network("100.64.0.0/10"))        # shared CGN


class Refused(errors.Invalid):
    """The URL may not be used; ``message`` says which rule it breaks."""


@dataclasses.dataclass(frozen=True)
class Url:
    """A normalised URL and its parts.  ``url`` is the string to store,
    redirect to and fetch; ``host`` is lowercase ASCII (an IPv6 address
    without brackets); ``address`` is set when the host is an address."""

    url: str
    scheme: str
    host: str
    port: int | None
    address: object = None
    path: str = ""
    query: str = ""

    @property
    def effective_port(self):
        return self.port or DEFAULT_PORTS.get(self.scheme)

    @property
    def netloc(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return host if self.port is None else "%s:%d" % (host, self.port)

    @property
    def request_target(self):
        """What an HTTP request line asks for: path and query."""
        return (self.path or "/") + ("?" + self.query if self.query else "")


@dataclasses.dataclass(frozen=True)
class Policy:
    """Which URLs may be used.  Lists hold normalised entries (see
    ``Policy.build``).  ``subdomains``: a host entry also covers names
    under it (external blobs); Glance's import filtering compares hosts
    exactly.  ``trusted_hosts``: hosts that may be (or resolve to)
    private or loopback addresses without restricting the others (the
    http store's ``internal_hosts``)."""

    allowed_schemes: tuple = ("http", "https")
    disallowed_schemes: tuple = ()
    allowed_hosts: tuple = ()
    disallowed_hosts: tuple = ()
    allowed_ports: tuple = ()
    disallowed_ports: tuple = ()
    subdomains: bool = False
    trusted_hosts: tuple = ()

    @classmethod
    def build(cls, allowed_schemes=("http", "https"), disallowed_schemes=(),
              allowed_hosts=(), disallowed_hosts=(), allowed_ports=(),
              disallowed_ports=(), subdomains=False, trusted_hosts=()):
        """A policy from configuration values: schemes lowercased, hosts
        normalised as URL hosts are (so ``LOCALHOST`` or ``[::1]`` in a
        list matches what ``parse`` makes of a URL); an entry that is no
        valid host raises ValueError naming it."""
        return cls(
            allowed_schemes=tuple(s.lower() for s in allowed_schemes),
            disallowed_schemes=tuple(s.lower() for s in disallowed_schemes),
            allowed_hosts=tuple(_config_host(h) for h in allowed_hosts),
            disallowed_hosts=tuple(_config_host(h) for h in
                                   disallowed_hosts),
            allowed_ports=tuple(int(p) for p in allowed_ports),
            disallowed_ports=tuple(int(p) for p in disallowed_ports),
            subdomains=subdomains,
            trusted_hosts=tuple(_config_host(h) for h in trusted_hosts))

    def _matches(self, host, entries):
        return any(host == e or (self.subdomains and host.endswith("." + e))
                   for e in entries)

    def explicitly_allows(self, host):
        """The operator named this very host in ``allowed_hosts`` (or
        ``trusted_hosts``): it may be private or loopback."""
        return host in self.allowed_hosts or host in self.trusted_hosts


# ------------------------------------------------------------------ parse


def parse(url):
    """The normalised ``Url`` of ``url``; ``Refused`` when it is malformed
    or uses a form this module refuses (see the module docstring)."""
    if not isinstance(url, str) or not url:
        raise Refused("The URL must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise Refused("The URL is longer than %d characters."
                      % MAX_URL_LENGTH)
    if any(c <= " " or c == "\x7f" for c in url):
        raise Refused("The URL contains spaces or control characters.")
    if "\\" in url:
        raise Refused("The URL contains a backslash, which clients read as "
                      "a slash; write '/' or '%5C'.")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or not _SCHEME.match(scheme):
        raise Refused("The URL must start with a scheme and '://'.")
    authority, path, query, fragment = _split_rest(rest)
    if "@" in authority:
        raise Refused("The URL must not carry credentials (user@host).")
    host_text, port = _split_port(authority)
    host, address = _normalise_host(host_text)
    built = Url(url="", scheme=scheme, host=host, port=port,
                address=address, path=_encode(path), query=_encode(query))
    text = "%s://%s%s" % (scheme, built.netloc, built.path)
    if query or "?" in rest.split("#", 1)[0]:
        text += "?" + built.query
    if fragment is not None:
        text += "#" + _encode(fragment)
    return dataclasses.replace(built, url=text)


def _split_rest(rest):
    """(authority, path, query, fragment or None) of what follows '://'."""
    fragment = None
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    authority, slash, path = rest.partition("/")
    return authority, slash + path, query, fragment


def _split_port(authority):
    """(host text, port or None)."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise Refused("The URL's IPv6 address has no closing ']'.")
        host, after = authority[:end + 1], authority[end + 1:]
        if after and not after.startswith(":"):
            raise Refused("Only a port may follow the URL's IPv6 address.")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text = authority.rpartition(":")
        if not colon:
            host, port_text = authority, None
    if port_text is None or port_text == "":
        return host, None
    if not port_text.isascii() or not port_text.isdigit() \
            or not 0 < int(port_text) <= 65535:
        raise Refused("The URL's port must be a number from 1 to 65535.")
    return host, int(port_text)


def _normalise_host(text):
    """(ASCII host, ip address or None)."""
    if not text:
        raise Refused("The URL must name a host.")
    if "%" in text:
        raise Refused("The URL's host must not be percent-encoded (nor "
                      "carry an IPv6 zone).")
    if text.startswith("["):
        inner = text[1:-1]
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            raise Refused("The URL's IPv6 address is not valid.")
        return address.compressed, address
    try:
        mapped = idna.uts46_remap(text, std3_rules=True, transitional=False)
    except (idna.IDNAError, ValueError):
        raise Refused("The URL's host is not a valid host name.")
    if not mapped.isascii():
        raise Refused("The URL's host is not ASCII; write an "
                      "internationalised name in its ASCII (xn--) form.")
    host = mapped[:-1] if mapped.endswith(".") else mapped
    labels = host.split(".")
    if not host or "" in labels or len(host) > 253:
        raise Refused("The URL's host is not a valid host name.")
    if _numeric(labels[-1]):
        return _ipv4(host), ipaddress.IPv4Address(host)
    for label in labels:
        if not _LABEL.match(label):
            raise Refused("The URL's host is not a valid host name.")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise Refused("The URL's host has an invalid xn-- label.")
    return host, None


def _numeric(label):
    """Resolvers read a host whose last label is a number as an IPv4
    address (decimal, octal or hex: WHATWG's rule)."""
    lower = label.lower()
    if lower.startswith("0x"):
        return all(c in "0123456789abcdef" for c in lower[2:])
    return lower.isdigit()


def _ipv4(host):
    """A numeric host must be a canonical dotted quad."""
    parts = host.split(".")
    if len(parts) == 4 and all(
            p.isdigit() and str(int(p)) == p and int(p) <= 255
            for p in parts):
        return host
    raise Refused("The URL's host %r is a numeric address in a non-standard "
                  "form; write it as a dotted quad (a.b.c.d)." % host)


def _encode(text):
    """Percent-encode what is not ASCII (as UTF-8), keep the rest."""
    if text.isascii():
        return text
    return "".join(c if c.isascii() else urllib.parse.quote(c, safe="")
                   for c in text)


def _config_host(entry):
    """A configured host list entry, normalised like a URL host."""
    try:
        return _normalise_host(entry.strip())[0]
    except Refused:
        try:
            return ipaddress.IPv6Address(entry.strip()).compressed
        except ValueError:
            raise ValueError("%r is not a valid host" % entry)


# ------------------------------------------------------------------ check


def address_problem(address):
    """Why ``address`` (or an IPv4 address it embeds) is not a global
    unicast address, or None.  Returns ``(reason, overridable)``:
    multicast, broadcast and unspecified addresses stay refused even for
    a host the operator allows explicitly."""
    for addr in _with_embedded(address):
        if addr.is_multicast:
            return "a multicast address", False
        if addr.is_unspecified or addr == ipaddress.IPv4Address(
                "255.255.255.255"):
            return "an unspecified or broadcast address", False
    for addr in _with_embedded(address):
        if addr.is_loopback:
            return "a loopback address", True
        if addr.is_link_local:
            return "a link-local address", True
        if addr.is_private or not addr.is_global or any(
                addr in net for net in _NOT_GLOBAL
                if net.version == addr.version):
            return "a private or reserved address", True
    return None


def _with_embedded(address):
    """Any IPv4 address an IPv6 ``address`` carries, then ``address``."""
    found = []
    if address.version == 6:
        value = int(address)
        if any(address in net for net in _EMBED_LOW32) or (
                value >> 32 == 0 and value > 1):
            found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
    # The embedded address first: it names the real problem.
    return found + [address]


def check(url, policy):
    """The normalised ``Url`` if ``policy`` allows ``url`` (without
    resolving names), else ``Refused``."""
    parsed = url if isinstance(url, Url) else parse(url)
    if policy.allowed_schemes:
        if parsed.scheme not in policy.allowed_schemes:
            raise Refused("URL scheme '%s' is not allowed (allowed: %s)."
                          % (parsed.scheme,
                             ", ".join(policy.allowed_schemes)))
    elif parsed.scheme in policy.disallowed_schemes:
        raise Refused("URL scheme '%s' is not allowed." % parsed.scheme)
    host = parsed.host
    if policy.allowed_hosts:
        if not policy._matches(host, policy.allowed_hosts):
            raise Refused("Host '%s' is not among the allowed hosts (%s)."
                          % (host, ", ".join(policy.allowed_hosts)))
    elif policy._matches(host, policy.disallowed_hosts):
        raise Refused("Host '%s' is not allowed." % host)
    if parsed.port is not None:
        if policy.allowed_ports:
            if parsed.port not in policy.allowed_ports:
                raise Refused("Port %d is not allowed (allowed: %s)."
                              % (parsed.port, ", ".join(
                                  map(str, policy.allowed_ports))))
        elif parsed.port in policy.disallowed_ports:
            raise Refused("Port %d is not allowed." % parsed.port)
    explicit = policy.explicitly_allows(host)
    if parsed.address is not None:
        _check_address(parsed.address, host, explicit)
    elif not explicit and (host in _LOCAL_NAMES
                           or host.endswith(_LOCAL_SUFFIXES)):
        raise Refused("Host '%s' is a local name." % host)
    return parsed


def _check_address(address, shown, explicit):
    problem = address_problem(address)
    if problem is not None and (not explicit or not problem[1]):
        raise Refused("Host %s is %s, which is not allowed."
                      % (shown, problem[0]))


def resolve(parsed, policy, getaddrinfo=None):
    """The addresses a fetch of ``parsed`` (a checked ``Url``) may connect
    to: all of them, each one checked; ``Refused`` when the name does not
    resolve or resolves to any address that is not allowed."""
    if parsed.address is not None:
        return [parsed.address]
    getaddrinfo = getaddrinfo or socket.getaddrinfo
    try:
        infos = getaddrinfo(parsed.host, parsed.effective_port,
                            type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused("Host '%s' does not resolve (%s)."
                      % (parsed.host, getattr(exc, "strerror", None)
                         or type(exc).__name__))
    explicit = policy.explicitly_allows(parsed.host)
    denied = _denied_addresses(policy)
    found = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise Refused("Host '%s' resolves to %r, which is not an "
                          "address." % (parsed.host, text))
        if address in denied:
            raise Refused("Host '%s' resolves to %s, which is not allowed."
                          % (parsed.host, address))
        _check_address(address, "%s (resolved to %s)" % (parsed.host,
                                                         address), explicit)
        if address not in found:
            found.append(address)
    if not found:
        raise Refused("Host '%s' does not resolve." % parsed.host)
    return found


def _denied_addresses(policy):
    """Disallowed host entries that are addresses also refuse names that
    resolve to them (Glance's rule); ignored when an allowed list is set."""
    if policy.allowed_hosts:
        return ()
    found = []
    for entry in policy.disallowed_hosts:
        try:
            found.append(ipaddress.ip_address(entry))
        except ValueError:
            pass
    return found


def check_fetchable(url, policy, getaddrinfo=None):
    """``check`` plus ``resolve``: the ``Url`` of a URL the server may
    fetch now.  For a URL stored to be fetched later (a location), call
    this when it is accepted; the fetch checks it again."""
    parsed = check(url, policy)
    resolve(parsed, policy, getaddrinfo)
    return parsed


def check_location(url, policy, getaddrinfo=None):
    """An image location's URL as it may be stored: an http(s) URL must be
    one the server may fetch under ``policy`` (Glance 33 applies its
    import filters to http locations too) and is returned normalised;
    another scheme (rbd, swift, s3, file...) is returned unchanged for the
    caller's own scheme checks.  ``Refused`` otherwise (Glance's wording:
    "URI for add location does not pass filtering: <url>")."""
    if not isinstance(url, str):
        raise Refused("The location URL must be a string.")
    scheme = url.partition(":")[0].lower()
    if scheme not in ("http", "https"):
        return url
    return check_fetchable(url, policy, getaddrinfo).url
