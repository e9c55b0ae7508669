"""Who is calling: turn a request into an ``artifacts.context.RequestContext``.

Two modes, chosen by ``[paste_deploy] flavor`` as in Glance:

``""`` (embedded, the default)
    No Keystone.  Identity comes from one of, in this order of precedence:

    * ``[noauth] token_map``: when it is set, the token decides and nothing
      else does.  A listed ``X-Auth-Token`` is its mapped identity (identity
      headers sent with it are ignored, never merged); a token it does not
      list, or no token, is 401.
    * trusted identity headers (``[noauth] trust_identity_headers``, on by
      default): keystonemiddleware's ``X-Identity-Status`` plus
      ``X-Project-Id``, ``X-User-Id``, ``X-Roles`` ...; meant for a trusted
      front proxy and for tests.  The status is compared as
      keystonemiddleware sets it: exactly ``Confirmed`` is an identity;
      any other value (``Invalid`` is what auth_token sends on with
      ``delay_auth_decision``) is a caller whose token was not confirmed:
      401.  When the option is off every identity header is dropped, as
      auth_token drops what clients send.
    * the ``[noauth] default_*`` identity, for a request with neither (the
      README's ``--os-auth-token x``: admin, member and reader).

    Trusting headers or handing out the default admin identity is only
    safe on a loopback address; ``glare serve`` warns loudly otherwise
    (``insecure_listen_warnings``).

``"keystone"``
    keystonemiddleware's ``auth_token`` validates the token (configured
    from ``[keystone_authtoken]`` in the same config file, with
    ``delay_auth_decision`` on like Glance's paste pipeline) and we trust
    only the headers it set.  A request it could not confirm gets Glance's
    WebOb 401; ``auth_token`` then adds ``WWW-Authenticate`` on the way
    out, as it does for Glance.

In both modes a token scoped to the system (``OpenStack-System-Scope``) or
to a domain (``X-Domain-Id``) rather than to a project keeps that scope in
the context; every policy rule is project-scoped, so such a caller is
refused as Glance refuses it (``artifacts/policy.py``).

The context is stored in ``environ['glare.context']``; its ``request_id`` is
the one ``glare.middleware.RequestId`` put in
``environ['openstack.request_id']``.
"""

import ipaddress
import json

from artifacts.api import errors as artifact_errors
from artifacts.context import RequestContext
from glance_compat import errors as glance_errors
from glance_compat.glance_download import parse_catalog
from glare.config import ConfigError, uses_keystone

ENVIRON_KEY = "glare.context"
REQUEST_ID_KEY = "openstack.request_id"

_TOKEN_MAP_OPT = "[noauth] token_map"


def parse_token_map(text):
    """Parse ``TOKEN=PROJECT:USER:ROLE,ROLE;TOKEN2=...``.

    Returns ``{token: (project_id, user_id, roles_tuple)}`` with roles
    lower-cased.  Empty text gives ``{}``.  Anything malformed raises
    ``glare.config.ConfigError`` naming ``[noauth] token_map`` and the bad
    entry's position (never the token itself, which is a secret).
    """
    result = {}
    for position, entry in enumerate((text or "").split(";"), start=1):
        entry = entry.strip()
        if not entry:
            continue  # tolerate "a=..;" and blank entries
        token, sep, identity = entry.partition("=")
        token = token.strip()
        fields = identity.split(":")
        if not sep or not token or len(fields) != 3:
            raise ConfigError(
                "Invalid value for %s: entry %d must look like "
                "TOKEN=PROJECT:USER:ROLE[,ROLE...]." % (_TOKEN_MAP_OPT,
                                                       position))
        project, user, roles = (f.strip() for f in fields)
        if not project or not user:
            raise ConfigError(
                "Invalid value for %s: entry %d has an empty project or "
                "user id." % (_TOKEN_MAP_OPT, position))
        if token in result:
            raise ConfigError(
                "Invalid value for %s: entry %d repeats an earlier token."
                % (_TOKEN_MAP_OPT, position))
        result[token] = (project, user, split_roles(roles))
    return result


def split_roles(value):
    """``"Admin, member,,"`` -> ``("admin", "member")``.

    Glance lower-cases roles, so a Keystone role named ``Admin`` still
    counts as admin.
    """
    return tuple(r.strip().lower() for r in (value or "").split(",")
                 if r.strip())


