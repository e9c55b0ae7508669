"""S3Store: the shared conformance suite against a real S3-protocol server
(moto in server mode on 127.0.0.1, one per test process, a fresh bucket per
test),
plus S3 specifics: single PUT vs multipart, part buffering, aborts, prefix
and location confinement, ranged GETs."""

import gc
import os
import subprocess
import sys

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from artifacts import errors  # noqa: E402
from artifacts import stores  # noqa: E402
from artifacts.stores.s3 import MIN_PART_SIZE, S3Store  # noqa: E402
from artifacts.stores.streaming import write_stream  # noqa: E402

from tests import s3_server  # noqa: E402
from tests.s3_server import CREDENTIALS  # noqa: E402
from tests.artifacts.stores.conformance import *  # noqa: F401,F403,E402
from tests.artifacts.stores.conformance import (  # noqa: E402
    MiB, _failing_stream, _get, _pattern, _put)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def admin(s3_endpoint):
    """A raw boto3 client: looks at the server without trusting the
    driver."""
    return s3_server.client(s3_endpoint)


@pytest.fixture
def bucket(s3_endpoint):
    with s3_server.bucket(s3_endpoint) as name:
        yield name


@pytest.fixture
def make_store(s3_endpoint, bucket):
    def make(**options):
        options.setdefault("endpoint_url", s3_endpoint)
        options.setdefault("bucket", bucket)
        # The smallest part S3 allows, so multi-MiB conformance objects
        # exercise multipart uploads too.
        options.setdefault("chunk_size", MIN_PART_SIZE)
        for key, value in CREDENTIALS.items():
            options.setdefault(key, value)
        return stores.create("s3", "s3test", options)
    return make


def _uploads(admin, bucket):
    return admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@pytest.fixture
def backend_contents(admin, bucket):
    return lambda: s3_server.objects(admin, bucket)


def _etag(admin, bucket, key):
    return admin.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


# -- registry and options -------------------------------------------------------

def test_registered_as_s3(s3_endpoint, bucket):
    s = stores.create("s3", "s3a", dict(CREDENTIALS, bucket=bucket,
                                        endpoint_url=s3_endpoint))
    assert isinstance(s.driver, S3Store)
    info = s.describe()
    assert info["kind"] == "s3" and info["bucket"] == bucket
    assert info["chunk_size"] == 64 * MiB
    assert info["large_object_size"] == 100 * MiB
    # Never the credentials.
    assert CREDENTIALS["secret_key"] not in repr(info)
    assert CREDENTIALS["access_key"] not in repr(info)


def test_boto3_is_imported_only_when_s3_is_used(tmp_path):
    code = (
        "import sys\n"
        "from artifacts import stores\n"
        "stores.create('filesystem', 'fs', {'datadir': %r})\n"
        "assert 'boto3' not in sys.modules, 'boto3 imported'\n"
        "assert 'artifacts.stores.s3' not in sys.modules\n"
        "assert {'s3', 'database', 'filesystem'} <= set(stores._DRIVERS)\n"
        % str(tmp_path / "d"))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_missing_boto3_is_a_clear_invalid():
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None  # as if not installed\n"
        "from artifacts import errors, stores\n"
        "try:\n"
        "    stores.create('s3', 's3x', {'bucket': 'some-bucket'})\n"
        "except errors.Invalid as exc:\n"
        "    assert 'glare[s3]' in exc.message, exc.message\n"
        "else:\n"
        "    raise AssertionError('no error')\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("options", [
    {"bucket": None},
    {"bucket": "a/b"},
    {"chunk_size": MIN_PART_SIZE - 1},
    {"chunk_size": 6 * 1024 ** 3},
    {"large_object_size": -1},
    {"addressing_style": "sideways"},
    {"prefix": "../up"},
], ids=["no-bucket", "slash-bucket", "small-part", "huge-part",
        "negative-large", "style", "prefix-dotdot"])
def test_bad_options_are_invalid(make_store, options):
    with pytest.raises(errors.Invalid):
        make_store(**options)


# -- single PUT or multipart ----------------------------------------------------------

