"""A real S3-protocol server for the tests: moto in server mode on
127.0.0.1 (``moto[server]``, a test extra), in this process.

``s3_endpoint`` (a session fixture of tests/conftest.py) starts one moto
server per test process on a free port (``conformance.s3``, which the
multi-store conformance runs use too, with its lock that makes moto's
conditional writes atomic as S3's are) and stops it at the end; drivers,
Glare servers and a real Glance reach it over HTTP like any S3 service.
Buckets are made per test or module (``bucket``), and emptied and removed
afterwards (moto keeps objects in memory).

``Latency.seconds``: each PUT of an object or of a part waits this long
first (0 by default), so a test can make the store slow enough to kill a
server in the middle of a copy; ``Latency.parts`` and ``Latency.puts``
count what arrived.
"""

import contextlib
import threading

from conformance.s3 import (ACCESS_KEY, SECRET_KEY, bucket,  # noqa: F401
                            client, glance_section)
from conformance.s3 import moto_server as _moto_server

CREDENTIALS = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}


class Latency:
    """Delay and count of object writes (see the module docstring)."""

    seconds = 0.0
    parts = 0
    puts = 0


def _slow(counter):
    def wait():
        setattr(Latency, counter, getattr(Latency, counter) + 1)
        if Latency.seconds:
            threading.Event().wait(Latency.seconds)
    return wait


@contextlib.contextmanager
def moto_server():
    """Run moto on a free port of 127.0.0.1; yields its endpoint URL."""
    with _moto_server({"put_object": _slow("puts"),
                       "upload_part": _slow("parts")}) as endpoint:
        yield endpoint


def objects(admin, bucket_name):
    """Keys of the bucket's objects and of its unfinished multipart
    uploads (``"<key> (multipart upload <id>)"``), sorted."""
    found = []
    for page in admin.get_paginator("list_objects_v2").paginate(
            Bucket=bucket_name):
        found.extend(obj["Key"] for obj in page.get("Contents", ()))
    found.extend("%s (multipart upload %s)" % (u["Key"], u["UploadId"])
                 for u in admin.list_multipart_uploads(
                     Bucket=bucket_name).get("Uploads", ()))
    return sorted(found)
