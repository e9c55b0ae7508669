"""Make a small, realistic Glance deployment through a REAL Glance's API.

The fixture of the end-to-end migration test (test_migrate_glance_e2e.py),
kept as a script so the same deployment can be made by hand::

    python -m tests.integration.glance_deployment --workdir /tmp/gd \\
        [--db-url mysql+pymysql://root@127.0.0.1:3306/glance_x]

starts real Glance 33 (``conformance.glance_runner``, its venv in
.cache/glance-venv) with ``STORE_CONFIG`` (two file stores ``fast`` and
``cold``, an ``http`` store ``web``, delayed delete on), a local web
server for the http location, makes the deployment and prints its manifest
(JSON) and the URLs, then serves until interrupted.

What ``make()`` makes, acting as three projects and an admin with the
trusted identity headers the runner's pipeline accepts (as keystonemiddleware
would set them): images in every status Glance has -- ``queued``,
``active``, ``deactivated``, ``uploading`` (data staged), ``deleted``,
``pending_delete`` (delayed delete of an image with data) through the API;
``saving``, ``importing`` and ``killed`` with SQL on Glance's database, as
Glance's API shows them only while a request or task is running (saving,
importing) or never (killed) -- all four visibilities, members accepted,
pending and rejected, a protected image, a hidden one, tags, many
properties (a 12 KB value, non-ASCII values), an image with two
locations in the two file stores (uploaded to ``fast``, copied to ``cold``
by copy-image) and one whose only location is an http URL; two metadata
definition namespaces (one with an object, properties, tags and a
resource type association, one private).  Every image with data gets a
few dozen KB: the fixture is for CI.

``change()`` is the "live" step between two migration runs: one new image,
one new member, one property edit and one deletion, through the API
(and a metadef tag).
"""

import argparse
import json
import os
import sys
import time

import requests
import sqlalchemy as sa

PATCH = "application/openstack-images-v2.1-json-patch"
# Keystone-style project ids (32 hex digits), one per tenant of the fixture.
ALPHA = "a1" * 16
BETA = "b2" * 16
GAMMA = "c3" * 16
DELTA = "d4" * 16
PROJECTS = (ALPHA, BETA, GAMMA, DELTA)
ADMIN_PROJECT = "ad" * 16

# The store text Glance gets, and Glare too (same store ids, the same
# directories: Glare serves Glance's files where they are).
STORE_DEFAULTS = """\
enabled_backends = fast:file, cold:file, web:http
enabled_import_methods = [glance-direct,copy-image]
show_image_direct_url = true
show_multiple_locations = true
delayed_delete = true
"""

STORE_SECTIONS = """\
[glance_store]
default_backend = fast

[fast]
filesystem_store_datadir = {workdir}/stores/fast/
store_description = Fast disks

[cold]
filesystem_store_datadir = {workdir}/stores/cold/
store_description = Cold disks

[web]
store_description = Web server

[os_glance_staging_store]
filesystem_store_datadir = {workdir}/staging/

[os_glance_tasks_store]
filesystem_store_datadir = {workdir}/tasks/
"""

# Glance 33 checks an http location's host as it checks web-download's
# (loopback refused unless allowed); Glare checks no location it migrates.
GLANCE_URL_FILTER = """
[import_filtering_opts]
allowed_hosts = [127.0.0.1]
allowed_ports = [{web_port}]
"""


def store_config(workdir, web_port=None):
    """(lines for [DEFAULT], sections) of both servers, the store
    directories under ``workdir`` made here; ``web_port``: Glance's, with
    the port of the web server of the http location."""
    workdir = os.path.abspath(workdir)
    for sub in ("stores/fast", "stores/cold", "staging", "tasks"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    sections = STORE_SECTIONS.format(workdir=workdir)
    if web_port:
        sections += GLANCE_URL_FILTER.format(web_port=web_port)
    return STORE_DEFAULTS, sections


def headers(project, roles="member,reader"):
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
            "X-User-Id": "user-" + project[:8], "X-Roles": roles}


ADMIN = headers(ADMIN_PROJECT, "admin,member,reader")