def _header(environ, name):
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


# What keystonemiddleware's auth_token sets (and strips from what clients
# send) plus the scope headers oslo.context reads; X-System-Scope is not
# one of them but is taken as a system scope too: it can only narrow what
# a caller may do.
IDENTITY_HEADERS = (
    "X-Identity-Status", "X-Service-Identity-Status", "X-Project-Id",
    "X-Tenant-Id", "X-Tenant", "X-Project-Name", "X-Tenant-Name",
    "X-Project-Domain-Id", "X-Project-Domain-Name", "X-User-Id", "X-User",
    "X-User-Name", "X-User-Domain-Id", "X-User-Domain-Name", "X-Domain-Id",
    "X-Domain-Name", "X-Roles", "X-Role", "X-Service-Roles",
    "X-Service-Project-Id", "X-Service-User-Id", "X-Is-Admin-Project",
    "X-Service-Catalog", "OpenStack-System-Scope", "X-System-Scope")
CONFIRMED = "Confirmed"


def _context_from_confirmed_headers(environ, request_id):
    """Context from the headers keystonemiddleware sets on success."""
    return RequestContext(
        project_id=(_header(environ, "X-Project-Id")
                    or _header(environ, "X-Tenant-Id") or None),
        user_id=_header(environ, "X-User-Id") or None,
        roles=split_roles(_header(environ, "X-Roles")),
        service_roles=split_roles(_header(environ, "X-Service-Roles")),
        auth_token=_header(environ, "X-Auth-Token"),
        request_id=request_id,
        system_scope=(_header(environ, "OpenStack-System-Scope")
                      or _header(environ, "X-System-Scope") or None),
        domain_id=_header(environ, "X-Domain-Id") or None,
        service_catalog=parse_catalog(_header(environ, "X-Service-Catalog")))


def _drop_identity_headers(environ):
    for name in IDENTITY_HEADERS:
        environ.pop("HTTP_" + name.upper().replace("-", "_"), None)


class ContextMiddleware:
    """WSGI middleware that puts a RequestContext into the environ.

    ``keystone=True`` means an ``auth_token`` middleware sits in front: only
    ``X-Identity-Status: Confirmed`` requests get through, anything else is
    answered with 401.  Without it, see the module docstring.
    """

    def __init__(self, app, conf, keystone=False):
        self.app = app
        self.keystone = keystone
        noauth = conf.noauth
        # Parsed at start so a malformed map fails the service, not a call.
        self.token_map = parse_token_map(noauth.token_map)
        # With a token map the token alone decides: headers are never
        # trusted then, whatever trust_identity_headers says.
        self.trust_headers = (noauth.trust_identity_headers
                              and not self.token_map)
        self.default_identity = (noauth.default_project_id,
                                 noauth.default_user_id,
                                 tuple(r.strip().lower()
                                       for r in noauth.default_roles
                                       if r.strip()))

    def __call__(self, environ, start_response):
        context = self.context_for(environ)
        if context is None:
            status, headers, body = _unauthorized(environ)
            start_response(status, headers)
            return [body]
        environ[ENVIRON_KEY] = context
        return self.app(environ, start_response)

    def context_for(self, environ):
        """The caller's context, or None when it must be refused (401)."""
        request_id = environ.get(REQUEST_ID_KEY)
        if self.keystone:
            # auth_token stripped every identity header the client sent and
            # set X-Identity-Status itself: Confirmed, or Invalid (no token
            # or one it could not validate) passed on by
            # delay_auth_decision.  Only Confirmed is an identity.
            if _header(environ, "X-Identity-Status") != CONFIRMED:
                return None
            context = _context_from_confirmed_headers(environ, request_id)
        else:
            context = self._embedded_context(environ, request_id)
            if context is None:
                return None
        if context.request_id is None:
            # Used outside RequestId (tests, tools): make one up.
            context.request_id = RequestContext().request_id
        return context

    def _embedded_context(self, environ, request_id):
        token = _header(environ, "X-Auth-Token")
        if self.token_map:
            # The token decides, alone: identity headers never add to or
            # override a mapped token, and an unmapped one is refused.
            _drop_identity_headers(environ)
            identity = self.token_map.get(token) if token else None
            if identity is None:
                return None
            project, user, roles = identity
            return RequestContext(project_id=project, user_id=user,
                                  roles=roles, auth_token=token,
                                  request_id=request_id)
        if not self.trust_headers:
            _drop_identity_headers(environ)
        status = _header(environ, "X-Identity-Status")
        if status is not None:
            # Compared as keystonemiddleware sets it: exactly "Confirmed",
            # anything else ("Invalid", "confirmed", "") is a caller whose
            # token was not confirmed.
            if status != CONFIRMED:
                return None
            return _context_from_confirmed_headers(environ, request_id)
        project, user, roles = self.default_identity
        return RequestContext(project_id=project, user_id=user, roles=roles,
                              auth_token=token, request_id=request_id)


