"""A real S3-protocol server for the tests: moto in server mode on
127.0.0.1 (``moto[server]``, a test extra), in this process.

``s3_endpoint`` (a session fixture of tests/conftest.py) starts one
``ThreadedMotoServer`` per test process on a free port and stops it at
the end; drivers, Glare servers and a real Glance reach it over HTTP like
any S3 service.  Buckets are made per test or module (``bucket``), and
emptied and removed afterwards (moto keeps objects in memory).

Two adjustments make the fake behave like S3 where tests depend on it:

* moto checks ``If-None-Match: *`` and then stores the object as two steps
  while its server threads run concurrently; real S3 decides a conditional
  write atomically.  One lock around moto's object writes (PUT, and POST
  which completes multipart uploads) makes it faithful.
* ``Latency.seconds``: each PUT of an object or of a part waits this long
  first (0 by default), so a test can make the store slow enough to kill a
  server in the middle of a copy; ``Latency.parts`` counts parts received.
"""

import contextlib
import logging
import threading
import uuid

# Any key pair works with moto; these are the ones every test uses.
ACCESS_KEY = "AKIAGLARETESTKEY"
SECRET_KEY = "glare-test-secret"
CREDENTIALS = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
REGION = "us-east-1"


class Latency:
    """Delay and count of object writes (see the module docstring)."""

    seconds = 0.0
    parts = 0
    puts = 0


def _patch_moto():
    """Serialize moto's object writes and add ``Latency``; returns the
    function that undoes it."""
    from moto.s3.responses import S3Response

    lock = threading.Lock()
    saved = {}

    def wrap(name, locked, counter=None):
        original = getattr(S3Response, name)
        saved[name] = original

        def patched(self, *args, __original=original, **kwargs):
            if counter:
                setattr(Latency, counter, getattr(Latency, counter) + 1)
            if Latency.seconds and counter:
                threading.Event().wait(Latency.seconds)
            if not locked:
                return __original(self, *args, **kwargs)
            with lock:
                return __original(self, *args, **kwargs)
        setattr(S3Response, name, patched)

    wrap("put_object", True, "puts")
    wrap("_key_response_post", True)
    wrap("upload_part", False, "parts")

    def restore():
        for name, original in saved.items():
            setattr(S3Response, name, original)
    return restore


@contextlib.contextmanager
def moto_server():
    """Run moto on a free port of 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    restore = _patch_moto()
    # Port 0: the OS picks a free port, no race with other test workers.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0,
                                verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield "http://%s:%d" % (host, port)
    finally:
        server.stop()
        restore()


def client(endpoint):
    """A raw boto3 client: looks at the server without trusting Glare."""
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)


def objects(admin, bucket):
    """Keys of the bucket's objects and of its unfinished multipart
    uploads (``"<key> (multipart upload <id>)"``), sorted."""
    found = []
    for page in admin.get_paginator("list_objects_v2").paginate(
            Bucket=bucket):
        found.extend(obj["Key"] for obj in page.get("Contents", ()))
    found.extend("%s (multipart upload %s)" % (u["Key"], u["UploadId"])
                 for u in admin.list_multipart_uploads(Bucket=bucket).get(
                     "Uploads", ()))
    return sorted(found)


@contextlib.contextmanager
def bucket(endpoint, prefix="glare-test"):
    """A fresh bucket; emptied and removed afterwards."""
    admin = client(endpoint)
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:16])
    admin.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        for upload in admin.list_multipart_uploads(Bucket=name).get(
                "Uploads", ()):
            admin.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                         UploadId=upload["UploadId"])
        for page in admin.get_paginator("list_objects_v2").paginate(
                Bucket=name):
            for obj in page.get("Contents", ()):
                admin.delete_object(Bucket=name, Key=obj["Key"])
        admin.delete_bucket(Bucket=name)


def glance_section(endpoint, bucket_name, chunk_mb=5, large_mb=5):
    """The body of an ``enabled_backends`` s3 store's section, in
    glance_store's option names (the same text for Glare and Glance)."""
    return ("s3_store_host = %s\ns3_store_access_key = %s\n"
            "s3_store_secret_key = %s\ns3_store_bucket = %s\n"
            "s3_store_bucket_url_format = path\n"
            "s3_store_large_object_size = %d\n"
            "s3_store_large_object_chunk_size = %d\n"
            % (endpoint, ACCESS_KEY, SECRET_KEY, bucket_name, large_mb,
               chunk_mb))
