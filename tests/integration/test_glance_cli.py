"""The ``glance`` CLI (python-glanceclient's shell) as a subprocess.

Token + ``--os-image-url`` mode: the CLI discovers the version with
``GET /versions``, caches the image schema under ``$HOME/.glanceclient``
(a fresh temporary HOME per module, so the cache is always built from this
server's schema) and builds its ``image-create``/``image-update`` options
from it.  Each invocation costs about a second, so they are kept few.
"""

import hashlib
import os

import pytest
import requests

from tests.integration.helpers import (ADMIN, create_image, glance_cli,
                                       parse_table, unique, upload)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def glance(server, tmp_path_factory):
    return glance_cli(server, tmp_path_factory.mktemp("glance-home"))


@pytest.fixture(scope="module")
def cli_image(glance, tmp_path_factory):
    """An image made by ``glance image-create --file``."""
    data = os.urandom(200 * 1024) + b"end"
    path = tmp_path_factory.mktemp("cli-data") / "disk.raw"
    path.write_bytes(data)
    name = unique("cli")
    proc = glance("image-create", "--file", str(path), "--name", name,
                  "--disk-format", "raw", "--container-format", "bare",
                  "--property", "os_distro=cirros",
                  "--property", "owner_specified.openstack.object=x/y")
    return {"table": parse_table(proc.stdout), "data": data, "name": name}


def test_image_create_with_file(glance, cli_image):
    table, data = cli_image["table"], cli_image["data"]
    assert table["name"] == cli_image["name"]
    assert table["status"] == "active"
    assert table["disk_format"] == "raw"
    assert table["container_format"] == "bare"
    assert table["os_distro"] == "cirros"
    assert table["owner_specified.openstack.object"] == "x/y"
    assert table["size"] == str(len(data))
    assert table["checksum"] == hashlib.md5(data).hexdigest()
    assert table["os_hash_algo"] == "sha512"
    assert table["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert table["visibility"] == "shared"
    # The schema was fetched from this server and cached in the fresh HOME.
    cached = list(glance.home.rglob("image_schema.json"))
    assert cached and '"name": "image"' in cached[0].read_text()


def test_image_list_and_show(glance, cli_image):
    image_id = cli_image["table"]["id"]
    listed = glance("image-list", "--property-filter",
                    "os_distro=cirros", "--page-size", "1")
    rows = parse_table(listed.stdout)
    assert rows.get(image_id) == cli_image["name"]

    shown = parse_table(glance("image-show", image_id).stdout)
    assert shown["id"] == image_id
    assert shown["status"] == "active"
    assert shown["os_distro"] == "cirros"

    missing = glance("image-show", "00000000-0000-0000-0000-000000000000",
                     check=False)
    assert missing.returncode != 0
    assert "404" in missing.stderr


def test_image_download_identical(glance, cli_image, tmp_path):
    out = tmp_path / "downloaded"
    glance("image-download", "--file", str(out), cli_image["table"]["id"])
    assert out.read_bytes() == cli_image["data"]


def test_image_update_property_and_tag(glance, server):
    image = create_image(server.url, name=unique("cli-upd"), color="red")
    proc = glance("image-update", "--property", "color=blue",
                  "--property", "size_class=small", "--min-ram", "64",
                  "--remove-property", "nope", image["id"])
    table = parse_table(proc.stdout)
    assert table["color"] == "blue"
    assert table["size_class"] == "small"
    assert table["min_ram"] == "64"

    proc = glance("image-tag-update", image["id"], "cli-tag")
    assert parse_table(proc.stdout) == {image["id"]: "['cli-tag']"}
    record = requests.get(server.url + "/v2/images/" + image["id"],
                          headers=ADMIN, timeout=30).json()
    assert record["tags"] == ["cli-tag"]
    assert record["color"] == "blue"
    assert record["min_ram"] == 64


def test_image_deactivate_reactivate(glance, server):
    image = create_image(server.url, name=unique("cli-deact"))
    assert upload(server.url, image["id"], b"data").status_code == 204
    url = server.url + "/v2/images/" + image["id"]

    proc = glance("image-deactivate", image["id"])
    assert proc.stdout.strip() == ""
    assert requests.get(url, headers=ADMIN).json()["status"] == "deactivated"

    glance("image-reactivate", image["id"])
    assert requests.get(url, headers=ADMIN).json()["status"] == "active"


def test_image_delete(glance, server):
    image = create_image(server.url, name=unique("cli-del"))
    assert upload(server.url, image["id"], b"gone soon").status_code == 204
    glance("image-delete", image["id"])
    resp = requests.get(server.url + "/v2/images/" + image["id"],
                        headers=ADMIN, timeout=30)
    assert resp.status_code == 404
    again = glance("image-delete", image["id"], check=False)
    assert again.returncode != 0
    assert "No image with an ID of '%s' exists." % image["id"] \
        in again.stderr
