"""Helpers of the metadata definition checks (test_metadefs*.py).

Namespaces are made by the admin of project A (Glance's default policy
lets only administrators change metadata definitions) with fresh names,
and removed at the end of each test even when protected.
"""

import re
import uuid

import pytest

NAMESPACES = "/v2/metadefs/namespaces"
NO_ACCEPT = {"Accept": None}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def fresh(prefix="conf-ns"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def message(resp):
    """The message of a text/plain error body (requests made with
    ``headers=NO_ACCEPT``): WebOb's "<status>\\n\\n<message>\\n\\n   "."""
    assert resp.headers["Content-Type"].startswith("text/plain"), \
        resp.headers["Content-Type"]
    return resp.text.split("\n\n")[1]


def expect(resp, status, text=None):
    """``resp`` has ``status`` and, when given, the message ``text``."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    if text is not None:
        assert message(resp) == text
    return resp


def ns_path(name, *rest):
    return "/".join((NAMESPACES, name) + rest)


class Namespaces:
    """Creates namespaces and deletes them afterwards."""

    def __init__(self, admin):
        self.admin = admin
        self.names = []

    def create(self, client=None, expected=201, **body):
        body.setdefault("namespace", fresh())
        resp = (client or self.admin).post(NAMESPACES, json=body,
                                           headers=NO_ACCEPT)
        if resp.status_code == 201:
            self.names.append(body["namespace"])
        assert resp.status_code == expected, (resp.status_code, resp.text)
        return resp.json() if expected == 201 else resp

    def cleanup(self):
        for name in reversed(self.names):
            resp = self.admin.get(ns_path(name))
            if resp.status_code != 200:
                continue
            doc = resp.json()
            if doc.get("protected"):
                self.admin.put(ns_path(name), json={
                    "namespace": name, "protected": False,
                    "visibility": doc["visibility"], "owner": doc["owner"]})
            self.admin.delete(ns_path(name))
        self.names = []


@pytest.fixture
def namespaces(admin):
    made = Namespaces(admin)
    yield made
    made.cleanup()
