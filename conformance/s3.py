"""The S3 store of the multi-store runs: moto in server mode on 127.0.0.1.

``python -m conformance.run glance|glare --multi-store`` (and
``conformance.glance_runner --multi-store``) start ``s3_store()``: a moto
server on a free port of 127.0.0.1 in the runner's process and a fresh
bucket in it, then write the same ``[cloud]`` section, in glance_store's
option names (``s3_store_host`` = the moto URL, ``s3_store_bucket``, the
keys), into glance-api.conf and glare.conf.  Both servers then talk S3 to
it over HTTP as they would to any S3 service.  moto (``moto[server]``) is
in Glare's ``test`` extra.

moto checks ``If-None-Match: *`` and then stores the object as two steps
while its server threads run concurrently; real S3 decides a conditional
write atomically.  ``serialize_writes`` puts one lock around moto's object
writes so that the fake is faithful (tests/s3_server.py uses it too).
"""

import contextlib
import logging
import threading
import uuid

# Any key pair works with moto.
ACCESS_KEY = "AKIAGLARETESTKEY"
SECRET_KEY = "glare-test-secret"
REGION = "us-east-1"


def serialize_writes(extra=None):
    """Wrap moto's object writes (PUT, and POST which completes multipart
    uploads) in one lock; ``extra(name, original)`` may wrap each method
    (and more method names: its keys) further.  Returns the function that
    undoes it."""
    from moto.s3.responses import S3Response

    lock = threading.Lock()
    saved = {}
    wrappers = dict(extra or {})
    for name in ("put_object", "_key_response_post"):
        wrappers.setdefault(name, None)
    for name, wrap in wrappers.items():
        original = getattr(S3Response, name)
        saved[name] = original
        locked = name in ("put_object", "_key_response_post")

        def patched(self, *args, __original=original, __locked=locked,
                    __wrap=wrap, **kwargs):
            if __wrap is not None:
                __wrap()
            if not __locked:
                return __original(self, *args, **kwargs)
            with lock:
                return __original(self, *args, **kwargs)
        setattr(S3Response, name, patched)

    def restore():
        for name, original in saved.items():
            setattr(S3Response, name, original)
    return restore


@contextlib.contextmanager
def moto_server(extra=None):
    """moto on a free port of 127.0.0.1 (see ``serialize_writes`` for
    ``extra``); yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise RuntimeError("the multi-store runs need moto's server "
                           "(pip install 'moto[server]', in Glare's test "
                           "extra): %s" % exc)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    restore = serialize_writes(extra)
    # Port 0: the OS picks a free port.
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
    """A raw boto3 client of the server."""
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)


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


@contextlib.contextmanager
def s3_store():
    """A moto server and a fresh bucket; yields (endpoint, bucket)."""
    with moto_server() as endpoint, bucket(endpoint, "conformance") as name:
        yield endpoint, name


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
