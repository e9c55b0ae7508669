"""artifacts.api.data: blob and folder uploads and downloads through
PUT/GET/DELETE /artifacts/{type}/{id}/{field}[/{path}]."""

import hashlib
import io
import json
import uuid

import pytest

from tests.artifacts.api.conftest import KINDS_NAME, stored_files


@pytest.fixture
def art(api):
    return api.create(KINDS_NAME, name="d-%s" % uuid.uuid4().hex[:8])


def path_of(art, tail=""):
    return "/artifacts/%s/%s%s" % (art["type_name"], art["id"], tail)


def error(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.json["error"]["message"]


def test_blob_roundtrip(api, art):
    data = b"0123456789" * 3
    resp = api.put_data(path_of(art, "/file"), data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    blob = resp.json["file"]
    assert blob == {"size": 30, "md5": hashlib.md5(data).hexdigest(),
                    "sha1": hashlib.sha1(data).hexdigest(),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "status": "active", "external": False,
                    "url": path_of(art, "/file")}
    got = api.get(blob["url"])
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Length"] == "30"
    assert got.headers["ETag"] == '"%s"' % blob["sha256"]
    assert got.headers["Content-MD5"] == blob["md5"]
    assert got.headers["Accept-Ranges"] == "bytes"
    again = api.get(blob["url"], headers={"If-None-Match": got.headers[
        "ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("header, status, body, content_range", [
    ("bytes=0-3", 206, b"0123", "bytes 0-3/10"),
    ("bytes=8-", 206, b"89", "bytes 8-9/10"),
    ("bytes=-3", 206, b"789", "bytes 7-9/10"),
    ("bytes=5-100", 206, b"56789", "bytes 5-9/10"),
    ("bytes=-100", 206, b"0123456789", "bytes 0-9/10"),
    ("bytes=10-", 416, None, "bytes */10"),
    ("bytes=5-2", 416, None, "bytes */10"),
    ("bytes=-0", 416, None, "bytes */10"),
    ("bytes=0-1,4-5", 416, None, "bytes */10"),
    ("lines=1-2", 416, None, "bytes */10"),
])
def test_ranges(api, art, header, status, body, content_range):
    api.put_data(path_of(art, "/file"), b"0123456789")
    resp = api.get(path_of(art, "/file"), headers={"Range": header})
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Range"] == content_range
    if body is not None:
        assert resp.data == body
        assert resp.headers["Content-Length"] == str(len(body))
        assert "Content-MD5" not in resp.headers
    else:
        assert resp.json["error"]["code"] == 416


def test_if_range_mismatch_sends_everything(api, art):
    api.put_data(path_of(art, "/file"), b"0123456789")
    resp = api.get(path_of(art, "/file"), headers={
        "Range": "bytes=0-1", "If-Range": '"stale"'})
    assert resp.status_code == 200 and resp.data == b"0123456789"


def test_chunked_upload(api):
    art = api.create("files", name="chunked")
    data = b"x" * (3 * 1024 * 1024 + 5)
    resp = api.client.open(
        path_of(art, "/files/big/one.bin"), method="PUT",
        input_stream=io.BytesIO(data),
        headers={"Transfer-Encoding": "chunked",
                 "Content-Type": "application/octet-stream"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["files"]["big/one.bin"]["size"] == len(data)
    got = api.get(path_of(art, "/files/big/one.bin"))
    assert got.data == data


def test_folder_files_with_nested_paths(api, art):
    files = {"a.txt": b"A", "dir/b.txt": b"BB", "dir/sub/c d.txt": b"CCC",
             "dir/sub/\u00e9t\u00e9.txt": b"DDDD"}
    for name, data in files.items():
        resp = api.put_data(path_of(art, "/tree/" + name), data)
        assert resp.status_code == 200, resp.get_data(as_text=True)
    tree = resp.json["tree"]
    assert sorted(tree) == sorted(files)
    for name, data in files.items():
        got = api.get(tree[name]["url"])
        assert got.status_code == 200 and got.data == data, name
        assert tree[name]["size"] == len(data)
    # Replacing a file keeps one copy.
    api.put_data(path_of(art, "/tree/a.txt"), b"new")
    assert api.get(path_of(art, "/tree/a.txt")).data == b"new"
    # Deleting one file.
    gone = api.delete(path_of(art, "/tree/dir/b.txt"))
    assert gone.status_code == 204
    error(api.get(path_of(art, "/tree/dir/b.txt")), 404)
    error(api.delete(path_of(art, "/tree/dir/b.txt")), 404)
    shown = api.get(path_of(art)).json["tree"]
    assert sorted(shown) == ["a.txt", "dir/sub/c d.txt",
                             "dir/sub/\u00e9t\u00e9.txt"]


@pytest.mark.parametrize("tail", [
    "/tree/../../etc/passwd",
    "/tree/a/../../b",
    "/tree/./a",
    "/tree/%2e%2e/x",
    "/tree/a%2F..%2F..%2Fx",
    "/tree//etc/passwd",
    "/tree/a//b",
    "/tree/a/",
    "/tree/",
    "/tree",
    "/tree/a%00b",
    "/tree/" + "x" * 1100,
    "/tree/" + "/".join(["d"] * 40),
    # The rule archive members obey (artifacts.paths).
    "/tree/a%5Cb",                       # backslash
    "/tree/C:x",                         # drive letter
    "/tree/c:%5Cwindows",
    "/tree/a%0Ab",                       # control characters
    "/tree/a%09b",
    "/tree/a%7Fb",
    "/tree/a%C2%85b",                    # C1 control (NEL)
    "/tree/a.",                          # trailing dot or space
    "/tree/dir./x",
    "/tree/a%20",
    "/tree/dir%20/x",
    "/tree/...",
    "/file/extra",
    "/nope",
    "/nope/x",
    "/computed",
    "/count",
])
def test_hostile_or_wrong_paths_store_nothing(api, glare, art, tail):
    before = set(stored_files(glare.datadir))
    resp = api.put_data(path_of(art) + tail, b"evil")
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == resp.status_code
    assert set(stored_files(glare.datadir)) == before
    shown = api.get(path_of(art)).json
    assert shown["tree"] == {} and shown["file"] is None


def test_folder_paths_are_normalised_and_unique_whatever_the_case(api,
                                                                   art):
    """Folder paths are NFC: the NFD spelling of a name is the same file
    (replaced, not doubled); a name differing only by case from one the
    folder holds is refused (409): a case-insensitive file system would
    keep only one of them."""
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    assert api.put_data(path_of(art, "/tree/" + nfd), b"one").status_code \
        == 200
    assert api.put_data(path_of(art, "/tree/" + nfc), b"two").status_code \
        == 200
    tree = api.get(path_of(art)).json["tree"]
    assert list(tree) == [nfc]
    assert api.get(path_of(art, "/tree/" + nfd)).data == b"two"
    assert api.put_data(path_of(art, "/tree/Readme.md"), b"r").status_code \
        == 200
    for twin in ("README.md", "readme.MD", "CAF\u00c9.txt"):
        message = error(api.put_data(path_of(art, "/tree/" + twin), b"x"),
                        409)
        assert "only by case or Unicode normalisation" in message
    assert sorted(api.get(path_of(art)).json["tree"]) == ["Readme.md", nfc]
    # The same name again replaces it, as ever.
    assert api.put_data(path_of(art, "/tree/Readme.md"), b"r2").status_code \
        == 200


def test_media_type_and_sizes(api, art):
    message = error(api.put_data(path_of(art, "/file"), b"x",
                                 content_type="text/plain"), 415)
    assert "octet-stream" in message
    # The field holds at most 64 bytes: refused before reading, or while.
    error(api.put_data(path_of(art, "/file"), b"x" * 65), 413)
    error(api.client.open(
        path_of(art, "/file"), method="PUT", input_stream=io.BytesIO(
            b"y" * 100), headers={"Transfer-Encoding": "chunked",
                                  "Content-Type":
                                      "application/octet-stream"}), 413)
    # The folder holds at most 1000 bytes in all, 5 files.
    assert api.put_data(path_of(art, "/tree/one"), b"z" * 900)\
        .status_code == 200
    error(api.put_data(path_of(art, "/tree/two"), b"z" * 200), 413)
    for i in range(4):
        assert api.put_data(path_of(art, "/tree/f%d" % i), b"z")\
            .status_code == 200
    error(api.put_data(path_of(art, "/tree/f9"), b"z"), 413)
    shown = api.get(path_of(art)).json
    assert shown["file"] is None and len(shown["tree"]) == 5


def test_empty_blob(api, art):
    assert api.put_data(path_of(art, "/file"), b"").json["file"][
        "size"] == 0
    got = api.get(path_of(art, "/file"))
    assert got.status_code == 200 and got.data == b""
    error(api.get(path_of(art, "/file"), headers={"Range": "bytes=0-"}),
          416)


def test_download_without_data_and_by_others(api, art):
    error(api.get(path_of(art, "/file")), 404)
    error(api.get(path_of(art, "/tree/none")), 404)
    api.put_data(path_of(art, "/file"), b"secret")
    error(api.as_project("stranger").get(path_of(art, "/file")), 404)
    error(api.get(path_of(art, "/file"), data=b"x"), 400)


def test_immutable_after_activation_and_deactivated_download(api):
    owner = api.as_project("data-owner")
    art = owner.create(KINDS_NAME, name="imm", required_text="r")
    owner.put_data(path_of(art, "/file"), b"one")
    owner.put_data(path_of(art, "/tree/x"), b"x")
    assert owner.action(art, "activate").status_code == 200
    error(owner.put_data(path_of(art, "/file"), b"two"), 403)
    error(owner.delete(path_of(art, "/tree/x")), 403)
    assert owner.get(path_of(art, "/file")).data == b"one"
    assert owner.action(art, "deactivate").status_code == 200
    error(owner.get(path_of(art, "/file")), 403)
    # Admins still may.
    assert api.get(path_of(art, "/file")).data == b"one"


def test_delete_artifact_removes_its_data(api, glare, art):
    before = set(stored_files(glare.datadir))
    api.put_data(path_of(art, "/file"), b"f")
    api.put_data(path_of(art, "/tree/a/b"), b"ab")
    assert len(set(stored_files(glare.datadir)) - before) == 2
    assert api.delete(path_of(art)).status_code == 204
    assert set(stored_files(glare.datadir)) - before == set()


EXTERNAL = "application/vnd+openstack.glare-custom-location+json"


def put_external(api, path, body):
    return api.open("PUT", path, data=json.dumps(body),
                    content_type=EXTERNAL)


def test_external_data_redirects(api, glare, art):
    before = set(stored_files(glare.datadir))
    url = "https://downloads.example.com/a.bin"
    digest = "ab" * 32
    resp = put_external(api, path_of(art, "/file"), {
        "url": url, "size": 12, "sha256": digest})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    blob = resp.json["file"]
    assert blob["external"] is True and blob["size"] == 12
    assert blob["sha256"] == digest
    got = api.get(path_of(art, "/file"))
    assert got.status_code == 302 and got.headers["Location"] == url
    # A folder file too; nothing is stored locally.
    resp = put_external(api, path_of(art, "/tree/x/y"), {"url": url})
    assert resp.json["tree"]["x/y"]["external"] is True
    assert api.get(path_of(art, "/tree/x/y")).headers["Location"] == url
    assert set(stored_files(glare.datadir)) == before
    # Uploading data replaces the URL.
    api.put_data(path_of(art, "/file"), b"local")
    assert api.get(path_of(art, "/file")).data == b"local"


@pytest.mark.parametrize("body", [
    {},
    {"url": ""},
    {"url": 5},
    {"url": "ftp://example.com/x"},
    {"url": "http://127.0.0.1/x"},
    {"url": "http://localhost/x"},
    {"url": "http://[::1]/x"},
    {"url": "http://[abc/x"},
    {"url": "http://example.com:99999/x"},
    {"url": "http://example.com/a\nb"},
    {"url": "http://example.com/a b"},
    {"url": "http://user:pw@example.com/x"},
    {"url": "https://example.com/" + "x" * 2048},
    {"url": "https://example.com/x", "size": -1},
    {"url": "https://example.com/x", "md5": "nothex"},
    {"url": "https://example.com/x", "sha512": "00"},
])
def test_bad_external_locations(api, art, body):
    resp = put_external(api, path_of(art, "/file"), body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert api.get(path_of(art)).json["file"] is None
