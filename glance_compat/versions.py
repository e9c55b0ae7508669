"""Glance v2 version discovery and URL version negotiation.

Glance answers version discovery in a WSGI filter in front of everything
else (before authentication, so no token is needed), and so does Glare:

* ``/versions`` (first path segment, any method) -> 200 with the document;
* ``Accept: application/vnd.openstack.images-<token>`` or, without it, the
  first path segment ``<token>`` selects the version; an accepted token
  (``v2`` or an advertised ``v2.N``) routes the request to ``/v2/<rest>``;
* anything else (``/``, ``/v3/x``, ``/images``, ``/v2.99/x``) -> 300 with
  the same document, which is what keystoneauth/openstacksdk discovery and
  Tempest expect from the unversioned endpoint.

Clients switch features on the exact ids in the document (glanceclient:
``v2.12`` image tasks, ``v2.14`` cache API, ``v2.17`` location API), so the
list is not copied from Glance: each minor version is advertised only when
Glare implements every feature it stands for (``MINOR_VERSION_FEATURES``),
on its own merit, as Glance's own list has gaps (no 2.8 without
multi-store, no 2.14 without a cache).  With the same configuration the
list is Glance's 33, newest first.
"""

import functools
import json

import webob
import webob.exc

# Minor version -> features a server must implement to advertise it, from
# the api-ref, the release notes and the commits that bumped each one:
# 2.2 (Havana) published metadefs, tasks and property protections; 2.4
# (Newton) the location rules (403 for removing the last location or
# emptying the list, 409 for adding one to an image neither queued nor
# active); 2.8 (Rocky) multi-store; 2.9 (Train) import into stores, which
# a single-store Glance also accepts (it ignores the stores) and
# advertises; 2.10 (Ussuri) DELETE /v2/stores/{s}/{id}; 2.11 (Victoria)
# copy-image into several stores; 2.12 (Wallaby) GET
# /v2/images/{id}/tasks; 2.13 (Xena) /v2/info/stores/detail; 2.14 and
# 2.16 the cache API; 2.15 (Yoga) /v2/info/usage (and stores/detail, a
# 404 without multi-store, as Glance answers it); 2.17 (2024.2) the
# location API; 2.18 more cache API.
MINOR_VERSION_FEATURES = {
    0: ("base",),
    1: ("json-patch-2.1", "members"),
    2: ("metadefs", "tasks", "property-protections"),
    3: ("deactivate",),
    4: ("location-list-rules",),
    5: ("community-visibility",),
    6: ("interoperable-import",),
    7: ("os-hidden", "multihash"),
    8: ("multi-store",),
    9: ("multi-store-import",),
    10: ("multi-store", "delete-from-store"),
    11: ("multi-store", "multi-store-import"),
    12: ("image-tasks",),
    13: ("multi-store", "store-details"),
    14: ("cache-api",),
    15: ("store-details", "usage-info"),
    16: ("cache-api", "cache-queue-202"),
    17: ("location-api",),
    18: ("cache-api", "cache-clean-prune"),
}

# What Glare implements in every configuration; the app factory adds
# ``interoperable-import`` when an import method is offered and
# ``multi-store``/``delete-from-store`` with ``enabled_backends`` (the
# same configurations in which Glance lists 2.6, 2.8, 2.10, 2.11 and
# 2.13) and the cache versions with ``image_cache_dir``.  Property
# protections are implemented whether or not a file is configured (Glance
# lists 2.2 either way).
GLARE_FEATURES = frozenset({
    "base", "json-patch-2.1", "members", "deactivate",
    "location-list-rules", "community-visibility", "os-hidden",
    "multihash", "multi-store-import", "store-details", "usage-info",
    "location-api", "metadefs", "tasks", "image-tasks",
    "property-protections",
})

MULTI_STORE_FEATURES = frozenset({"multi-store", "delete-from-store"})

VND_MIME_PREFIX = "application/vnd.openstack.images-"


