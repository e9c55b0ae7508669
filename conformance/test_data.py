"""Image data: PUT/GET /v2/images/{id}/file, checksums, ranges."""

import hashlib
import os
import struct

import pytest

from conformance.client import unique

DATA = b"0123456789"




def _file(image_id):
    return "/v2/images/%s/file" % image_id


def _qcow2(virtual_size=1 << 30, length=4 * 65536):
    """A minimal, safe qcow2 (v2, no backing file) of ``virtual_size``."""
    header = b"QFI\xfb" + struct.pack(
        ">IQIIQIIQQIIQ", 2, 0, 0, 16, virtual_size, 0, 1, 0x30000, 0x10000,
        1, 0, 0)
    return header + b"\0" * (length - len(header))


# ---------------------------------------------------------------- upload


def test_upload_is_204_and_activates(member):
    """Glance: PUT /file with application/octet-stream answers 204 with an
    empty body; the image becomes active with size, md5 checksum and the
    multihash of the data."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.upload(image["id"], DATA)
    assert resp.status_code == 204
    assert resp.content == b""
    shown = member.show(image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    algo = shown["os_hash_algo"]
    assert algo in hashlib.algorithms_available
    assert shown["os_hash_value"] == hashlib.new(algo, DATA).hexdigest()


def test_raw_virtual_size_is_size(member):
    """Glance: for raw data in a bare container virtual_size equals size."""
    image = member.create_active(DATA)
    assert image["virtual_size"] == len(DATA)


def test_default_hash_algorithm_is_sha512(member):
    """Glance: os_hash_algo is hashing_algorithm, sha512 by default."""
    assert member.create_active(DATA)["os_hash_algo"] == "sha512"


def test_chunked_upload(member):
    """Glance: uploads may use Transfer-Encoding: chunked without
    Content-Length (glanceclient, Nova and Tempest all do)."""
    data = os.urandom(300 * 1024 + 7)
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.upload(image["id"], data, chunked=True)
    assert resp.status_code == 204
    shown = member.show(image["id"])
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert member.get(_file(image["id"])).content == data


def test_chunked_upload_large_chunks(member):
    """Glance: glanceclient sends 1 MiB chunks; a multi-MiB chunked upload
    in 1 MiB chunks is stored intact."""
    data = os.urandom(3 * 1024 * 1024 + 11)
    image = member.create_image(disk_format="raw", container_format="bare")

    def gen():
        for i in range(0, len(data), 1024 * 1024):
            yield data[i:i + 1024 * 1024]

    resp = member.put(_file(image["id"]), data=gen(), headers={
        "Content-Type": "application/octet-stream"})
    assert resp.status_code == 204
    got = member.get(_file(image["id"]))
    assert hashlib.sha256(got.content).digest() == \
        hashlib.sha256(data).digest()


def test_upload_with_size_header(member):
    """Glance: the x-openstack-image-size header the CLI and SDK send is
    accepted."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.upload(image["id"], DATA, headers={
        "x-openstack-image-size": str(len(DATA))})
    assert resp.status_code == 204
    assert member.show(image["id"])["size"] == len(DATA)


