"""Glance's notifications of images, members and tasks.

``subscribe(engine, notifier)`` turns the engine's events on the ``images``
type (``artifacts.events``; whichever face made the change) into the
notifications Glance 33 sends, with Glance's event types, priorities and
payloads (``glance/notifier.py``: ``format_image_notification``,
``format_image_member_notification``, ``format_task_notification``), in
Glance's order.  Captured from a real Glance for the same requests:

=====================  ==================================================
create                 image.create
PATCH, tags,           image.update
deactivate/reactivate
PUT /file              image.update (saving), image.prepare, then
                       image.upload, image.activate, image.update (active);
                       a failure: image.upload at ERROR priority (the
                       payload is a sentence, as Glance's), image.update
                       (queued)
PUT /stage             image.update (uploading), image.update (staged)
import (glance-direct) image.update (importing), image.prepare,
                       image.upload, image.activate, image.update
import (copy-image)    image.update (importing_to_stores), then per store
                       image.prepare (``backend``), image.upload (or its
                       ERROR), image.update
DELETE /v2/stores/...  image.update
delete                 image.delete (deleted true, deleted_at)
GET /file finished     image.send (bytes_sent, receiver ids), ERROR when
                       the store gave less than promised
members                image.member.create / update / delete
tasks (imports, the    task.create (pending), task.processing (claimed),
tasks API)             task.success or task.failure, task.run (once
                       handed to its runner; after the work for an
                       import run in the request, as Glance's executor)
=====================  ==================================================

glance-direct, as Glance: task.create, task.processing, the image's
import notifications, image.update (the import lock let go), task.success,
task.run.  Metadata definitions: ``glance_compat.metadef_notifications``.

With ``enabled_backends``, image.prepare names the store (``backend``).
Payloads never carry locations (they may hold credentials), as Glance's.
Everything here runs after the change is committed (the engine emits
events then) and never fails the request: ``glare.notifier`` queues and
sends, and drops what the broker does not take.
"""

import logging
import os

LOG = logging.getLogger(__name__)

IMAGES = "images"

# Declared fields of the images type that are Glance base attributes (the
# rest of an image's properties are Glance's "extra properties").
BASE_FIELDS = frozenset({"disk_format", "container_format", "size",
                         "virtual_size", "checksum", "min_ram", "min_disk",
                         "os_hash_algo", "os_hash_value"})
IMPORTING = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"


def isotime(value):
    """Glance's ``timeutils.isotime``: whole seconds, ``Z``; strings (a
    time already rendered) pass through."""
    if value is None or isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------- payloads

def image_payload(image):
    """``format_image_notification`` of an ``images`` artifact."""
    props = image["properties"]
    return {
        "id": image["id"],
        "name": image["name"],
        "status": image["status"],
        "created_at": isotime(image["created_at"]),
        "updated_at": isotime(image["updated_at"]),
        "min_disk": props.get("min_disk") or 0,
        "min_ram": props.get("min_ram") or 0,
        "protected": bool(image["protected"]),
        "checksum": props.get("checksum"),
        "owner": image["owner"],
        "disk_format": props.get("disk_format"),
        "container_format": props.get("container_format"),
        "size": props.get("size"),
        "virtual_size": props.get("virtual_size"),
        "is_public": image["visibility"] == "public",
        "visibility": image["visibility"],
        "properties": {k: v for k, v in props.items()
                       if k not in BASE_FIELDS},
        "tags": sorted(image["tags"]),
        "deleted": False,
        "deleted_at": None,
    }


def import_lists(image):
    """What Glance adds to image.prepare and image.upload: its import
    progress properties as lists."""
    props = image["properties"]
    return {key: [s for s in (props.get(key) or "").split(",") if s]
            for key in (IMPORTING, FAILED_IMPORT)}


def deleted_image_payload(image, deleted_at, status="deleted"):
    """image.delete: the image as it was, marked deleted."""
    payload = image_payload(image)
    payload.update(status=status, updated_at=isotime(deleted_at),
                   deleted=True, deleted_at=isotime(deleted_at))
    return payload


def member_payload(row, deleted_at=None):
    """``format_image_member_notification`` of a member row."""
    return {
        "image_id": row["artifact_id"],
        "member_id": row["member"],
        "status": row["status"],
        "created_at": isotime(row["created_at"]),
        "updated_at": isotime(row["updated_at"]),
        "deleted": deleted_at is not None,
        "deleted_at": isotime(deleted_at),
    }


