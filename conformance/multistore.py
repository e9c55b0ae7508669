"""Helpers of the multi-store checks (test_stores.py, test_locations.py).

The endpoint has the multi-store configuration of conformance.glance_runner
(filesystem stores ``fast``, the default, and ``cold``, S3 store ``cloud``;
locations and direct_url shown; copy-image offered).  Errors are asked for in text/plain (no Accept header)
and compared byte for byte, as test_errors.py does for the common ones.
"""

import time

import pytest

from conformance.glance_runner import (MULTI_STORE_ALL, MULTI_STORE_IDS,
                                       MULTI_STORE_LOCATION_QUOTA,
                                       MULTI_STORE_S3)
from conformance.test_errors import plain, plain_detail

DEFAULT_STORE, OTHER_STORE = MULTI_STORE_IDS
S3_STORE = MULTI_STORE_S3
# Every store, in enabled_backends (and weight) order: "fast,cold,cloud".
ALL_STORES = ",".join(MULTI_STORE_ALL)
NO_ACCEPT = {"Accept": None}
OCTET = {"Content-Type": "application/octet-stream"}
DATA = b"0123456789"
LOCATION_QUOTA = MULTI_STORE_LOCATION_QUOTA


def assert_error(resp, code, message, detail=False):
    """The exact text/plain error body (``detail``: the message follows
    the class's generic sentence, as for a Forbidden raised with a
    detail)."""
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert resp.text == (plain_detail(code, message) if detail
                         else plain(code, message))


def upload_to(client, store=None, data=DATA, **body):
    """A raw/bare image with ``data`` uploaded to ``store`` (the default
    store when None); returns the image as shown afterwards."""
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    image = client.create_image(**body)
    headers = {"X-Image-Meta-Store": store} if store else {}
    resp = client.upload(image["id"], data, headers=headers)
    assert resp.status_code == 204, (resp.status_code, resp.text)
    return client.show(image["id"])


def import_(client, image_id, body, headers=None, **kw):
    """POST /v2/images/{id}/import (errors in text/plain)."""
    return client.post("/v2/images/%s/import" % image_id, json=body,
                       headers=dict(NO_ACCEPT, **(headers or {})), **kw)


def copy_to(client, image_id, stores=None, **extra):
    body = {"method": {"name": "copy-image"}}
    if stores is not None:
        body["stores"] = stores
    body.update(extra)
    return import_(client, image_id, body)


def wait_for(client, image_id, predicate, timeout=60):
    """Poll the image until ``predicate(image)``; returns the image."""
    deadline = time.time() + timeout
    while True:
        image = client.show(image_id)
        if predicate(image):
            return image
        assert time.time() < deadline, image
        time.sleep(0.2)


def copied_to(stores):
    """A predicate: True once a copy-image task is over, the image being in
    ``stores`` (the "stores" text) and the task having released its lock
    (os_glance_import_task is gone; it is still set for a moment after
    "stores" changes)."""
    def done(image):
        return (image.get("stores") == stores
                and "os_glance_import_task" not in image)
    return done


# The image is in both filesystem stores.
copied = copied_to("%s,%s" % (DEFAULT_STORE, OTHER_STORE))


def in_both_stores(owner, admin):
    """An image of ``owner`` in the default store, copied by ``admin`` to
    the other filesystem store (copy-image is admin-only by default)."""
    return in_stores(owner, admin, [OTHER_STORE])


def in_stores(owner, admin, more):
    """An image of ``owner`` in the default store, copied by ``admin`` to
    the stores ``more`` too."""
    image = upload_to(owner)
    resp = copy_to(admin, image["id"], more)
    assert resp.status_code == 202, (resp.status_code, resp.text)
    wanted = [s for s in MULTI_STORE_ALL if s == DEFAULT_STORE or s in more]
    return wait_for(owner, image["id"], copied_to(",".join(wanted)))


def location(url, metadata=None, **extra):
    value = {"url": url, "metadata": metadata or {}}
    value.update(extra)
    return value
