"""Who is calling: turn a request into an ``artifacts.context.RequestContext``.

Two modes, chosen by ``[paste_deploy] flavor`` as in Glance:

``""`` (embedded, the default)
    No Keystone.  Identity comes, in order, from trusted keystonemiddleware
    style headers (``X-Identity-Status: Confirmed`` plus ``X-Project-Id``,
    ``X-User-Id``, ``X-Roles`` ...; meant for a trusted front proxy or
    tests), from ``X-Auth-Token`` looked up in ``[noauth] token_map``, or
    from the ``[noauth] default_*`` identity.  The defaults give admin,
    member and reader so ``glance --os-image-url ... --os-auth-token x
    image-list`` works out of the box.

``"keystone"``
    keystonemiddleware's ``auth_token`` validates the token (configured
    from ``[keystone_authtoken]`` in the same config file, with
    ``delay_auth_decision`` on like Glance's paste pipeline) and we trust
    only the headers it set.  A request it could not confirm gets Glance's
    WebOb 401; ``auth_token`` then adds ``WWW-Authenticate`` on the way
    out, as it does for Glance.

The context is stored in ``environ['glare.context']``; its ``request_id`` is
the one ``glare.middleware.RequestId`` put in
``environ['openstack.request_id']``.
"""

import json

from artifacts.api import errors as artifact_errors
from artifacts.context import RequestContext
from glance_compat import errors as glance_errors
from glare.config import ConfigError

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


def _context_from_confirmed_headers(environ, request_id):
    """Context from the headers keystonemiddleware sets on success."""
    return RequestContext(
        project_id=(_header(environ, "X-Project-Id")
                    or _header(environ, "X-Tenant-Id") or None),
        user_id=_header(environ, "X-User-Id") or None,
        roles=split_roles(_header(environ, "X-Roles")),
        service_roles=split_roles(_header(environ, "X-Service-Roles")),
        auth_token=_header(environ, "X-Auth-Token"),
        request_id=request_id)


class ContextMiddleware:
    """WSGI middleware that puts a RequestContext into the environ.

    ``keystone=True`` means an ``auth_token`` middleware sits in front: only
    ``X-Identity-Status: Confirmed`` requests get through, anything else is
    answered with 401.
    """

    def __init__(self, app, conf, keystone=False):
        self.app = app
        self.keystone = keystone
        noauth = conf.noauth
        # Parsed at start so a malformed map fails the service, not a call.
        self.token_map = parse_token_map(noauth.token_map)
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
        confirmed = _header(environ, "X-Identity-Status") == "Confirmed"
        if confirmed:
            context = _context_from_confirmed_headers(environ, request_id)
        elif self.keystone:
            # auth_token stripped every identity header the client sent and
            # could not confirm the token: nothing here can be trusted.
            return None
        else:
            context = self._embedded_context(environ, request_id)
        if context.request_id is None:
            # Used outside RequestId (tests, tools): make one up.
            context.request_id = RequestContext().request_id
        return context

    def _embedded_context(self, environ, request_id):
        token = _header(environ, "X-Auth-Token")
        project, user, roles = self.token_map.get(token,
                                                  self.default_identity)
        return RequestContext(project_id=project, user_id=user, roles=roles,
                              auth_token=token, request_id=request_id)


def _keystone_auth_protocol(app, conf):
    """keystonemiddleware's auth_token configured from our ConfigOpts."""
    # Imported here: keystonemiddleware is only needed in keystone mode and
    # pulls in a lot at import time.
    from keystonemiddleware import auth_token

    return auth_token.AuthProtocol(app, {
        # Read [keystone_authtoken] from the service's own config file
        # rather than the global cfg.CONF.
        "oslo_config_config": conf,
        # As Glance's paste pipeline: let us answer the 401 so its body is
        # Glance's WebOb one (auth_token adds WWW-Authenticate).
        "delay_auth_decision": True,
    })


def wrap(app, conf):
    """Put the authentication layer configured in ``conf`` around ``app``."""
    flavor = conf.paste_deploy.flavor
    if flavor == "keystone":
        inner = ContextMiddleware(app, conf, keystone=True)
        return _keystone_auth_protocol(inner, conf)
    if flavor:
        raise ConfigError("Invalid value for [paste_deploy] flavor: %r "
                          "(use '' or 'keystone')." % flavor)
    return ContextMiddleware(app, conf)


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