def test_small_object_is_a_single_put(make_store, admin, bucket):
    s = make_store()
    w = s.writer("small")
    w.write(_pattern(MIN_PART_SIZE))     # exactly one part: still one PUT
    assert not w.multipart
    assert _uploads(admin, bucket) == []
    w.commit()
    assert "-" not in _etag(admin, bucket, "small")


def test_large_object_uses_multipart_with_bounded_buffer(make_store, admin,
                                                         bucket):
    s = make_store(chunk_size=MIN_PART_SIZE)
    data = _pattern(12 * MiB + 3)
    w = s.writer("big/object")
    for i in range(0, len(data), 300 * 1024):
        w.write(data[i:i + 300 * 1024])
        # Never more than one part held in memory.
        assert len(w._buf) <= MIN_PART_SIZE
    assert w.multipart
    assert len(_uploads(admin, bucket)) == 1   # in progress, invisible
    assert admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    loc = w.commit()
    # A multipart ETag is "<md5 of the part md5s>-<number of parts>".
    assert _etag(admin, bucket, "big/object").endswith("-3")
    assert _uploads(admin, bucket) == []
    assert _get(s, loc) == data
    assert _get(s, loc, 5 * MiB - 2, 10) == data[5 * MiB - 2:5 * MiB + 8]


def test_over_large_object_size_is_multipart_even_within_one_part(
        make_store, admin, bucket):
    s = make_store(chunk_size=MIN_PART_SIZE, large_object_size=MiB)
    w = s.writer("mid")
    w.write(_pattern(2 * MiB))
    loc = w.commit()
    assert _etag(admin, bucket, "mid").endswith("-1")
    assert _get(s, loc) == _pattern(2 * MiB)


def test_cancel_aborts_the_multipart_upload(make_store, admin, bucket,
                                            backend_contents):
    s = make_store()
    w = s.writer("cancel/me")
    w.write(_pattern(11 * MiB))
    assert w.multipart and len(_uploads(admin, bucket)) == 1
    w.cancel()
    assert _uploads(admin, bucket) == []
    assert backend_contents() == []


def test_abandoned_multipart_writer_is_aborted(make_store, admin, bucket):
    s = make_store()
    w = s.writer("abandoned/big")
    w.write(_pattern(11 * MiB))
    assert len(_uploads(admin, bucket)) == 1
    del w
    gc.collect()
    assert _uploads(admin, bucket) == []


def _refuse_listing(store):
    """The bucket's unfinished uploads cannot be listed (a deployment that
    grants no ListBucketMultipartUploads, as AWS answers it)."""
    from botocore.exceptions import ClientError

    class Refused:
        def paginate(self, **_):
            raise ClientError({"Error": {"Code": "AccessDenied",
                                         "Message": "Access Denied"}},
                              "ListMultipartUploads")

    def paginator(name):
        assert name == "list_multipart_uploads", name
        return Refused()
    store.client.get_paginator = paginator


def test_a_multipart_writer_notes_its_upload_before_its_first_part(
        make_store, admin, bucket):
    s = make_store()
    noted = []

    def note(detail):
        # Told before any part is sent.
        assert admin.list_parts(Bucket=bucket, Key="noted/big",
                                UploadId=detail).get("Parts", []) == []
        noted.append(detail)
    w = s.writer("noted/big")
    w.note = note
    w.write(_pattern(4 * MiB))
    assert noted == []                       # one part or less: no upload
    w.write(_pattern(8 * MiB))
    assert noted == [u["UploadId"] for u in _uploads(admin, bucket)]
    w.cancel()
    assert _uploads(admin, bucket) == []


def test_a_failed_note_fails_the_write_and_leaves_nothing(
        make_store, admin, bucket, backend_contents):
    s = make_store()

    def note(detail):
        raise errors.StoreUnavailable("the database is away")
    with pytest.raises(errors.StoreUnavailable):
        write_stream(s, "unnoted", [_pattern(6 * MiB)] * 2, note=note)
    assert _uploads(admin, bucket) == []
    assert backend_contents() == []


