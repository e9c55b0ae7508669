"""A Glare WSGI app (``glare.app.create_app``: auth, error handling and all)
on a temporary SQLite database and filesystem store, driven with
Werkzeug's test client.

``api`` is a client whose calls act as a project (``api.as_project``)
through the trusted identity headers; without one it is the embedded
default identity (an admin).  ``KINDS`` is a test type declaring one field
of every kind, registered for the module's lifetime.
"""

import json
import os
import types as pytypes

import pytest
from werkzeug.test import Client

from artifacts import types
from artifacts.types.base import Field, artifact_type
from glare import app as glare_app
from tests import wsgi_app

KINDS_NAME = "api_test_kinds"


def kinds_type():
    return artifact_type(KINDS_NAME, {
        "title": Field("string", max_length=20, sortable=True,
                       filter_ops=("eq", "neq", "in", "gt", "lt")),
        "code": Field("string", pattern=r"[a-z]+[0-9]*"),
        "flavor": Field("string", allowed=("vanilla", "mint")),
        "count": Field("integer", sortable=True, min_value=0,
                       filter_ops=("eq", "neq", "in", "gt", "gte", "lt",
                                   "lte")),
        "ratio": Field("numeric", filter_ops=("eq", "gt", "lt")),
        "enabled": Field("boolean", filter_ops=("eq",)),
        "frozen": Field("string", mutable=False),
        "required_text": Field("string", required_on_activate=True),
        "strict": Field("integer", nullable=False, default=1),
        "labels": Field("list", max_items=3),
        "numbers": Field("list", item_kind="integer"),
        "options": Field("dict", max_items=3),
        "link": Field("link"),
        "links": Field("link_list", max_items=2),
        "computed": Field("string", system=True),
        "file": Field("blob", max_size=64, required_on_activate=True,
                      mutable=False),
        "tree": Field("folder", max_items=5, max_size=1000, mutable=False),
    }, noun="test kind")


class ApiClient:
    def __init__(self, app, project=None, roles="member,reader"):
        self.client = Client(app)
        self.app = app
        self.project = project
        self.roles = roles

    def as_project(self, project, roles="member,reader"):
        return ApiClient(self.app, project, roles)

    def headers(self, extra=None):
        headers = {}
        if self.project:
            headers.update({"X-Identity-Status": "Confirmed",
                            "X-Project-Id": self.project,
                            "X-User-Id": "user-" + self.project,
                            "X-Roles": self.roles})
        headers.update(extra or {})
        return headers

    def open(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method,
                                headers=self.headers(headers), **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        if body is not None:
            kwargs.setdefault("data", json.dumps(body))
            kwargs.setdefault("content_type", "application/json")
        return self.open("POST", path, **kwargs)

    def patch(self, path, ops, **kwargs):
        kwargs.setdefault("content_type", "application/json-patch+json")
        return self.open("PATCH", path, data=json.dumps(ops), **kwargs)

    def put_data(self, path, data, **kwargs):
        kwargs.setdefault("content_type", "application/octet-stream")
        return self.open("PUT", path, data=data, **kwargs)

    def put_json(self, path, body, **kwargs):
        return self.open("PUT", path, data=json.dumps(body),
                         content_type="application/json", **kwargs)

    # Shortcuts.
    def create(self, type_name="heat_templates", expect=201, **body):
        resp = self.post("/artifacts/%s" % type_name, body)
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp.json

    def action(self, art, name):
        return self.post("/artifacts/%s/%s/actions/%s"
                         % (art["type_name"], art["id"], name))


@pytest.fixture(scope="module")
def glare(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("artifact-api")
    conf = wsgi_app.sqlite_conf(tmp)
    engine = wsgi_app.migrated_engine(conf)
    added = KINDS_NAME not in types.all_types()
    if added:
        types.register(kinds_type())
    try:
        yield pytypes.SimpleNamespace(app=glare_app.create_app(conf, engine),
                                      engine=engine, datadir=tmp / "images",
                                      conf=conf)
    finally:
        if added:
            types._TYPES.pop(KINDS_NAME, None)
        engine.db.dispose()


@pytest.fixture(scope="module")
def api(glare):
    return ApiClient(glare.app)


def stored_files(datadir):
    """Regular files of the store, temporary ones excluded."""
    found = []
    for root, dirs, files in os.walk(datadir):
        if ".tmp" in root.split(os.sep):
            continue
        found.extend(os.path.join(root, f) for f in files)
    return found
