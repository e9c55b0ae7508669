"""What the data path's operations share: the claim slot of a blob or
folder path, the rule that two names of one folder may not differ only by
case or normalisation, the record of what one upload, import or copy holds
(``Work``), and the messages every operation gives the same way."""

import hashlib

from artifacts import errors, paths
from artifacts.db import api as db
from artifacts.db.models import artifact_blobs
from artifacts.stores import set_note

B = artifact_blobs
HEARTBEAT_SECONDS = 30
DIGEST_COLUMNS = ("md5", "sha1", "sha256", "sha512")
TAKEN_OVER = ("The upload made no progress for longer than the stale limit "
              "and was released; upload the data again.")


def claim_slot(field, path):
    # Folded: two uploads of names that differ only by case or Unicode
    # normalisation race for one claim, so they cannot both land.
    return hashlib.sha1(("claim\x00%s\x00%s" % (
        field, paths.fold(path))).encode("utf-8")).hexdigest()


def case_twin(field, path, blobs):
    """The path of another live file of folder ``field`` that is the same
    file as ``path`` on a case-insensitive or normalising file system."""
    if not path:
        return None
    key = paths.fold(path)
    for blob in blobs:
        if blob["field"] == field and blob["path"] != path and \
                blob["status"] == "active" and paths.fold(blob["path"]) == key:
            return blob["path"]
    return None


def refuse_twin(field, path, twin):
    if twin is not None:
        raise errors.Conflict(
            "Folder '%s' already holds %r, which differs from %r only by "
            "case or Unicode normalisation; names in a folder must be "
            "unique." % (field, twin, path))


class Work:
    """What one upload, import or copy holds until it ends: its claim (an
    ``artifact_blobs`` id, or None) and its recorded store writes
    (``[(record id, store id, key)]``)."""

    def __init__(self, claim=None):
        self.claim = claim
        self.writes = []

    @property
    def write_ids(self):
        return [w[0] for w in self.writes]


class Recording:
    """A store whose ``writer(key)`` first records the write in the
    operation's ``Work`` (in its own committed transaction), so data that
    hooks write (derived files) is as findable after a crash as the
    upload's own."""

    def __init__(self, data, store, artifact_id, work):
        self._data = data
        self._store = store
        self._artifact_id = artifact_id
        self._work = work

    def writer(self, key):
        write_id = self._data.writes.start(self._store.name, key,
                                           self._artifact_id)
        self._work.writes.append((write_id, self._store.name, key))
        return set_note(self._store.writer(key),
                        self._data.writes.noter(write_id))

    def __getattr__(self, name):
        if name.startswith("__") or "_store" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self._store, name)


class InPlace:
    """The meter of staged data that becomes an artifact's data where it
    is (no copy streams through a meter): its bytes are checked against
    the stored-bytes quota in the transaction that makes them count."""

    def __init__(self, meter, size):
        self.meter = meter
        self.size = size

    def settle(self, conn):
        self.meter.settle(conn, unmetered=self.size)


def gone_or_taken_over(conn, artifact_id):
    """Why a finishing status change found another status: the artifact
    was deleted (None: the caller answers Gone), or recovery released the
    upload as stalled and put the status back (Conflict)."""
    if db.get(conn, artifact_id, details=False) is None:
        return None
    raise errors.Conflict(TAKEN_OVER)


def blocks(reader, size=1 << 20):
    """A reader's data as an iterator of blocks."""
    return iter(lambda: reader.read(size), b"")


def transition(atype, status, via):
    return errors.Conflict("%s status transition from %s to %s is not "
                           "allowed" % (atype.noun.capitalize(), status, via))
