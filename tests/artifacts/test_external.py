"""External blobs: URL policy (no SSRF) and registration without copying."""

import pytest

from artifacts import errors, external, types
from tests.artifacts.test_blobs import ctx, eng  # noqa: F401  (fixture)

POLICY = external.policy()
FILES = types.get("files")


@pytest.mark.parametrize("url", [
    "https://images.example.com/disk.qcow2",
    "http://8.8.8.8/x",
    "https://[2001:4860:4860::8888]/x",
])
def test_public_urls_are_allowed(url):
    assert external.check_url(url, POLICY) == url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://127.1/x", "http://2130706433/",
    "http://0x7f000001/", "http://0177.0.0.1/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://10.0.0.5/", "http://172.16.3.4/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/", "http://0.0.0.0/", "http://localhost/",
    "http://metadata.internal/", "http://printer.local/",
    "file:///etc/passwd", "gopher://example.com/", "ftp://example.com/x",
    "https://user:secret@example.com/x", "http:///nohost", "x" * 3000, None,
    "http://[abc/x", "http://example.com:99999/",
])
def test_internal_or_odd_urls_are_refused(url):
    with pytest.raises(errors.Invalid):
        external.check_url(url, POLICY)


def test_operator_host_lists():
    only = external.policy(allowed_hosts=("mirror.example.com",))
    external.check_url("https://a.mirror.example.com/x", only)
    with pytest.raises(errors.Invalid):
        external.check_url("https://example.org/x", only)
    deny = external.policy(denied_hosts=("evil.example",))
    with pytest.raises(errors.Invalid):
        external.check_url("https://cdn.evil.example/x", deny)


@pytest.mark.parametrize("url,stored", [
    ("HTTPS://Images.Example.COM/disk.qcow2",
     "https://images.example.com/disk.qcow2"),
    ("https://ｅｘａｍｐｌｅ．com/ä", "https://example.com/%C3%A4"),
    ("https://example.com:0443/x", "https://example.com:443/x"),
])
def test_the_checked_url_is_the_normalised_one(url, stored):
    assert external.check_url(url, POLICY) == stored


@pytest.mark.parametrize("url", [
    # Issue 9: each of these redirected clients to their own loopback.
    "http://１２７．０．０．１/x", "http://127。0。0。1/x",
    "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/x", "http://127.0.0.1\\.example.com/x",
    "http://%31%32%37.0.0.1/x", "http://[64:ff9b::7f00:1]/x",
    "http://[2002:7f00:1::]/x", "http://[::127.0.0.1]/x",
    "http://224.0.0.1/x", "http://[ff02::1]/x", "http://bücher.example/x",
])
def test_spellings_of_internal_hosts_are_refused(url):
    with pytest.raises(errors.Invalid):
        external.check_url(url, POLICY)


def test_redirects_go_to_the_checked_url_only():
    good = "https://example.com/x"
    assert external.redirect_url(good, POLICY) == good
    for stored in ("http://127.0.0.1/x", "https://EXAMPLE.com/x"):
        with pytest.raises(errors.Forbidden):
            external.redirect_url(stored, POLICY)


def test_digests_are_checked():
    assert external.check_digests({"md5": "A" * 32}) == {"md5": "a" * 32}
    for bad in ({"md5": "xyz"}, {"sha512": "a" * 128}, {"sha1": 5}):
        with pytest.raises(errors.Invalid):
            external.check_digests(bad)


def test_register_external_blob(eng):  # noqa: F811
    art = eng.create(ctx(), FILES, {"name": "ext", "version": "1.0.0"})
    eng.data.register_external(ctx(), FILES, art["id"], "file",
                          "https://EXAMPLE.com/big.iso", size=10,
                          digests={"sha256": "0" * 64})
    blob = eng.data.open(ctx(), FILES, art["id"], "file").blob
    assert blob["external"] and [loc["url"] for loc in blob["locations"]] \
        == ["https://example.com/big.iso"]
    assert blob["size"] == 10 and blob["sha256"] == "0" * 64
    with pytest.raises(errors.Invalid):
        eng.data.register_external(ctx(), FILES, art["id"], "file",
                              "http://169.254.169.254/")
    # Replacing it with uploaded data, and back, leaves no rows behind.
    eng.data.upload(ctx(), FILES, art["id"], "file", [b"data"])
    blob = eng.data.open(ctx(), FILES, art["id"], "file").blob
    assert not blob["external"] and blob["size"] == 4