def test_discard_aborts_the_noted_upload_without_listing(make_store, admin,
                                                         bucket):
    """A dead writer's upload, found by the id it noted even where the
    bucket's unfinished uploads cannot be listed."""
    noted = []
    w = make_store().writer("died/big")
    w.note = noted.append
    w.write(_pattern(11 * MiB))
    w._inner._done = True          # as a killed process: no abort follows
    assert len(_uploads(admin, bucket)) == 1
    survivor = make_store()
    _refuse_listing(survivor)
    survivor.discard("died/big", noted[0])
    assert _uploads(admin, bucket) == []
    # Without the noted id the listing is needed: its refusal is an error.
    w = make_store().writer("died/again")
    w.write(_pattern(11 * MiB))
    w._inner._done = True
    with pytest.raises(errors.StoreUnavailable):
        survivor.discard("died/again")
    make_store().discard("died/again")
    assert _uploads(admin, bucket) == []


def test_failure_mid_multipart_stream_leaves_nothing(make_store, admin, bucket,
                                                     backend_contents):
    s = make_store()
    with pytest.raises(OSError):
        write_stream(s, "doomed", _failing_stream(OSError("gone"),
                                                  after=12 * MiB))
    assert _uploads(admin, bucket) == []
    assert backend_contents() == []


def test_multipart_commit_on_existing_key_conflicts_and_aborts(
        make_store, admin, bucket, backend_contents):
    s = make_store()
    loc = _put(s, "taken", b"original")
    w = s.writer("taken")
    w.write(_pattern(11 * MiB))
    assert w.multipart
    with pytest.raises(errors.Conflict):
        w.commit()
    assert _uploads(admin, bucket) == []
    assert _get(s, loc) == b"original"
    assert backend_contents() == ["taken"]


@pytest.mark.parametrize("size", [10, 11 * MiB], ids=["put", "multipart"])
def test_retried_final_request_is_not_a_conflict(make_store, admin, bucket,
                                                 size):
    """botocore may resend a final request whose first attempt succeeded
    (the answer was lost); its If-None-Match then fails on our own object,
    which must not turn into a Conflict (nor an abort)."""
    s = make_store()
    for name in ("put_object", "complete_multipart_upload"):
        real = getattr(s.client, name)

        def twice(__real=real, **kwargs):
            __real(**kwargs)
            return __real(**kwargs)
        setattr(s.client, name, twice)
    data = _pattern(size)
    loc = _put(s, "retried", data)
    assert _get(make_store(), loc) == data
    assert _uploads(admin, bucket) == []
    # A real competitor still conflicts.
    with pytest.raises(errors.Conflict):
        _put(make_store(), "retried", data)


def test_without_conditional_writes_a_head_check_conflicts(make_store):
    s = make_store(conditional_writes=False)
    loc = _put(s, "once", b"first")
    with pytest.raises(errors.Conflict):
        _put(s, "once", b"second")
    assert _get(s, loc) == b"first"


def test_abort_stale_uploads(make_store, admin, bucket):
    s = make_store()
    admin.create_multipart_upload(Bucket=bucket, Key="crashed")
    assert s.pending_uploads() and s.pending_uploads()[0][0] == "crashed"
    # moto reports every upload as initiated in 2010, so "recent" can only
    # be shown with an age larger than that.
    assert s.abort_stale_uploads(60 * 365 * 86400) == 0
    assert s.abort_stale_uploads(0) == 1
    assert s.pending_uploads() == []


# -- locations ----------------------------------------------------------------------

def test_location_form_and_prefix(make_store, admin, bucket, s3_endpoint):
    """Locations are glance_store's form: s3://<endpoint host>/<bucket>/
    <object key> (what Glance 33 shows in direct_url and locations)."""
    s = make_store(prefix="glare/images/")
    loc = _put(s, "6f0ad2d5/file", b"img")
    host = s3_endpoint.split("://", 1)[1]
    assert loc == "s3://%s/%s/glare/images/6f0ad2d5/file" % (host, bucket)
    assert loc == s.location_for("6f0ad2d5/file")
    body = admin.get_object(Bucket=bucket, Key="glare/images/6f0ad2d5/file")
    assert body["Body"].read() == b"img"
    # Another store instance (another process) reads it from the location.
    assert _get(make_store(prefix="glare/images"), loc) == b"img"
    # The older form of earlier versions is still read.
    assert _get(s, "s3://%s/glare/images/6f0ad2d5/file" % bucket) == b"img"