def task_payload(task):
    """``format_task_notification``: never the task's input, result or
    message (they may hold credentials or URLs), as in Glance."""
    return {
        "id": task["id"],
        "type": task["type"],
        "status": task["status"],
        "result": None,
        "owner": task.get("owner"),
        "message": None,
        "expires_at": isotime(task.get("expires_at")),
        "created_at": isotime(task.get("created_at")),
        "updated_at": isotime(task.get("updated_at")),
        "deleted": bool(task.get("deleted")),
        "deleted_at": isotime(task.get("deleted_at")),
    }


def send_payload(image, ctx, bytes_sent):
    """image.send: who received how many bytes of whose image."""
    return {
        "bytes_sent": bytes_sent,
        "image_id": image["id"],
        "owner_id": image["owner"],
        "receiver_tenant_id": getattr(ctx, "project_id", None),
        "receiver_user_id": getattr(ctx, "user_id", None),
    }


# Glance's sentences for an upload that failed (ImageProxy.set_data), by
# the kind of failure.
_UPLOAD_ERRORS = {
    "Forbidden": "Not allowed to upload image data for image %s: %s",
    "Conflict": "Unable to upload duplicate image data for image %s: %s",
    "Gone": "Image %s could not be found after upload. The image may have "
            "been deleted during the upload: %s",
    "NotFound": "Image %s could not be found after upload. The image may "
                "have been deleted during the upload: %s",
    "Invalid": "Cannot save data for image %s: %s",
}
_INTERNAL = "Failed to upload image data for image %s due to internal " \
            "error: %s"


def upload_error(image_id, error):
    """The ERROR payload of image.upload: a sentence, as Glance sends."""
    if error is None:
        text = "unknown error"
    else:
        text = getattr(error, "message", None) or str(error) or \
            type(error).__name__
    template = _UPLOAD_ERRORS.get(type(error).__name__, _INTERNAL)
    return template % (image_id, text)


# ------------------------------------------------------------- emitting

def subscribe(engine, notifier, multi_store=False):
    """Send Glance's notifications for the engine's image events through
    ``notifier`` (``glare.notifier``); ``multi_store``: image.prepare
    names the store it writes to (``backend``), as Glance's does with
    ``enabled_backends``; tasks' events become ``task.*``."""
    engine.notifier = notifier
    if not notifier.enabled:
        return
    listener = ImageEvents(notifier, multi_store)
    engine.events.subscribe(listener)
    engine.events.subscribe(TaskEvents(notifier))


class ImageEvents:
    """The engine-event listener; one method per event name."""

    def __init__(self, notifier, multi_store=False):
        self.notifier = notifier
        self.multi_store = multi_store

    def __call__(self, event):
        if getattr(event.atype, "name", None) != IMAGES or \
                event.name.startswith("task_"):
            return
        handler = getattr(self, "on_" + event.name, None)
        if handler is not None:
            handler(event)

    def _info(self, event_type, payload):
        self.notifier.info(event_type, payload)

    def _update(self, event):
        self._info("image.update", image_payload(event.artifact))

    def on_create(self, event):
        self._info("image.create", image_payload(event.artifact))

    on_update = on_status = on_activate = _update
    on_location_removed = _update

    def on_delete(self, event):
        self._info("image.delete", deleted_image_payload(
            event.artifact, event.details["deleted_at"],
            event.details.get("status") or "deleted"))

    def _prepare(self, event, store=None):
        payload = dict(image_payload(event.artifact),
                       **import_lists(event.artifact))
        if self.multi_store and store:
            payload["backend"] = store
        self._info("image.prepare", payload)

    def _stored(self, event):
        image = event.artifact
        self._info("image.upload", dict(image_payload(image),
                                        **import_lists(image)))
        if image["status"] == "active":
            self._info("image.activate", image_payload(image))
        self._update(event)

    def _failed(self, event):
        self.notifier.error("image.upload", upload_error(
            event.artifact_id, event.details.get("error")))
        self._restored(event)

    def _restored(self, event):
        """The image back in its status after a failure (Glance saves it
        so), unless it was deleted meanwhile."""
        image = event.artifact
        if image is not None and not image.get("deleted"):
            self._update(event)

    def on_upload_start(self, event):
        self._update(event)
        if event.details.get("field") == "image":
            self._prepare(event, event.details.get("store"))

    def on_upload_done(self, event):
        if event.details.get("field") == "image":
            self._stored(event)
        else:       # staged: Glance saves the image with its size
            self._update(event)

    def on_upload_failed(self, event):
        if event.details.get("field") == "image":
            self._failed(event)
        else:
            self._restored(event)

    def on_import_start(self, event):
        self._update(event)
        self._prepare(event)

    def on_import_done(self, event):
        self._stored(event)

    def on_import_failed(self, event):
        self._failed(event)

    # copy-image: Glance's import task writes each store with set_data,
    # so each copy is image.prepare (naming the store), then image.upload
    # or its ERROR.
    def on_copy_start(self, event):
        self._prepare(event, event.details.get("store"))

    def on_copy_done(self, event):
        image = event.artifact
        self._info("image.upload", dict(image_payload(image),
                                        **import_lists(image)))

    def on_copy_failed(self, event):
        self.notifier.error("image.upload", upload_error(
            event.artifact_id, event.details.get("error")))

    def on_member_create(self, event):
        self._info("image.member.create",
                   member_payload(event.details["member"]))

    def on_member_update(self, event):
        self._info("image.member.update",
                   member_payload(event.details["member"]))

    def on_member_delete(self, event):
        self._info("image.member.delete", member_payload(
            event.details["member"], event.details["deleted_at"]))


