"""Data that already sits somewhere, registered by URL and checked outside
the request (the Image API's v2.17 location API; Glance's
``location_import`` task).

``Registration.submit`` (``engine.registration``) takes the request: the
artifact must be in its initial status; it writes a ``register`` data job
(payload: the URL, the digest the client expects and its algorithm, and
whether the caller is trusted, for ``artifacts.locations.resolve``),
with the ``task`` it is asked for (Glance's ``location_import``): a task
of ``artifacts.tasks`` created waiting for the job (its id is the job's
batch), in one transaction with the job, that takes the type's task lock
property as an import task does (Conflict while another live task holds
it) and is finished, freeing the lock, when the job ends.  The request
then answers; a worker's runner (``artifacts.jobs``) does the rest
(``run``), and another worker takes it over when that one dies:

1. the URL is resolved (the rules of ``artifacts.locations``);
2. it becomes the field's first location in one update, with the size:
   the status moves from the initial one to the flow's ``checking``
   status when a digest is expected, else to the flow's end (``active``);
3. the data is read once, streamed, md5 and the algorithm computed while
   the job's lease is renewed (crash recovery leaves a ``checking``
   artifact alone while its data job is live).  A store this service
   cannot read (``foreign``: rbd, cinder ...) is not read: the expected
   digest is taken on trust;
4. a digest other than the expected one, or data that cannot be read
   while ``checking``, undoes step 2: the location is forgotten (its data
   is left where it was: it never became Glare's) and the artifact is back
   in its initial status with no size or digests.  Without an expected
   digest the artifact stays active whatever the read gave (Glance only
   warns);
5. otherwise the digests are recorded and a ``checking`` artifact becomes
   active.

What the data sets on the artifact comes from the type's
``data_registered`` hooks (images: size, checksum, os_hash_algo,
os_hash_value).  However the job ends, its task ends with it
(``Tasks.batch_done``) and the lock property goes with the task.
"""

import json
import logging

from artifacts import errors, types
from artifacts.data import DIGEST_COLUMNS
from artifacts.db import api as db
from artifacts.db.models import artifact_blobs, data_jobs
from artifacts.db.session import read, transaction
from artifacts.jobs import SYSTEM, set_system
from artifacts.locations import Added, BadLocation, LocationEdit
from artifacts.stores import redact
from artifacts.stores.placement import open_locations
from artifacts.stores.streaming import new_hashers

LOG = logging.getLogger(__name__)

B = artifact_blobs
J = data_jobs
KIND = "register"