@pytest.mark.parametrize("endpoint, region, base", [
    ("http://127.0.0.1:9000", None, "s3://127.0.0.1:9000"),
    ("https://S3.example.net/storage/", None,
     "s3+https://S3.example.net/storage"),
    ("https://key:secret@s3.example.net:8443", None,
     "s3+https://s3.example.net:8443"),
    (None, None, "s3+https://s3.amazonaws.com"),
    (None, "eu-west-1", "s3+https://s3.eu-west-1.amazonaws.com"),
])
def test_location_scheme_and_host_as_glance_writes_them(endpoint, region,
                                                        base):
    options = dict(CREDENTIALS, bucket="b")
    if endpoint:
        options["endpoint_url"] = endpoint
    if region:
        options["region"] = region
    s = stores.create("s3", "s3x", options)
    assert s.location_for("k.image.1") == base + "/b/k.image.1"
    assert s.owns(base + "/b/k.image.1")


def test_keys_outside_the_prefix_are_forbidden_in_glance_form(make_store,
                                                              s3_endpoint,
                                                              bucket):
    s = make_store(prefix="mine")
    host = s3_endpoint.split("://", 1)[1]
    assert s.owns("s3://%s/%s/mine/k" % (host, bucket))
    assert s.owns("s3://%s/%s/glance-image-id" % (host, bucket))
    with pytest.raises(errors.Forbidden):
        s.open("s3://%s/%s/other/k" % (host, bucket))
    with pytest.raises(errors.Invalid):
        s.open("s3://%s/%s/mine/" % (host, bucket))


def test_key_too_long_with_prefix_is_invalid(make_store):
    s = make_store(prefix="p")
    with pytest.raises(errors.Invalid):
        s.writer("x" * 1023)
    s.writer("x" * 1022).cancel()


def test_locations_outside_bucket_or_prefix_are_forbidden(make_store, admin,
                                                          bucket):
    admin.put_object(Bucket=bucket, Key="other/secret", Body=b"secret")
    s = make_store(prefix="mine")
    for loc in ("s3://%s/other/secret" % bucket, "s3://another-bucket/k",
                "s3://%s/mine/" % bucket, "s3://%s/mine" % bucket):
        with pytest.raises(errors.Forbidden):
            s.open(loc)
        with pytest.raises(errors.Forbidden):
            s.delete(loc)
        with pytest.raises(errors.Forbidden):
            s.exists(loc)
    assert admin.get_object(Bucket=bucket, Key="other/secret")


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "s3://", "s3://bucket", "s3://bucket/",
    "s3:/bucket/key", "glare-db://1", None,
])
def test_malformed_location_is_invalid(store, location):
    with pytest.raises(errors.Invalid):
        store.open(location)


# -- reads ----------------------------------------------------------------------------

def test_ranged_open_sends_one_range_get_and_streams(make_store):
    s = make_store()
    data = _pattern(3 * MiB)
    loc = _put(s, "ranged", data)
    sent = []
    s.client.meta.events.register(
        "before-send.s3", lambda request, **kw: sent.append(
            (request.method, request.headers.get("Range"))))
    reader = s.open(loc, 100, 50)
    assert sent == [("GET", b"bytes=100-149")] or \
        sent == [("GET", "bytes=100-149")]
    assert (reader.size, reader.length) == (len(data), 50)
    assert reader.read() == data[100:150]
    reader.close()
    sent.clear()
    reader = s.open(loc, MiB)
    assert [m for m, _ in sent] == ["GET"]
    # The body is streamed: the first read returns before the rest is
    # consumed from the socket.
    assert reader.read(10) == data[MiB:MiB + 10]
    assert not reader._body._raw_stream.isclosed()
    reader.close()
    assert reader.closed
    with pytest.raises(ValueError):
        reader.read(1)


def test_reader_iterates_and_context_manager(make_store):
    s = make_store()
    data = _pattern(2 * MiB + 5)
    loc = _put(s, "it", data)
    with s.open(loc, 7) as reader:
        assert b"".join(reader) == data[7:]