# Glance also defines task.delete, which no request of its API sends.
TASK_EVENTS = ("create", "processing", "success", "failure", "run")


class TaskEvents:
    """The engine's ``task_<event>`` (``artifacts.tasks``, whichever
    type or face the task is for) as Glance's ``task.<event>``."""

    def __init__(self, notifier):
        self.notifier = notifier

    def __call__(self, event):
        name = event.name[len("task_"):]
        if not event.name.startswith("task_") or name not in TASK_EVENTS:
            return
        self.notifier.info("task." + name,
                           task_payload(event.details["task"]))


# ------------------------------------------------------------ downloads

def count_sent(engine, ctx, image, reader, length):
    """``reader`` (a store reader the server sends, maybe with sendfile)
    wrapped so that image.send goes out once the body has, as Glance
    sends it when its data iterator is exhausted; ``reader`` itself when
    notifications are off."""
    notifier = getattr(engine, "notifier", None)
    if notifier is None or not notifier.enabled or \
            not notifier.is_enabled("image.send"):
        return reader

    def finished(sent, store_failed):
        payload = send_payload(image, ctx, sent)
        if store_failed:
            notifier.error("image.send", payload)
        else:
            notifier.info("image.send", payload)
    return SentCounter(reader, length, finished)


class SentCounter:
    """A reader that counts what the server sent of it and calls
    ``finished(bytes_sent, store_failed)`` once: when all ``length`` bytes
    went out (at the server's next read, or once ``sendfile`` returns, so
    before the response ends, where Glance's exhausted iterator notifies)
    or, at ``close``, when the store failed part way (Glance's ERROR
    case).  A client that went away early gets nothing (Glance's iterator
    is then closed before it could notify).

    The server either reads (counted) or sends the file descriptor with
    ``socket.sendfile``, which leaves the file position after the data it
    sent through ``seek`` (documented: "file.tell() can be used to figure
    out the number of bytes which were sent"); ``seek`` and ``tell`` are
    therefore the descriptor's, and the furthest position is counted."""

    def __init__(self, reader, length, finished):
        self._reader = reader
        self._length = length or 0
        self._finished = finished
        self._read = 0
        self._start = None
        self._end = None
        self._store_failed = False
        self._reported = False

    def read(self, n=-1):
        try:
            data = self._reader.read(n)
        except Exception:
            self._store_failed = True
            raise
        self._read += len(data)
        if not data and self.bytes_sent >= self._length:
            self._report()
        return data

    def fileno(self):
        fd = self._reader.fileno()
        if self._start is None:
            self._start = os.lseek(fd, 0, os.SEEK_CUR)
        return fd

    def seek(self, offset, whence=os.SEEK_SET):
        position = os.lseek(self.fileno(), offset, whence)
        self._end = max(self._end or 0, position)
        if self.bytes_sent >= self._length:
            self._report()
        return position

    def tell(self):
        return os.lseek(self.fileno(), 0, os.SEEK_CUR)

    def __getattr__(self, name):
        if name.startswith("__") or "_reader" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self._reader, name)

    @property
    def bytes_sent(self):
        sent = self._read
        if self._end is not None and self._start is not None:
            sent += max(0, self._end - self._start)
        return sent

    def close(self):
        try:
            self._reader.close()
        finally:
            if self._store_failed or self.bytes_sent >= self._length:
                self._report()
            elif not self._reported:
                LOG.debug("Download ended after %d of %d bytes; no "
                          "image.send", self.bytes_sent, self._length)

    def _report(self):
        if self._reported:
            return
        self._reported = True
        try:
            self._finished(self.bytes_sent, self._store_failed)
        except Exception:  # noqa: BLE001 - never fails the download
            LOG.exception("Could not send image.send")
