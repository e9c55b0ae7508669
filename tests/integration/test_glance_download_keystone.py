"""glance-download through a real Keystone and python-glanceclient.

One Glare behind keystonemiddleware is registered in Keystone's catalog
twice: as RegionOne's image service and as RegionTwo's, so the catalog
keystonemiddleware passes (``X-Service-Catalog``) names a second region
whose Glance is reached with the caller's own Keystone token (validated
again there).  glanceclient's ``image_import(method='glance-download',
remote_region=..., remote_image_id=...)`` imports a project's active image
into a new one (tests/integration/test_glance_download.py covers the
failure cases with two servers).
"""

import hashlib
import io
import os
import time

import glanceclient
import pytest

from tests import keystone_server
from tests.conftest import database_url, glare_server
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration

DATA = os.urandom(1024 * 1024 + 3)
USERS = {"alice": ("proj-a", ["member", "reader"]),
         "glare": ("service", ["service"])}


@pytest.fixture(scope="module")
def keystone(tmp_path_factory):
    with keystone_server.keystone_with_users(
            tmp_path_factory.mktemp("keystone-gdl"), USERS) as ks:
        yield ks


@pytest.fixture(scope="module")
def glare(keystone, db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("glare-gdl-ks-%s" % db_kind)
    sections = (
        keystone.glare_sections("glare")
        # Its own loopback address, any port: the test's remote region.
        + "\n[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
        "allowed_ports =\n")
    extra = ("enabled_import_methods = [glance-direct,web-download,"
             "copy-image,glance-download]\n")
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections=sections) as srv:
            service = keystone.register_service("image", "glare", srv.url)
            keystone.add_region_endpoints(service, srv.url, "RegionTwo")
            yield srv


def test_glanceclient_imports_from_the_other_region(keystone, glare):
    sess = keystone.session("alice", keystone.passwords["alice"],
                            project="proj-a")
    gc = glanceclient.Client("2", session=sess)
    source = gc.images.create(name=unique("src"), disk_format="raw",
                              container_format="bare",
                              hw_disk_bus="scsi", architecture="x86_64")
    gc.images.upload(source.id, io.BytesIO(DATA))
    target = gc.images.create(name=unique("dst"), disk_format="qcow2",
                              container_format="ovf")
    gc.images.image_import(target.id, method="glance-download",
                           remote_region="RegionTwo",
                           remote_image_id=source.id)
    deadline = time.time() + 60
    while True:
        image = gc.images.get(target.id)
        if image.status in ("active", "queued") and not image.get(
                "os_glance_import_task"):
            break
        assert time.time() < deadline, image
        time.sleep(0.3)
    assert image.status == "active", \
        gc.images.get_associated_image_tasks(target.id)
    assert image.checksum == hashlib.md5(DATA).hexdigest()
    assert (image.disk_format, image.container_format) == ("raw", "bare")
    assert image.hw_disk_bus == "scsi" and "architecture" not in image
    assert b"".join(gc.images.data(target.id)) == DATA
