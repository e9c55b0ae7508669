"""Glance's import plugins through the real server and real clients.

One Glare per database with ``image_decompression``, ``image_conversion``
(to raw) and ``inject_image_metadata``; images are made by the real
qemu-img; web-download fetches from ``tests.web_source``.  A refused
import leaves the image ``queued`` with its task failed in Glance's words,
and nothing in the stores or the plugins' work directory.
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import time

import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import (ADMIN, GLANCE, create_image,
                                       data_files, get_image, parse_table,
                                       project_headers, unique)
from tests.integration.test_glanceclient import project_client
from tests.web_source import web_source

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    shutil.which("qemu-img") is None,
    reason="qemu-img (Debian qemu-utils) is not installed")]

MiB = 1 << 20
RAW = os.urandom(MiB) + b"\0" * (2 * MiB) + os.urandom(MiB // 2)
LIMIT = 16 * MiB
INJECT = {"site": "region-one", "hw_firmware_type": "uefi"}
MEMBER_PROJECT = "plugins-project"
MEMBER = project_headers(MEMBER_PROJECT)


def _qemu_img(*args):
    subprocess.run(("qemu-img",) + args, check=True, capture_output=True)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Image files made by qemu-img: the qcow2 of RAW, one with a backing
    file, and gzip bombs."""
    tmp = tmp_path_factory.mktemp("plugin-images")
    raw = tmp / "disk.raw"
    raw.write_bytes(RAW)
    files = {"raw": raw, "qcow2": tmp / "disk.qcow2",
             "backed": tmp / "backed.qcow2"}
    _qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw),
              str(files["qcow2"]))
    _qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname",
              str(files["backed"]))
    files["qcow2.gz"] = tmp / "disk.qcow2.gz"
    files["qcow2.gz"].write_bytes(gzip.compress(files["qcow2"].read_bytes()))
    files["bomb"] = tmp / "bomb.gz"
    with gzip.open(files["bomb"], "wb") as out:
        for _ in range(LIMIT // MiB + 8):
            out.write(b"\0" * MiB)
    return files


@pytest.fixture(scope="module")
def source(images):
    with web_source() as src:
        src.files["qcow2.gz"] = images["qcow2.gz"].read_bytes()
        src.files["bomb"] = images["bomb"].read_bytes()
        yield src


@pytest.fixture(scope="module")
def server(db_kind, source, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugins-%s" % db_kind)
    sections = (
        "[image_import_opts]\nimage_import_plugins = image_decompression,"
        "image_conversion,inject_image_metadata\n"
        "[image_conversion]\noutput_format = raw\n"
        "[inject_metadata_properties]\nignore_user_roles = admin\n"
        "inject = %s\n[glare]\nimport_plugin_max_bytes = %d\n"
        "[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
        "allowed_ports = %d\n" % (
            ",".join("%s:%s" % kv for kv in INJECT.items()), LIMIT,
            source.port))
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=sections) as srv:
            srv.work_dir = tmp / "import_work"
            yield srv


def _wait(url, image_id, headers=ADMIN, timeout=60):
    """The image once its import task has ended, and that task."""
    deadline = time.time() + timeout
    while True:
        image = get_image(url, image_id, headers).json()
        tasks = requests.get(url + "/v2/images/%s/tasks" % image_id,
                             headers=ADMIN, timeout=30).json()["tasks"]
        if tasks and tasks[-1]["status"] in ("success", "failure") and \
                not image.get("os_glance_import_task"):
            return image, tasks[-1]
        assert time.time() < deadline, (image, tasks)
        time.sleep(0.2)


def _assert_converted(server, image, headers=ADMIN):
    assert image["status"] == "active"
    assert (image["disk_format"], image["container_format"]) == ("raw",
                                                                 "bare")
    assert image["size"] == image["virtual_size"] == len(RAW)
    assert image["checksum"] == hashlib.md5(RAW).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(RAW).hexdigest()
    got = requests.get(server.url + "/v2/images/%s/file" % image["id"],
                       headers=headers, timeout=30)
    assert got.status_code == 200 and got.content == RAW


def _assert_nothing_left(server, image_id):
    assert data_files(server.datadir, image_id) == []
    left = [p for p in server.work_dir.rglob("*") if p.is_file()] \
        if server.work_dir.exists() else []
    assert left == []


def _assert_refused(server, image_id, message, headers=ADMIN):
    image, task = _wait(server.url, image_id, headers)
    assert task["status"] == "failure" and message in task["message"], task
    assert image["status"] == "queued"
    assert (image["size"], image["checksum"]) == (None, None)
    assert image["os_glance_importing_to_stores"] == ""
    assert image["os_glance_failed_import"] == ""
    _assert_nothing_left(server, image_id)
    return image


def test_cli_glance_direct_converts_qcow2_to_raw(server, images,
                                                 tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(tmp_path_factory.mktemp("cli-home"))
    # stdin closed: the CLI would take it for image data besides --file.
    proc = subprocess.run(
        [GLANCE, "--os-image-url", server.url, "--os-auth-token", "x",
         "image-create-via-import", "--name", unique("conv"),
         "--disk-format", "qcow2", "--container-format", "bare",
         "--import-method", "glance-direct", "--file", str(images["qcow2"])],
        env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.close(0))
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    out = parse_table(proc.stdout)
    image, task = _wait(server.url, out["id"])
    assert task["status"] == "success", task
    _assert_converted(server, image)
    # The CLI's identity is an admin: [inject_metadata_properties]
    # ignore_user_roles = admin.
    assert not set(INJECT) & set(image)
    _assert_only_the_image_store_holds(server, image["id"])


def _assert_only_the_image_store_holds(server, image_id):
    files = data_files(server.datadir, image_id)
    assert len(files) == 1 and files[0].read_bytes() == RAW


def test_glanceclient_member_gets_decompressed_converted_and_injected(
        server, images):
    gc = project_client(server, MEMBER_PROJECT)
    image = gc.images.create(name=unique("gz"), disk_format="qcow2",
                             container_format="bare")
    with open(images["qcow2.gz"], "rb") as data:
        gc.images.stage(image.id, data)
    gc.images.image_import(image.id, method="glance-direct")
    done, task = _wait(server.url, image.id, MEMBER)
    assert task["status"] == "success", task
    _assert_converted(server, done, MEMBER)
    assert {k: done.get(k) for k in INJECT} == INJECT
    _assert_only_the_image_store_holds(server, image.id)


def test_web_download_is_decompressed_and_converted(server, source):
    gc = project_client(server, MEMBER_PROJECT)
    image = gc.images.create(name=unique("web"), disk_format="qcow2",
                             container_format="bare")
    gc.images.image_import(image.id, method="web-download",
                           uri=source.url("/data/qcow2.gz"))
    done, task = _wait(server.url, image.id, MEMBER)
    assert task["status"] == "success", task
    _assert_converted(server, done, MEMBER)
    assert {k: done.get(k) for k in INJECT} == INJECT


def _stage_and_import(server, image_id, path):
    with open(path, "rb") as data:
        resp = requests.put(server.url + "/v2/images/%s/stage" % image_id,
                            data=data, headers=dict(
                                ADMIN, **{"Content-Type":
                                          "application/octet-stream"}),
                            timeout=60)
    assert resp.status_code == 204, resp.text
    resp = requests.post(server.url + "/v2/images/%s/import" % image_id,
                         json={"method": {"name": "glance-direct"}},
                         headers=ADMIN, timeout=60)
    # Glance accepts the import; the plugins refuse it afterwards.
    assert resp.status_code == 202, resp.text


def test_backing_file_is_refused_and_nothing_is_left(server, images):
    image = create_image(server.url, name=unique("backed"),
                         disk_format="qcow2")
    _stage_and_import(server, image["id"], images["backed"])
    _assert_refused(server, image["id"], "Image has disallowed configuration")


def test_format_mismatch_is_refused(server, images):
    image = create_image(server.url, name=unique("mismatch"),
                         disk_format="qcow2")
    _stage_and_import(server, image["id"], images["raw"])
    refused = _assert_refused(server, image["id"], "Image format mismatch")
    assert refused["disk_format"] == "qcow2"
    # It can be imported again with the right data.
    _stage_and_import(server, image["id"], images["qcow2"])
    image, task = _wait(server.url, image["id"])
    assert task["status"] == "success"
    _assert_converted(server, image)


def test_decompression_bomb_stops_at_the_limit(server, source):
    image = create_image(server.url, name=unique("bomb"))
    resp = requests.post(server.url + "/v2/images/%s/import" % image["id"],
                         json={"method": {"name": "web-download",
                                          "uri": source.url("/data/bomb")}},
                         headers=ADMIN, timeout=60)
    assert resp.status_code == 202, resp.text
    _assert_refused(server, image["id"],
                    "larger than %d bytes, the most this site decompresses"
                    % LIMIT)
