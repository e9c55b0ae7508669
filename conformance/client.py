"""HTTP clients of the conformance suite: one per identity, nothing else.

Only ``requests``: the suite must never need a server's internals.
"""

import json
import uuid

import requests

PATCH_V21 = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"

# Ids the clients are known by in the report and in skip messages.
ADMIN_A, MEMBER_A, READER_A, MEMBER_B = ("admin_a", "member_a", "reader_a",
                                         "member_b")


def unique(prefix="c"):
    """A fresh name, so tests never see each other's images."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


# ---------------------------------------------------------------- identities


class Identity:
    """Who a client is: trusted headers, or a token."""

    def __init__(self, name, project_id=None, user_id=None, roles=(),
                 token=None, anonymous=False):
        self.name = name
        self.anonymous = anonymous
        self.project_id = project_id
        self.user_id = user_id
        self.roles = tuple(roles)
        self.token = token

    def headers(self):
        if self.anonymous:
            return {}
        if self.token is not None:
            return {"X-Auth-Token": self.token}
        return {"X-Identity-Status": "Confirmed",
                "X-Project-Id": self.project_id,
                "X-User-Id": self.user_id,
                "X-Roles": ",".join(self.roles)}

    def __repr__(self):
        return "<Identity %s project=%s>" % (self.name, self.project_id)


class Tracker:
    """Images created during one test (or module), deleted afterwards."""

    def __init__(self):
        self.created = []

    def add(self, client, image_id):
        self.created.append((client, image_id))

    def cleanup(self, admin=None):
        for client, image_id in reversed(self.created):
            for who in ([admin] if admin else []) + [client]:
                if _delete_image(who, image_id):
                    break
        self.created = []


def _delete_image(client, image_id):
    """Best effort: unprotect, delete; True when the image is gone."""
    path = "/v2/images/%s" % image_id
    try:
        client.patch_image(image_id, [{"op": "replace", "path": "/protected",
                                       "value": False}])
        resp = client.delete(path)
        if resp.status_code in (204, 404):
            return True
    except requests.RequestException:
        pass
    return False


class Client:
    """A requests session acting as one identity against the endpoint."""

    def __init__(self, endpoint, identity, tracker):
        self.endpoint = endpoint.rstrip("/")
        self.identity = identity
        self.tracker = tracker
        self.session = requests.Session()

    def __repr__(self):
        return "<Client %s>" % self.identity.name

    @property
    def project_id(self):
        return self.identity.project_id

    def url(self, path):
        return self.endpoint + path

    def request(self, method, path, headers=None, auth=True, **kwargs):
        """``auth=False`` sends no identity at all."""
        hdrs = self.identity.headers() if auth else {}
        hdrs.update(headers or {})
        kwargs.setdefault("timeout", 60)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.url(path), headers=hdrs,
                                    **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ------------------------------------------------------ image helpers

    def create_image_raw(self, body, **kw):
        """POST /v2/images; a 201 is tracked for cleanup."""
        resp = self.post("/v2/images", json=body, **kw)
        if resp.status_code == 201:
            self.tracker.add(self, resp.json()["id"])
        return resp

    def create_image(self, **body):
        body.setdefault("name", "conformance-" + uuid.uuid4().hex[:8])
        resp = self.create_image_raw(body)
        assert resp.status_code == 201, (resp.status_code, resp.text)
        return resp.json()

    def show(self, image_id):
        resp = self.get("/v2/images/%s" % image_id)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return resp.json()

    def patch_image(self, image_id, ops, media_type=PATCH_V21, **kw):
        return self.patch("/v2/images/%s" % image_id,
                          data=json.dumps(ops),
                          headers={"Content-Type": media_type}, **kw)

    def upload(self, image_id, data, chunked=False, headers=None):
        """PUT /file; ``chunked`` sends Transfer-Encoding: chunked."""
        hdrs = {"Content-Type": "application/octet-stream"}
        hdrs.update(headers or {})
        body = data
        if chunked:
            body = _chunks(data, 65536)
        return self.put("/v2/images/%s/file" % image_id, data=body,
                        headers=hdrs)

    def create_active(self, data=b"0123456789", **body):
        """A raw/bare image with ``data`` uploaded (status active)."""
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        image = self.create_image(**body)
        resp = self.upload(image["id"], data)
        assert resp.status_code == 204, (resp.status_code, resp.text)
        return self.show(image["id"])

    def list_ids(self, params=None, **kw):
        """Every id of GET /v2/images (following ``next``)."""
        ids = []
        path = "/v2/images"
        resp = self.get(path, params=params, **kw)
        while True:
            assert resp.status_code == 200, (resp.status_code, resp.text)
            body = resp.json()
            ids.extend(i["id"] for i in body["images"])
            if "next" not in body:
                return ids
            resp = self.get(body["next"], **kw)


def _chunks(data, size):
    def gen():
        for i in range(0, len(data), size):
            yield data[i:i + size]
    return gen()