class Api:
    """Glance's Image API v2 as a project; every call checks its status."""

    def __init__(self, url, project=None, admin=False):
        self.url = url
        self.session = requests.Session()
        self.session.headers.update(ADMIN if admin else headers(project))

    def call(self, method, path, expect, **kwargs):
        resp = self.session.request(method, self.url + path, timeout=60,
                                    **kwargs)
        if resp.status_code != expect:
            raise AssertionError("%s %s: %d %s" % (
                method, path, resp.status_code, resp.text[:500]))
        return resp.json() if resp.content and "json" in resp.headers.get(
            "Content-Type", "") else resp

    def create(self, **body):
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        return self.call("POST", "/v2/images", 201, json=body)["id"]

    def upload(self, image_id, data, store=None):
        extra = {"X-Image-Meta-Store": store} if store else {}
        self.call("PUT", "/v2/images/%s/file" % image_id, 204, data=data,
                  headers=dict(extra, **{
                      "Content-Type": "application/octet-stream"}))

    def stage(self, image_id, data):
        self.call("PUT", "/v2/images/%s/stage" % image_id, 204, data=data,
                  headers={"Content-Type": "application/octet-stream"})

    def patch(self, image_id, *ops):
        return self.call("PATCH", "/v2/images/%s" % image_id, 200,
                         data=json.dumps(list(ops)),
                         headers={"Content-Type": PATCH})

    def show(self, image_id):
        return self.call("GET", "/v2/images/%s" % image_id, 200)

    def delete(self, image_id):
        self.call("DELETE", "/v2/images/%s" % image_id, 204)

    def add_member(self, image_id, member):
        self.call("POST", "/v2/images/%s/members" % image_id, 200,
                  json={"member": member})

    def set_member(self, image_id, member, status):
        self.call("PUT", "/v2/images/%s/members/%s" % (image_id, member),
                  200, json={"status": status})


def _blob(label, size):
    """Deterministic bytes (a re-made fixture has the same hashes)."""
    seed = label.encode("utf-8")
    out = bytearray()
    while len(out) < size:
        out += seed + len(out).to_bytes(4, "big")
    return bytes(out[:size])


def _tasks_done(api, image_id, timeout=60):
    """The image once no import task of it is running (shown briefly:
    the image is large)."""
    deadline = time.time() + timeout
    while True:
        time.sleep(0.5)
        image = api.show(image_id)
        tasks = api.call("GET", "/v2/images/%s/tasks" % image_id,
                         200)["tasks"]
        if "os_glance_import_task" not in image and all(
                t["status"] in ("success", "failure") for t in tasks):
            return image
        if time.time() > deadline:
            raise AssertionError("import of %s still running: %s" % (
                image_id, [t["status"] for t in tasks]))


def copy_image(api, image_id, store, attempts=4):
    """copy-image into ``store``, waited for.  Glance on SQLite fails the
    copy now and then with "database is locked" (its task's threads race
    for the write lock): the copy is asked again, as an operator would."""
    for _ in range(attempts):
        api.call("POST", "/v2/images/%s/import" % image_id, 202, json={
            "method": {"name": "copy-image"}, "stores": [store]})
        image = _tasks_done(api, image_id)
        if store in image.get("stores", "").split(","):
            return image
    raise AssertionError("copy-image of %s into %s failed %d times"
                         % (image_id, store, attempts))


