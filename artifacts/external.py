"""External blobs: a URL registered as an artifact's data, never fetched.

Glare does not download external data, not at registration and not when it
is read (the blob's download answers with a redirect), so a URL cannot make
the server reach an internal address (no SSRF).  Clients follow the
redirect, so the URL is still checked by ``artifacts.net.urls`` (the one
URL rule of Glare): the normalised URL is what is stored and what the
``Location`` header carries, schemes must be allowed, hosts must not be
denied, and loopback, private, link-local, multicast or reserved addresses
are refused in every spelling (full-width digits, decimal or octal
numbers, IPv4 inside IPv6).  Host entries of the operator's lists also
cover their subdomains here.
"""

import re

from artifacts import errors
from artifacts.net import urls

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}


def policy(allowed_schemes=("https", "http"), allowed_hosts=(),
           denied_hosts=()):
    """The URL policy of external blobs (``[glare] external_*``)."""
    return urls.Policy.build(allowed_schemes=allowed_schemes,
                             allowed_hosts=allowed_hosts,
                             disallowed_hosts=denied_hosts, subdomains=True)


def check_url(url, url_policy):
    """The normalised URL if ``url_policy`` allows it (store and redirect
    to this string, not the one given); ``urls.Refused`` (400) naming the
    rule it breaks otherwise."""
    try:
        return urls.check(url, url_policy).url
    except urls.Refused as exc:
        raise urls.Refused("External data may not use this URL: %s"
                           % exc.message)


def redirect_url(stored, url_policy):
    """The URL a download of an external blob redirects to: the stored
    one, checked again against today's policy (rows written before the
    policy changed, or by an older Glare, are not trusted blindly)."""
    try:
        checked = urls.check(stored, url_policy).url
    except urls.Refused as exc:
        raise errors.Forbidden("The external URL of this data is no longer "
                               "allowed: %s" % exc.message)
    if checked != stored:
        raise errors.Forbidden("The external URL of this data is not in its "
                               "normalised form (%s); register it again."
                               % checked)
    return checked


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