def test_zero_byte_upload_activates(member):
    """Glance: an empty body with Content-Length: 0 activates the image
    with size 0 (Nova's volume-backed snapshot 'force activate')."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.upload(image["id"], b"")
    assert resp.status_code == 204
    shown = member.show(image["id"])
    assert shown["status"] == "active" and shown["size"] == 0
    assert shown["checksum"] == hashlib.md5(b"").hexdigest()
    got = member.get(_file(image["id"]))
    assert got.status_code == 200 and got.content == b""


def test_upload_to_active_is_409(member):
    """Glance: uploading to an image that is not queued is 409 ('Image
    status transition from active to saving is not allowed'); the data is
    unchanged."""
    image = member.create_active(DATA)
    assert member.upload(image["id"], b"other").status_code == 409
    assert member.get(_file(image["id"])).content == DATA


def test_upload_without_formats_is_400(member):
    """Glance: data needs disk_format and container_format first (400);
    the image stays queued."""
    image = member.create_image()
    assert member.upload(image["id"], DATA).status_code == 400
    assert member.show(image["id"])["status"] == "queued"


@pytest.mark.parametrize("missing", ["disk_format", "container_format"])
def test_upload_with_one_format_missing_is_400(member, missing):
    """Glance: one missing format is 400 as well."""
    formats = {"disk_format": "raw", "container_format": "bare"}
    del formats[missing]
    image = member.create_image(**formats)
    assert member.upload(image["id"], DATA).status_code == 400


@pytest.mark.parametrize("ctype", ["application/json", "text/plain"])
def test_upload_wrong_content_type_is_415(member, ctype):
    """Glance: image data must be application/octet-stream (415)."""
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = member.put(_file(image["id"]), data=DATA,
                      headers={"Content-Type": ctype})
    assert resp.status_code == 415
    assert member.show(image["id"])["status"] == "queued"


def test_upload_unknown_image_is_404(member):
    """Glance: uploading to an unknown id is 404."""
    assert member.upload("00000000-0000-0000-0000-000000000000", DATA) \
        .status_code == 404


def test_upload_by_other_project_is_404(member, member_b):
    """Glance: another project cannot upload to an image it cannot see."""
    image = member.create_image(disk_format="raw", container_format="bare")
    assert member_b.upload(image["id"], DATA).status_code == 404


def test_upload_by_reader_is_403(member, reader):
    """Glance: upload_image needs the member role: a reader gets 403."""
    image = member.create_image(disk_format="raw", container_format="bare")
    assert reader.upload(image["id"], DATA).status_code == 403
    assert member.show(image["id"])["status"] == "queued"


def test_qcow2_virtual_size_from_header(member):
    """Glance: for a bare container the data is inspected and virtual_size
    is the disk's virtual size read from its qcow2 header."""
    data = _qcow2(virtual_size=1 << 30)
    image = member.create_image(disk_format="qcow2", container_format="bare")
    assert member.upload(image["id"], data).status_code == 204
    shown = member.show(image["id"])
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == 1 << 30


def test_format_mismatch_is_415(member):
    """Glance: data whose inspected format is not the declared disk_format
    (qcow2 declared, raw bytes sent, bare container) is refused with 415
    ('Image disk_format qcow2 does not match stream data raw')."""
    image = member.create_image(disk_format="qcow2", container_format="bare")
    assert member.upload(image["id"], DATA * 100).status_code == 415
    assert member.show(image["id"])["status"] == "queued"


@pytest.mark.glance_deviation(
    "After refusing data for a format mismatch Glance resets the image to "
    "queued but keeps the stored bytes, the location, checksum and "
    "os_hash_*; a second upload of correct data then fails with 500 and the "
    "image can never get data")
def test_rejected_upload_leaves_nothing_behind(member):
    """Correct behaviour: after a 415 format refusal the image is queued
    with no checksum, hash or size, and correct data can then be
    uploaded."""
    image = member.create_image(disk_format="qcow2", container_format="bare")
    assert member.upload(image["id"], DATA * 100).status_code == 415
    shown = member.show(image["id"])
    assert shown["status"] == "queued"
    assert shown["checksum"] is None and shown["os_hash_value"] is None
    assert shown["size"] is None
    good = _qcow2()
    assert member.upload(image["id"], good).status_code == 204
    shown = member.show(image["id"])
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(good).hexdigest()


def test_non_bare_container_is_not_inspected(member):
    """Glance: only bare containers are inspected: qcow2 declared in an ovf
    container accepts any bytes."""
    image = member.create_image(disk_format="qcow2", container_format="ovf")
    assert member.upload(image["id"], DATA).status_code == 204
    assert member.show(image["id"])["status"] == "active"


# -------------------------------------------------------------- download


def test_download(member):
    """Glance: GET /file is 200 with Content-Type exactly
    application/octet-stream, Content-Length, Content-MD5 = hex md5 of the
    data, and the bytes (Tempest test_register_upload_get_image_file)."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Length"] == str(len(DATA))
    assert resp.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert resp.content == DATA


def test_download_ignores_accept_json(member):
    """Glance: Tempest downloads with Accept: application/json and
    Content-Type: application/json; the answer is still the octet
    stream."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]), headers={
        "Accept": "application/json", "Content-Type": "application/json"})
    assert resp.status_code == 200
    assert resp.content == DATA


def test_download_verifies_with_multihash(member):
    """Glance: the downloaded bytes hash (with os_hash_algo) to
    os_hash_value, which is how glanceclient and openstacksdk verify
    downloads."""
    data = os.urandom(70000)
    image = member.create_active(data)
    got = member.get(_file(image["id"])).content
    assert hashlib.new(image["os_hash_algo"], got).hexdigest() == \
        image["os_hash_value"]


def test_download_without_data_is_204(member):
    """Glance: an image without data answers 204 with an empty body and no
    Content-Type (Tempest checks this before uploading)."""
    image = member.create_image()
    resp = member.get(_file(image["id"]))
    assert resp.status_code == 204
    assert resp.content == b""
    assert "Content-Type" not in resp.headers


def test_download_unknown_is_404(member):
    """Glance: GET /file of an unknown id is 404."""
    assert member.get(_file("00000000-0000-0000-0000-000000000000")) \
        .status_code == 404


def test_download_by_other_project_is_404(member, member_b):
    """Glance: another project cannot download an image it cannot see."""
    image = member.create_active(DATA)
    assert member_b.get(_file(image["id"])).status_code == 404