def _set_status(db_url, statuses):
    """Statuses Glance's API does not leave behind, set as Glance's own
    code would leave them (a crashed upload: saving; a running import:
    importing; a failed upload of the old v1 path: killed)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            for image_id, status in statuses.items():
                conn.execute(sa.text("UPDATE images SET status = :s WHERE "
                                     "id = :i"), {"s": status, "i": image_id})
    finally:
        engine.dispose()


def make(url, db_url, web):
    """Make the deployment on the Glance at ``url`` (its database at
    ``db_url``); ``web``: a tests.web_source.WebSource serving the http
    location.  Returns the manifest: ``images`` (label -> id), ``data``
    (label -> bytes of the images with data), ``projects``."""
    admin = Api(url, admin=True)
    alpha, beta, gamma = Api(url, ALPHA), Api(url, BETA), Api(url, GAMMA)
    delta = Api(url, DELTA)
    ids, data = {}, {}

    def with_data(label, api, store=None, size=48 * 1024, **body):
        image_id = api.create(**body)
        data[label] = _blob(label, size)
        api.upload(image_id, data[label], store)
        ids[label] = image_id
        return image_id

    # Public (admin publishes), in both file stores, many properties.
    big = "é" * 6144                                # 12 KB of UTF-8
    props = {"prop_%02d" % n: "value %d ü" % n for n in range(20)}
    props.update(os_distro="cirros", hw_disk_bus="virtio",
                 description=big, note="Grüße, 東京, ✓")
    with_data("public", admin, name="cirros-0.6 (public)",
              visibility="public", tags=["gold", "ü-tag", "base"],
              min_disk=1, min_ram=64, **props)
    # Waited for: the task writes the database in other threads, and
    # Glance on SQLite answers 500 ("database is locked") under that.
    copy_image(admin, ids["public"], "cold")
    # Shared by alpha: beta accepted, gamma pending, delta rejected.
    with_data("shared", alpha, name="shared-by-alpha",
              visibility="shared", tags=["team"], owner_note="för beta")
    for member in (BETA, GAMMA, DELTA):
        alpha.add_member(ids["shared"], member)
    beta.set_member(ids["shared"], BETA, "accepted")
    delta.set_member(ids["shared"], DELTA, "rejected")
    # A shared image with no members yet (the live step adds one).
    with_data("shared-later", alpha, name="shared-later", size=20000,
              visibility="shared")
    # Private and protected, uploaded into the cold store.
    with_data("protected", beta, store="cold", name="beta-protected",
              visibility="private", protected=True, os_version="22.04")
    with_data("community", gamma, name="gamma-community",
              visibility="community", container_format="ovf")
    with_data("hidden", alpha, name="alpha-hidden", os_hidden=True,
              size=10000)
    with_data("deactivated", alpha, name="alpha-deactivated", size=30000)
    admin.call("POST", "/v2/images/%s/actions/deactivate"
               % ids["deactivated"], 204)
    # queued (no data), with properties and tags.
    ids["queued"] = alpha.create(name="alpha-queued", tags=["empty"],
                                 visibility="private", hw_cdrom_bus="ide")
    # uploading: data staged for an interoperable import.
    ids["uploading"] = alpha.create(name="alpha-staged")
    alpha.stage(ids["uploading"], _blob("staged", 5000))
    # The only location is an http URL (Glance's web store).
    data["http"] = _blob("http", 40000)
    web.files["http-image"] = data["http"]
    ids["http"] = admin.create(name="on-the-web", visibility="public")
    admin.patch(ids["http"], {"op": "add", "path": "/locations/-", "value": {
        "url": web.url("/data/http-image"),
        "metadata": {"store": "web"}}})
    # Deleted (queued: plain deleted) and pending_delete (had data).
    ids["deleted"] = alpha.create(name="alpha-deleted")
    alpha.delete(ids["deleted"])
    with_data("pending_delete", alpha, name="alpha-pending", size=9000)
    alpha.delete(ids["pending_delete"])
    del data["pending_delete"]
    # Statuses only SQL leaves behind (see _set_status).
    for status in ("saving", "importing", "killed"):
        ids[status] = beta.create(name="beta-" + status)
    _set_status(db_url, {ids[s]: s for s in ("saving", "importing",
                                              "killed")})
    return {"images": ids, "data": data, "projects": list(PROJECTS),
            "namespaces": _metadefs(admin)}


def _metadefs(admin):
    """Two namespaces (one public with an object, properties, tags and a
    resource type association; one private of alpha's); their names."""
    admin.call("POST", "/v2/metadefs/namespaces", 201, json={
        "namespace": "E2E::Hardware", "display_name": "Hardwäre",
        "description": "Made by the end-to-end fixture ✓",
        "visibility": "public", "protected": True,
        "properties": {"hw_rng": {"title": "RNG", "type": "boolean"},
                       "hw_bus": {"title": "Bus", "type": "string",
                                  "enum": ["virtio", "scsi"]}},
        "objects": [{"name": "CPU", "required": ["cores"],
                     "properties": {"cores": {"title": "Cores",
                                              "type": "integer",
                                              "minimum": 1}}}],
        "tags": [{"name": "fast"}, {"name": "ünicode"}]})
    admin.call("POST", "/v2/metadefs/namespaces/E2E::Hardware/"
               "resource_types", 201, json={"name": "OS::Glance::Image",
                                            "prefix": "hw_"})
    admin.call("POST", "/v2/metadefs/namespaces", 201, json={
        "namespace": "E2E::Alpha", "owner": ALPHA,
        "visibility": "private"})
    return ["E2E::Hardware", "E2E::Alpha"]


def change(url, manifest):
    """The live step: a new image, a new member, a property edit and a
    deletion.  Returns the ids these touched (new image first)."""
    alpha, admin = Api(url, ALPHA), Api(url, admin=True)
    ids, data = manifest["images"], manifest["data"]
    new = alpha.create(name="alpha-new", visibility="shared",
                       tags=["new"], purpose="live step")
    data["new"] = _blob("new", 12345)
    alpha.upload(new, data["new"])
    ids["new"] = new
    alpha.add_member(ids["shared-later"], GAMMA)
    admin.patch(ids["public"], {"op": "replace", "path": "/os_distro",
                                "value": "cirros-edited"},
                {"op": "add", "path": "/edited_at", "value": "now ✓"})
    alpha.delete(ids["hidden"])
    del data["hidden"]
    admin.call("POST", "/v2/metadefs/namespaces/E2E::Alpha/tags/later",
               201)
    return [new, ids["shared-later"], ids["public"], ids["hidden"]]


def main(argv=None):
    from conformance import glance_runner
    from tests.web_source import web_source
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args(argv)
    workdir = os.path.abspath(args.workdir)
    with web_source() as web, glance_runner.glance_process(
            workdir, db_url=args.db_url,
            store_config=store_config(workdir, web.port)) as glance:
        manifest = make(glance.url, glance.db_url, web)
        print(json.dumps({"glance": glance.url, "db_url": glance.db_url,
                          "config": glance.config,
                          "images": manifest["images"]}, indent=2),
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