def test_unreachable_server_is_store_unavailable(bucket):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = S3Store("down", dict(CREDENTIALS, bucket=bucket, max_attempts=1,
                             connect_timeout=1,
                             endpoint_url="http://127.0.0.1:%d" % port))
    with pytest.raises(errors.StoreUnavailable):
        s.open("s3://%s/k" % bucket)
    with pytest.raises(errors.StoreUnavailable):
        write_stream(s, "k", [b"data"])


# -- Glance's location forms ---------------------------------------------------------

def _glance_forms(endpoint, bucket, key):
    """The forms glance_store's s3 driver writes for one object, with
    credentials (the secret holds a '/', as AWS secrets may)."""
    host = endpoint.split("://", 1)[1]
    creds = "AKIAOLDGLANCE:old/secret+key"
    return ["s3://%s@%s/%s/%s" % (creds, host, bucket, key),
            "s3+http://%s@%s/%s/%s" % (creds, host, bucket, key),
            "s3+https://%s@%s/%s/%s" % (creds, host, bucket, key),
            "s3://%s/%s/%s" % (host, bucket, key),
            "s3+https://%s/%s/%s" % (host.upper(), bucket, key)]


def test_glance_locations_are_read_and_deleted(make_store, admin, bucket,
                                               s3_endpoint):
    image_id = "8f2c1e52-7a3c-4c59-9d0e-1b1f7f1c2a11"
    data = _pattern(300000)
    # A store with a prefix still reads Glance's objects at the bucket root.
    s = make_store(prefix="glare")
    for loc in _glance_forms(s3_endpoint, bucket, image_id):
        admin.put_object(Bucket=bucket, Key=image_id, Body=data)
        assert s.owns(loc), loc
        assert s.exists(loc)
        reader = s.open(loc, 1000, 10)
        assert (reader.size, reader.length) == (len(data), 10)
        assert reader.read() == data[1000:1010]
        reader.close()
        assert s.delete(loc) is True
        assert not s.exists(loc)
        with pytest.raises(errors.NotFound) as info:
            s.open(loc)
        # Never the credentials of the URL.
        assert "old/secret" not in info.value.message
        assert "AKIAOLDGLANCE" not in info.value.message


def test_glance_locations_of_other_hosts_or_buckets_are_forbidden(
        make_store, admin, bucket, s3_endpoint):
    admin.put_object(Bucket=bucket, Key="img", Body=b"x")
    s = make_store()
    host = s3_endpoint.split("://", 1)[1]
    for loc in ("s3://AKID:SeCrEtKey@s3.elsewhere.example/%s/img" % bucket,
                "s3+https://AKID:SeCrEtKey@%s/other-bucket/img" % host,
                "s3://%s:1/%s/img" % (host.split(":")[0], bucket),
                "s3://elsewhere.example/%s/img" % bucket):
        assert not s.owns(loc)
        for call in (s.open, s.exists, s.delete):
            with pytest.raises(errors.Forbidden) as info:
                call(loc)
            assert "SeCrEt" not in info.value.message
    assert admin.get_object(Bucket=bucket, Key="img")


@pytest.mark.parametrize("location", [
    "s3+https://AKID:SeCrEtKey@host-only", "s3+https://AKID:SeCrEtKey@host/bucket-only",
    "s3+http://", "s3+https:///b/k",
])
def test_malformed_glance_locations_are_invalid(store, location):
    assert not store.owns(location)
    with pytest.raises(errors.Invalid) as info:
        store.open(location)
    assert "SeCrEt" not in info.value.message


def test_default_ports_and_aws_hosts_match(make_store, s3_endpoint, bucket):
    from artifacts.stores.s3 import _endpoint_hosts, _service_host
    assert _service_host("S3.Example.com:443/") == "s3.example.com"
    assert _service_host("host:80/path/") == "host/path"
    assert _endpoint_hosts("https://s3.example.com", "x") == {"s3.example.com"}
    aws = _endpoint_hosts(None, "eu-west-1")
    assert "s3.eu-west-1.amazonaws.com" in aws and "s3.amazonaws.com" in aws
