"""The one data path: every type's bytes, images included, go through here.

``DataService`` is the engine's collaborator for data (``engine.data``).
Its contract:

* **Upload** (``upload``): exactly one upload into a blob (or folder path)
  at a time.  It first *claims* the slot: a ``saving`` row in
  ``artifact_blobs`` whose claim slot is unique (a second upload gets 409),
  and, for a field with a ``DataFlow`` (images' ``image`` and ``staging``),
  moves the artifact from its initial status to the flow's ``via`` status in
  the same transaction.  The bytes stream into a store under a fresh key
  while the claim heartbeats; the type's hooks filter and judge them; the
  *finish* transaction makes the claim the live blob with its digests and
  its first location, retires what it replaces and moves the status on.
  Any failure before that cancels the write, deletes what was stored and
  releases the claim (the status goes back): nothing half-written stays.
* **Locations**: a blob's data may sit in several places (``locations``,
  ordered); reads try them in store-weight order and fall through to the
  next on a store error.  Retiring a blob (re-upload, delete) marks it and
  all its locations ``pending_delete`` in the caller's transaction; the data
  is removed afterwards (``remove_data``), or by ``glare scrub``.
* **Download** (``open``): a ``Download`` with the blob's size and digests
  and ``read(offset, length)``; faces never call a store driver.
* **Recovery** (``recover_stale_uploads``): claims and imports that
  stopped heartbeating (a killed worker) are released and their
  artifacts' status reset (an import keeps its staged data), so the work
  can start again.

What is Glance's (messages, field names) lives in the images type's
declaration and hooks or in ``glance_compat``, never here.

The package: ``service`` (``DataService``: the checks, upload with its
claim, heartbeat, release and finish, download, the verified copy every
other operation streams through), ``imports`` (import of staged data into
stores), ``copies`` (external data, copies between stores, removing one
copy), ``removal`` (deleting retired data, ``glare scrub``) and ``common``
(what they share).  The modules other than ``service`` are plain functions
of the ``DataService`` they act for; callers use ``DataService`` only.
"""

from artifacts.data.common import (DIGEST_COLUMNS, HEARTBEAT_SECONDS,
                                   TAKEN_OVER)
from artifacts.data.service import DataService

__all__ = ["DIGEST_COLUMNS", "HEARTBEAT_SECONDS", "TAKEN_OVER",
           "DataService"]