def test_public_image_downloadable_by_all(admin, member_b):
    """Glance: any project may download a public image."""
    image = admin.create_active(DATA, visibility="public")
    resp = member_b.get(_file(image["id"]))
    assert resp.status_code == 200 and resp.content == DATA


def test_community_image_downloadable_by_all(member, member_b):
    """Glance: any project may download a community image."""
    image = member.create_active(DATA, visibility="community")
    assert member_b.get(_file(image["id"])).content == DATA


def test_reader_cannot_download(member, reader):
    """Glance: download_image needs the member role; a reader may read the
    record but gets 403 on the data."""
    image = member.create_active(DATA)
    assert reader.get("/v2/images/%s" % image["id"]).status_code == 200
    assert reader.get(_file(image["id"])).status_code == 403


def test_head_file_is_405(member):
    """Glance: HEAD is not routed: HEAD /file is 405."""
    image = member.create_active(DATA)
    resp = member.request("HEAD", _file(image["id"]))
    assert resp.status_code == 405


def test_deleted_image_data_is_404(member):
    """Glance: after delete the data is gone with the record (404)."""
    image = member.create_active(DATA)
    member.delete("/v2/images/%s" % image["id"])
    assert member.get(_file(image["id"])).status_code == 404


# ----------------------------------------------------------------- ranges


@pytest.mark.parametrize("header,start,end", [
    ("bytes=2-5", 2, 5), ("bytes=-3", 7, 9), ("bytes=7-", 7, 9),
    ("bytes=5-100", 5, 9), ("bytes=0-0", 0, 0), ("bytes=0-9", 0, 9),
    ("bytes=-20", 0, 9)])
def test_range(member, header, start, end):
    """Glance: a single byte range answers 206 with Content-Range
    bytes a-b/total (end clamped to the size), the matching Content-Length,
    and Content-MD5 still the whole image's md5."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]), headers={"Range": header})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == "bytes %d-%d/%d" % (
        start, end, len(DATA))
    assert resp.headers["Content-Length"] == str(end - start + 1)
    assert resp.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert resp.content == DATA[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=20-30", "bytes=10-", "foo",
                                    "bytes=5-2"])
def test_unsatisfiable_range_is_416(member, header):
    """Glance: a range starting past the end, a reversed range or a
    malformed header is 416 (without Content-Range)."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]), headers={"Range": header})
    assert resp.status_code == 416
    assert "Content-Range" not in resp.headers


@pytest.mark.glance_deviation(
    "Glance (WebOb's range parser) answers the zero-length suffix range "
    "bytes=-0 with 206 and the whole image; RFC 7233 makes a suffix range "
    "of length 0 unsatisfiable")
def test_zero_suffix_range_is_416(member):
    """Correct behaviour (RFC 7233 section 2.1): Range: bytes=-0 selects
    nothing and is 416."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]), headers={"Range": "bytes=-0"})
    assert resp.status_code == 416


def test_multiple_ranges_are_400(member):
    """Glance: multi-range requests are 400 ('Requests with multiple ranges
    are not supported in Glance...')."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]), headers={"Range": "bytes=0-1,3-4"})
    assert resp.status_code == 400


def test_legacy_content_range_request(member):
    """Glance: a request header Content-Range: bytes a-b/* is also taken as
    a range (206)."""
    image = member.create_active(DATA)
    resp = member.get(_file(image["id"]),
                      headers={"Content-Range": "bytes 3-6/*"})
    assert resp.status_code == 206
    assert resp.content == DATA[3:7]
    assert resp.headers["Content-Range"] == "bytes 3-6/10"


def test_no_accept_ranges_header(member):
    """Glance: downloads carry no Accept-Ranges header."""
    image = member.create_active(DATA)
    assert "Accept-Ranges" not in member.get(_file(image["id"])).headers


def test_range_over_chunk_boundary(member):
    """Glance: a range inside a large image returns exactly those bytes."""
    data = os.urandom(2 * 1024 * 1024 + 100)
    image = member.create_active(data)
    start, end = 1024 * 1024 - 10, 1024 * 1024 + 1000
    resp = member.get(_file(image["id"]),
                      headers={"Range": "bytes=%d-%d" % (start, end)})
    assert resp.status_code == 206
    assert resp.content == data[start:end + 1]


def test_upload_keeps_name(member):
    """Glance: upload changes status and data fields only; name and
    properties stay."""
    name = unique("keep")
    image = member.create_image(name=name, disk_format="raw",
                                container_format="bare", foo="bar")
    member.upload(image["id"], DATA)
    shown = member.show(image["id"])
    assert shown["name"] == name and shown["foo"] == "bar"