def advertised_versions(features=GLARE_FEATURES):
    """Ids (``"v2.N"``) of the minor versions ``features`` cover, newest
    first.  A minor is advertised on its own merit, not because a higher
    one is: Glance itself advertises 2.17 without 2.8."""
    features = set(features)
    return ["v2.%d" % minor
            for minor in sorted(MINOR_VERSION_FEATURES, reverse=True)
            if features.issuperset(MINOR_VERSION_FEATURES[minor])]


def version_href(base_url):
    """``<base_url>/v2/``: the one URL every version entry points at."""
    return base_url.rstrip("/") + "/v2/"


def versions_document(base_url, versions=None):
    """The ``{"versions": [...]}`` document.

    ``versions`` defaults to ``advertised_versions()``; the first (highest)
    entry is CURRENT, the rest SUPPORTED.  Keys are built in Glance's order
    (id, status, links).
    """
    if versions is None:
        versions = advertised_versions()
    href = version_href(base_url)
    return {"versions": [
        {"id": vid,
         "status": "CURRENT" if i == 0 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for i, vid in enumerate(versions)]}


class VersionNegotiation(object):
    """WSGI middleware: version discovery and ``/v2.N/...`` -> ``/v2/...``.

    ``exempt_prefixes`` are passed through untouched (Glare's own API and the
    health check live outside Glance's URL space).  The rewritten request
    keeps SCRIPT_NAME, so links built from it stay right behind a prefix.
    """

    def __init__(self, app, conf, exempt_prefixes=("/healthcheck",
                                                   "/artifacts"),
                 features=GLARE_FEATURES):
        self.app = app
        self.public_endpoint = conf.public_endpoint or None
        self.exempt_prefixes = tuple(p.rstrip("/") for p in exempt_prefixes)
        self.versions = advertised_versions(features)
        # Glance also accepts a bare "v2" besides every advertised id.
        self.accepted = frozenset(["v2"] + self.versions)
        # The body only varies with the base URL; cache a few (the Host
        # header is client-controlled, so the cache must stay bounded).
        self._body = functools.lru_cache(maxsize=64)(self._render)

    def _render(self, base_url):
        return json.dumps(
            versions_document(base_url, self.versions)).encode("utf-8")

    def _exempt(self, path):
        return any(path == p or path.startswith(p + "/")
                   for p in self.exempt_prefixes)

    def _document(self, req, status):
        base = self.public_endpoint or req.application_url
        resp = webob.Response(status=status, content_type="application/json",
                              charset=None)
        resp.body = self._body(base)
        return resp

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        # The raw WSGI path (PEP 3333: bytes decoded as latin-1), not WebOb's
        # UTF-8-decoded ``path_info``: that text, written back into
        # PATH_INFO below, broke every non-ASCII path (500) downstream.
        path = environ.get("PATH_INFO", "")
        if self._exempt(path):
            return self.app(environ, start_response)
        if _pop_segment(path)[0] == "versions":
            return self._document(req, 200)(environ, start_response)

        # Same precedence as Glance: a vendor media type in Accept wins and
        # leaves the path alone; otherwise the first segment is the token.
        accept = environ.get("HTTP_ACCEPT", "").strip()
        if accept.startswith(VND_MIME_PREFIX):
            token, rest = accept[len(VND_MIME_PREFIX):], path
        else:
            token, rest = _pop_segment(path)
        if token not in self.accepted:
            return self._document(req, 300)(environ, start_response)

        if rest == "":
            # Glance (via its URL map) redirects the bare version root.
            redirect = webob.exc.HTTPFound(
                location=req.application_url + "/v2/")
            return redirect(environ, start_response)
        environ["PATH_INFO"] = "/v2" + rest
        environ["api.version"] = 2
        return self.app(environ, start_response)


def _pop_segment(path):
    """Split ``/seg/rest`` into ``("seg", "/rest")``; leading slashes go."""
    path = path.lstrip("/")
    head, sep, tail = path.partition("/")
    return head, sep + tail