def _keystone_auth_protocol(app, conf):
    """keystonemiddleware's auth_token configured from our ConfigOpts."""
    # Imported here: keystonemiddleware is only needed in keystone mode and
    # pulls in a lot at import time.
    from keystonemiddleware import auth_token

    protocol = auth_token.AuthProtocol(app, {
        # Read [keystone_authtoken] from the service's own config file
        # rather than the global cfg.CONF.
        "oslo_config_config": conf,
        # As Glance's paste pipeline: let us answer the 401 so its body is
        # Glance's WebOb one (auth_token adds WWW-Authenticate).
        "delay_auth_decision": True,
    })
    _check_token_cache(conf)
    return protocol


def _check_token_cache(conf):
    """keystonemiddleware imports python-memcached only at the first
    token it validates when ``[keystone_authtoken] memcached_servers`` is
    set (devstack sets it): missing, every request would be a 500.  Say
    so at start instead (the ``keystone`` extra installs it)."""
    if not conf.keystone_authtoken.memcached_servers:
        return
    try:
        import memcache  # noqa: F401
    except ImportError:
        raise ConfigError(
            "[keystone_authtoken] memcached_servers is set but "
            "python-memcached is not installed: pip install "
            "python-memcached (or glare[keystone]), or remove the option "
            "to cache tokens in memory.")


def wrap(app, conf):
    """Put the authentication layer configured in ``conf`` around ``app``."""
    if uses_keystone(conf):
        inner = ContextMiddleware(app, conf, keystone=True)
        return _keystone_auth_protocol(inner, conf)
    return ContextMiddleware(app, conf)


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host in ("localhost", "localhost.localdomain")


def insecure_listen_warnings(conf):
    """What ``glare serve`` must shout about before it listens: the
    embedded mode's trust in identity headers, or its default admin
    identity for any token, on an address other hosts can reach."""
    if uses_keystone(conf) or _is_loopback(
            conf.bind_host):
        return []
    noauth = conf.noauth
    where = "%s:%d" % (conf.bind_host, conf.bind_port)
    warnings = []
    if noauth.trust_identity_headers and not noauth.token_map:
        warnings.append(
            "INSECURE: Glare listens on %s without Keystone and trusts "
            "identity headers ([noauth] trust_identity_headers = true): "
            "anyone who can reach this address can send "
            "'X-Identity-Status: Confirmed' and 'X-Roles: admin' and act as "
            "any project.  Use [paste_deploy] flavor = keystone, set "
            "[noauth] token_map, or set trust_identity_headers = false "
            "behind a proxy that authenticates." % where)
    if not noauth.token_map:
        warnings.append(
            "INSECURE: Glare listens on %s without Keystone and without "
            "[noauth] token_map: every request without identity headers "
            "acts as project %s with roles %s." % (
                where, noauth.default_project_id,
                ",".join(noauth.default_roles)))
    return warnings


def get_context(environ):
    """The context ``ContextMiddleware`` stored, or None."""
    return environ.get(ENVIRON_KEY)


def _unauthorized(environ):
    """The 401 in the error format of the API the request was for."""
    if artifact_errors.owns(environ.get("PATH_INFO", "")):
        body = json.dumps({"error": {
            "code": 401, "title": "Unauthorized",
            "message": "The request needs a valid token."}}).encode()
        return "401 Unauthorized", [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(body)))], body
    return glance_errors.error_response(environ, 401)