class Registration:
    """Register data by URL, checked by a durable job; see the module
    docstring."""

    def __init__(self, engine):
        self.engine = engine

    @property
    def db(self):
        return self.engine.db

    # -------------------------------------------------------------- submit

    def submit(self, ctx, atype, artifact_id, field, url, task,
               expected=None, algorithm=None):
        """Queue the registration of ``url`` as ``field``'s data, checked
        against ``expected`` (hex digest of ``algorithm``; default the
        configured hashing algorithm); returns the job's batch id.
        ``task``: ``(task type, task input)`` of the task that stands for
        the job (its id is the batch; it holds the type's task lock until
        the job ends; Conflict while another live task holds it)."""
        flow = atype.data_flows.get(field)
        if flow is None:
            raise errors.Invalid("%s field '%s' takes no registered data."
                                 % (atype.name, field))
        algorithm = algorithm or self.engine.limits.hashing_algorithm
        new_hashers([algorithm])       # Invalid for an unknown algorithm
        payload = json.dumps({"url": url, "algorithm": algorithm,
                              "expected": expected and expected.lower(),
                              "trusted": ctx.is_admin})

        def insert_job(conn, batch):
            row = db.get(conn, artifact_id, atype.name)
            if row is None:
                raise errors.NotFound("No %s found with ID %s"
                                      % (atype.noun, artifact_id))
            if row["status"] != atype.initial_status:
                raise errors.Conflict("The %s is %s, not %s."
                                      % (atype.noun, row["status"],
                                         atype.initial_status))
            now = db.utcnow()
            conn.execute(J.insert().values(
                artifact_id=artifact_id, type_name=atype.name, field=field,
                store="", batch=batch, must_succeed=True, status="pending",
                attempts=0, kind=KIND, payload=payload, created_at=now,
                updated_at=now))
        # Created like an import's copy task: waiting for its batch,
        # holding the lock; the job's end finishes it.
        batch = self.engine.tasks.create(
            ctx, task[0], task[1], atype=atype, artifact_id=artifact_id,
            waiting=True, also=insert_job)["id"]
        LOG.info("Registration of %s as the data of %s %s queued",
                 redact(url), atype.noun, artifact_id)
        return batch

    # ----------------------------------------------------------------- run

    def run(self, job, on_chunk, give_up=False):
        """Run (or take over, or with ``give_up`` abandon) a registration
        job; returns None when it succeeded, else why it failed.  The
        runner finishes the job's task (and so frees the lock) once the
        job is recorded as ended."""
        atype = types.all_types().get(job["type_name"])
        if atype is None:
            return "type %s is not loaded here" % job["type_name"]
        payload = json.loads(job["payload"] or "{}")
        if give_up:
            self._undo(atype, job, payload)
            return "gave up after %d attempts" % (job["attempts"] - 1)
        return self._register(atype, job, payload, on_chunk)

    def _artifact(self, atype, artifact_id):
        return read(self.db, lambda c: db.get(c, artifact_id, atype.name))

    @staticmethod
    def _blob(artifact, field):
        return next((b for b in artifact["blobs"] if b["field"] == field
                     and not b["path"] and b["status"] == "active"), None)

    def _register(self, atype, job, payload, on_chunk):
        artifact_id, field = job["artifact_id"], job["field"]
        flow = atype.data_flows[field]
        url, expected = payload["url"], payload.get("expected")
        artifact = self._artifact(atype, artifact_id)
        if artifact is None:
            return "the %s is gone" % atype.noun
        blob = self._blob(artifact, field)
        mine = blob is not None and any(
            loc["url"] == url for loc in blob["locations"])
        if not mine:
            if blob is not None or \
                    artifact["status"] != atype.initial_status:
                return "the %s is %s, not %s" % (
                    atype.noun, artifact["status"], atype.initial_status)
            try:
                resolved = self.engine.locations.resolve(
                    url, trusted=bool(payload.get("trusted")))
            except BadLocation as exc:
                return exc.message
            status = flow.checking if expected else None
            values = self._recorded(atype, artifact, field, resolved.size,
                                    None, payload["algorithm"])

            def mutate(new):
                if new["status"] != atype.initial_status or \
                        self._blob(new, field) is not None:
                    raise errors.Conflict("The %s changed." % atype.noun)
                return LocationEdit(field, [Added(resolved, {})],
                                    values=values, status=status)
            try:
                self.engine.update(SYSTEM, atype, artifact_id, mutate,
                                   rule=None)
            except (errors.Conflict, errors.NotFound, BadLocation) as exc:
                return exc.message
            artifact = self._artifact(atype, artifact_id)
            blob = self._blob(artifact, field)
        return self._check(atype, job, payload, artifact, blob, on_chunk)

    def _check(self, atype, job, payload, artifact, blob, on_chunk):
        """Steps 3 to 5: read, compare, record."""
        field, expected = job["field"], payload.get("expected")
        algorithm = payload["algorithm"]
        flow = atype.data_flows[field]
        checking = flow.checking if expected else None
        try:
            digests = self._digests(blob, algorithm, on_chunk)
        except errors.ArtifactError as exc:
            if checking:
                self._undo(atype, job, payload)
                return "the data could not be read: %s" % exc.message
            LOG.warning("Digests of %s %s could not be computed: %s",
                        atype.noun, artifact["id"], exc.message)
            return None
        if digests is None:         # a store that cannot be read
            digests = {algorithm: expected} if expected else {}
        elif expected and digests[algorithm] != expected:
            self._undo(atype, job, payload)
            return ("the data's %s digest %s is not the expected %s"
                    % (algorithm, digests[algorithm], expected))
        values = self._recorded(atype, artifact, field, blob["size"],
                                digests, algorithm)

        def finish(conn):
            if checking and not db.set_status(conn, artifact["id"],
                                              checking, flow.to):
                return False
            set_system(conn, artifact["id"], values)
            conn.execute(B.update().where(B.c.id == blob["id"])
                         .values(**{a: digests.get(a) for a in DIGEST_COLUMNS
                                    if digests.get(a)}))
            return True
        with self.engine._locked(atype, artifact["id"], "register"):
            if not transaction(self.db, finish):
                return "the %s changed status while its data was checked" \
                    % atype.noun
        LOG.info("Registered %s as the data of %s %s", redact(
            payload["url"]), atype.noun, artifact["id"])
        return None

    def _digests(self, blob, algorithm, on_chunk):
        """md5 and ``algorithm`` of the blob's data, read once (None when
        its store cannot be read at all)."""
        stores = self.engine.data.stores
        store = blob["locations"][0]["store"]
        if stores.driver(store).describe().get("readable") is False:
            return None
        hashers = new_hashers(dict.fromkeys(("md5", algorithm)))
        reader = open_locations(stores, blob)
        total = 0
        try:
            for block in iter(lambda: reader.read(1 << 20), b""):
                for hasher in hashers.values():
                    hasher.update(block)
                total += len(block)
                on_chunk(total)
        finally:
            reader.close()
        if blob["size"] is not None and total != blob["size"]:
            raise errors.StoreUnavailable("%d bytes were read, not %d."
                                          % (total, blob["size"]))
        return {name: h.hexdigest() for name, h in hashers.items()}

    def _recorded(self, atype, artifact, field, size, digests, algorithm):
        values = {}
        for hook in atype.hooks.get("data_registered", ()):
            values.update(hook(None, artifact, size=size, digests=digests,
                               algorithm=algorithm, field=field) or {})
        return values

    def _undo(self, atype, job, payload):
        """Forget the registered location (never its data) and put the
        artifact back in its initial status, if it is still being
        checked (data that became the artifact's without a check stays)."""
        artifact_id, field = job["artifact_id"], job["field"]
        flow = atype.data_flows[field]
        artifact = self._artifact(atype, artifact_id)
        blob = artifact and self._blob(artifact, field)
        if blob is None or not flow.checking or not any(
                loc["url"] == payload["url"] for loc in blob["locations"]):
            return
        values = self._recorded(atype, artifact, field, None, None, None)

        def run(conn):
            if not db.set_status(conn, artifact_id, flow.checking,
                                 atype.initial_status):
                return
            db.forget_blob(conn, blob["id"])
            set_system(conn, artifact_id, values)
        with self.engine._locked(atype, artifact_id, "register"):
            transaction(self.db, run)
        LOG.warning("Registration of %s as the data of %s %s undone",
                    redact(payload["url"]), atype.noun, artifact_id)
