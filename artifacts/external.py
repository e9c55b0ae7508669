"""External blobs: a URL registered as an artifact's data, never fetched.

Glare does not download external data, not at registration and not when it
is read (the blob's download answers with a redirect), so a URL cannot make
the server reach an internal address (no SSRF).  The URL is still checked
against the operator's policy, because clients will follow it: schemes must
be allowed, hosts must not be denied, and addresses that are loopback,
private, link-local, multicast or reserved are refused outright whether
written as IPv4, IPv6 or a decimal/octal/hex number.
"""

import dataclasses
import ipaddress
import re
import urllib.parse

from artifacts import errors

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


@dataclasses.dataclass(frozen=True)
class Policy:
    allowed_schemes: tuple = ("https", "http")
    allowed_hosts: tuple = ()      # empty: any host not denied
    denied_hosts: tuple = ()


def _numeric_host(host):
    """An IP address written in any form browsers and libc accept
    (dotted, decimal, octal, hex), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    values = []
    for part in host.split("."):
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:], 16))
            elif part.startswith("0") and len(part) > 1:
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    if not 1 <= len(values) <= 4:
        return None
    number = 0
    for value in values[:-1]:
        number = number * 256 + value
    number = number * (256 ** (5 - len(values))) + values[-1]
    try:
        return ipaddress.ip_address(number)
    except ValueError:
        return None


def check_url(url, policy):
    """Return the URL if ``policy`` allows it; raise Invalid naming the
    rule it breaks."""
    if not isinstance(url, str) or len(url) > 2048:
        raise errors.Invalid("The external URL must be a string of at most "
                             "2048 characters.")
    try:
        parsed = urllib.parse.urlsplit(url)
        host = (parsed.hostname or "").lower().rstrip(".")
        parsed.port            # raises on a bad port
    except ValueError as exc:
        raise errors.Invalid("The external URL is malformed: %s." % exc)
    if parsed.scheme.lower() not in policy.allowed_schemes:
        raise errors.Invalid("URL scheme '%s' is not allowed for external "
                             "data (allowed: %s)."
                             % (parsed.scheme, ", ".join(
                                 policy.allowed_schemes)))
    if not host or parsed.username or parsed.password:
        raise errors.Invalid("The external URL must name a host and carry "
                             "no credentials.")
    address = _numeric_host(host)
    if address is not None and not address.is_global:
        raise errors.Invalid("External data may not point at %s: loopback, "
                             "private, link-local and reserved addresses are "
                             "refused." % address)
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES):
        raise errors.Invalid("External data may not point at the local "
                             "host name '%s'." % host)
    if any(host == d or host.endswith("." + d) for d in policy.denied_hosts):
        raise errors.Invalid("Host '%s' is denied for external data." % host)
    if policy.allowed_hosts and not any(
            host == a or host.endswith("." + a)
            for a in policy.allowed_hosts):
        raise errors.Invalid("Host '%s' is not among the hosts allowed for "
                             "external data (%s)."
                             % (host, ", ".join(policy.allowed_hosts)))
    return url


def check_digests(digests):
    """Client-declared digests: known algorithms, hex of the right length."""
    clean = {}
    for name, value in (digests or {}).items():
        if name not in _DIGEST_LENGTHS:
            raise errors.Invalid("Unknown digest '%s' (use md5, sha1 or "
                                 "sha256)." % name)
        if not isinstance(value, str) or not _HEX.match(value) or \
                len(value) != _DIGEST_LENGTHS[name]:
            raise errors.Invalid("Digest %s must be %d hex characters."
                                 % (name, _DIGEST_LENGTHS[name]))
        clean[name] = value.lower()
    return clean
