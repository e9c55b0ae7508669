"""A Keystone /v3 played by requests-mock for oslo.limit: password auth,
the endpoint, /v3/limits/model, /v3/registered_limits and /v3/limits
(``FakeKeystone``), and the ``[oslo_limit]`` options that point at it."""

import requests_mock

KEYSTONE = "http://keystone.test:5000"
ENDPOINT_ID = "e-glare"
SERVICE_ID = "s-image"
REGION = "RegionOne"


def _token(request, context):
    context.headers["X-Subject-Token"] = "tok-1"
    context.status_code = 201
    return {"token": {
        "methods": ["password"], "expires_at": "2999-01-01T00:00:00Z",
        "user": {"id": "u-glare", "name": "glare",
                 "domain": {"id": "default", "name": "Default"}},
        "project": {"id": "p-service", "name": "service",
                    "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r1", "name": "reader"}],
        "catalog": [{"type": "identity", "id": "s-identity",
                     "name": "keystone", "endpoints": [
                         {"id": "e-ks", "interface": interface,
                          "region": REGION, "region_id": REGION,
                          "url": KEYSTONE + "/v3"}
                         for interface in ("public", "internal", "admin")]}],
    }}


class FakeKeystone:
    """The registered limits and project limits a test sets; counts the
    /v3/limits reads."""

    def __init__(self, mock):
        self.registered = {}
        self.project = {}          # (project_id, name) -> limit
        self.reads = 0
        self.mock = mock
        mock.get(KEYSTONE, json={"versions": {"values": [{
            "id": "v3.14", "status": "stable", "links": [
                {"rel": "self", "href": KEYSTONE + "/v3/"}]}]}})
        mock.get(KEYSTONE + "/v3", json={"version": {
            "id": "v3.14", "status": "stable", "links": [
                {"rel": "self", "href": KEYSTONE + "/v3/"}]}})
        mock.post(KEYSTONE + "/v3/auth/tokens", json=_token)
        mock.get(KEYSTONE + "/v3/limits/model", json={
            "model": {"name": "flat", "description": "flat"}})
        mock.get(KEYSTONE + "/v3/endpoints/" + ENDPOINT_ID, json={
            "endpoint": {"id": ENDPOINT_ID, "service_id": SERVICE_ID,
                         "region_id": REGION, "interface": "public",
                         "url": "http://glare.test:9292",
                         "enabled": True}})
        mock.get(KEYSTONE + "/v3/registered_limits", json=self._registered)
        mock.get(KEYSTONE + "/v3/limits", json=self._limits)

    def _registered(self, request, context):
        assert request.qs.get("service_id") == [SERVICE_ID.lower()]
        return {"registered_limits": [
            {"id": "rl-" + name, "service_id": SERVICE_ID,
             "region_id": REGION, "resource_name": name,
             "default_limit": value}
            for name, value in self.registered.items()],
            "links": {"self": None, "next": None, "previous": None}}

    def _limits(self, request, context):
        self.reads += 1
        wanted = request.qs.get("project_id", [None])[0]
        return {"limits": [
            {"id": "l-%s-%s" % (p, name), "service_id": SERVICE_ID,
             "region_id": REGION, "project_id": p, "resource_name": name,
             "resource_limit": value}
            for (p, name), value in self.project.items() if p == wanted],
            "links": {"self": None, "next": None, "previous": None}}




OSLO_LIMIT = (
    "[oslo_limit]\n"
    "endpoint_id = %s\n"
    "auth_type = password\n"
    "auth_url = %s/v3\n"
    "username = glare\n"
    "password = secret\n"
    "user_domain_id = default\n"
    "project_name = service\n"
    "project_domain_id = default\n" % (ENDPOINT_ID, KEYSTONE))


def forget_session():
    """Drop the Keystone session oslo.limit keeps for the process."""
    from oslo_limit import limit
    limit._SDK_CONNECTION = None


__all__ = ["FakeKeystone", "KEYSTONE", "OSLO_LIMIT", "forget_session",
           "requests_mock"]
