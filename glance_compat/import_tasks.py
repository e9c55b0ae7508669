"""The work behind Glance's tasks: what runs when an import task runs.

Registered on ``engine.tasks`` by the app factory (``register``), so every
worker's task runner can run (or take over) any of them:

``api_image_import``  the task of ``POST /v2/images/{id}/import``.
    ``glance-direct``: the staged data becomes the image's data in every
    target store (run in the request's thread, or by a task runner when
    import plugins are configured).
    ``web-download``: the data is fetched (``artifacts.net.fetch``: every
    hop checked against ``[import_filtering_opts]`` and Glare's address
    rules, connected to the checked address) and streamed into the
    staging store exactly as a ``PUT /stage`` body is -- hashed and
    inspected as it arrives, never whole in memory -- then imported like
    glance-direct.  On failure the image is ``queued`` again, the staged
    data is deleted and the stores are listed in
    ``os_glance_failed_import``, as Glance does.
    ``glance-download``: the remote region's image record and data are
    read with the caller's token (``glance_download``; the token lives
    only in the accepting process's memory) and the data is staged
    through the same path as web-download's, then imported.
    All three pass the import plugins (``[image_import_opts]
    image_import_plugins``, ``artifacts.image_import``) before the copy
    into the stores; one that refuses the data fails the import as
    Glance's do: image ``queued``, staged data gone.
    ``copy-image``: data jobs do the copies; ``copies_done`` finishes the
    task when the last one ends.
``import``  the legacy task of ``POST /v2/tasks``: a new image from
    ``image_properties``, its data fetched from ``import_from`` through
    the upload path; the image is deleted if that fails.

Results and messages are Glance's: ``{"image_id": ...}`` and
``"Copied <n> MiB"``.
"""

import logging

from artifacts import errors
from artifacts.context import RequestContext
from artifacts.jobs import SYSTEM
from artifacts.net import fetch, urls
from artifacts.types.images import FAILED_IMPORT, IMPORTING
from glance_compat import glance_download
from glance_compat import images as image_views
from glance_compat import usage as glance_usage

LOG = logging.getLogger(__name__)

API_IMAGE_IMPORT = "api_image_import"
# Where the app keeps the registered ImportWork (flask app.extensions).
EXTENSION = "glare_import_work"
LEGACY_IMPORT = "import"
MiB = 1024 * 1024
WEB_DOWNLOAD = "web-download"
GLANCE_DIRECT = "glance-direct"
GLANCE_DOWNLOAD = glance_download.GLANCE_DOWNLOAD
FETCHED = (WEB_DOWNLOAD, GLANCE_DOWNLOAD)
LEGACY_KEYS = ("import_from", "import_from_format", "image_properties")


def register(engine, atype, schemas,
             download_properties=glance_download.DEFAULT_EXTRA_PROPERTIES):
    """Register the handlers; ``download_properties`` are the prefixes of
    the properties glance-download copies from the remote image."""
    work = ImportWork(engine, atype, schemas, download_properties)
    engine.tasks.register(API_IMAGE_IMPORT, run=glance_words(work.run),
                          batch_done=work.copies_done)
    engine.tasks.register(LEGACY_IMPORT, run=glance_words(work.legacy))
    return work


def glance_words(handler):
    """A task handler whose refusal by one of the images' quotas fails
    the task with Glance's words ("... image_stage_total is over limit of
    N ..."), as Glance's import flow records them."""
    def run(task, beat):
        try:
            return handler(task, beat)
        except errors.RequestTooLarge as exc:
            words = glance_usage.glance_message(getattr(exc, "quota", None))
            if words:
                exc.message = words
            raise
    return run


def copied(size):
    return "Copied %d MiB" % ((size or 0) // MiB)


def import_stores(task):
    """The target store ids of an import task (None: the default)."""
    return [s for s in (task["input"] or {}).get("backend") or [] if s]


class ImportWork:
    """The task handlers; see the module docstring."""

    def __init__(self, engine, atype, schemas, download_properties=()):
        self.engine = engine
        self.atype = atype
        self.schemas = schemas
        # glance-download's credentials, held by this process only.
        self.handover = glance_download.Handover(engine.tasks)
        self.download = glance_download.Download(
            engine, atype, self.handover, download_properties,
            self._stage_from)
        # Glance's import plugins (artifacts.image_import), run over the
        # staged data before it is imported.
        self.plugins = engine.import_plugins

    # ------------------------------------------------ api_image_import

    def run(self, task, beat):
        task_input = task["input"] or {}
        image_id = task_input.get("image_id")
        request = task_input.get("import_req") or {}
        method = (request.get("method") or {}).get("name")
        if not image_id:
            raise errors.Invalid("Input to api_image_import task is empty."
                                 if not task_input else
                                 "Missing required 'image_id' field")
        stores = import_stores(task)
        must_succeed = request.get("all_stores_must_succeed", True)
        if task["attempts"] > 1:
            self._recover(image_id, method)
        staged = False
        try:
            if method == WEB_DOWNLOAD:
                self._stage_from(image_id, request["method"].get("uri"),
                                 task, beat)
                staged = True
            elif method == GLANCE_DOWNLOAD:
                self.download.stage(image_id, request["method"], task, beat)
                staged = True
            elif method != GLANCE_DIRECT:
                raise errors.Invalid("Import method %r is not run by a task."
                                     % method)
            try:
                self.plugins.run(self.engine, self.atype, image_id,
                                 task["id"], beat, SYSTEM)
            except BaseException:
                # Glance: a plugin's failure removes the staged data too.
                staged = True
                raise
            self.engine.data.import_staged(
                SYSTEM, self.atype, image_id, stores=stores or None,
                all_must_succeed=must_succeed,
                properties=lambda failed: {IMPORTING: "",
                                           FAILED_IMPORT: ",".join(failed)})
        except BaseException:
            if staged:
                # Glance: the image is queued again, its staged data gone.
                self.engine.data.discard_staged(self.atype, image_id)
            self._failed(image_id, stores)
            raise
        image = self.engine.get(SYSTEM, self.atype, image_id)
        return {"image_id": image_id}, copied(
            image["properties"].get("size"))

    def _stage_from(self, image_id, uri, task, beat, method=WEB_DOWNLOAD,
                    headers=None, expected=None):
        """Fetch ``uri`` into the image's staging data (sending
        ``headers``); with ``expected`` a body of another length fails the
        write (glance-download's size check) so nothing is staged."""
        image = self.engine.get(SYSTEM, self.atype, image_id)
        if image["status"] != self.atype.initial_status:
            raise errors.Conflict("Image needs to be in 'queued' state to "
                                  "use '%s' method" % method)
        try:
            fetched = fetch.open_url(uri, self.engine.import_policy,
                                     headers=headers)
        except urls.Refused as exc:
            raise fetch.FetchFailed("%s for %s does not pass filtering: %s "
                                    "(%s)" % ("URI" if method == WEB_DOWNLOAD
                                              else "Processed URI", method,
                                              uri, exc.message))
        LOG.info("Task %s: fetching %s for image %s from %s", task["id"],
                 fetched.url, image_id, fetched.address)
        chunks = _counted(fetched.chunks(), beat)
        if expected is not None:
            chunks = _sized(chunks, expected, task["id"])
        self.engine.data.upload(SYSTEM, self.atype, image_id, "staging",
                                chunks)

    def _recover(self, image_id, method):
        """A task taken over from a worker that died: release what that
        worker held, and for a fetch drop what it staged, so the work
        starts again from the beginning."""
        self.engine.data.recover_stale_uploads([self.atype])
        if method in FETCHED:
            self.engine.data.discard_staged(self.atype, image_id)

    def _failed(self, image_id, stores):
        """Glance's progress properties after a failed import: the stores
        are no longer being imported to, and they failed."""
        def mutate(image):
            props = image["properties"]
            failed = [s for s in (props.get(FAILED_IMPORT) or "").split(",")
                      if s]
            props[IMPORTING] = ",".join(
                s for s in (props.get(IMPORTING) or "").split(",")
                if s and s not in stores)
            props[FAILED_IMPORT] = ",".join(
                failed + [s for s in stores if s not in failed])
        try:
            self.engine.update(SYSTEM, self.atype, image_id, mutate)
        except (errors.NotFound, errors.Gone):
            pass

    def copies_done(self, task, failed):
        """A copy-image task's data jobs have all ended."""
        image_id = (task["input"] or {}).get("image_id")
        try:
            size = self.engine.get(SYSTEM, self.atype, image_id)[
                "properties"].get("size")
        except errors.NotFound:
            return "failure", None, "Image %s was deleted." % image_id
        request = (task["input"] or {}).get("import_req") or {}
        if failed and request.get("all_stores_must_succeed", True):
            return ("failure", None, "Copying to store(s) %s failed."
                    % ", ".join(failed))
        return "success", {"image_id": image_id}, copied(size)

    # ---------------------------------------------------- legacy import

    def legacy(self, task, beat):
        task_input = task["input"] or {}
        for key in LEGACY_KEYS:
            if key not in task_input:
                raise errors.Invalid("Input does not contain '%s' field"
                                     % key)
        ctx = RequestContext(project_id=task["owner"],
                             user_id=task["user_id"],
                             roles=("admin", "member", "reader"),
                             request_id=task["request_id"] or "")
        props = dict(task_input["image_properties"] or {}) or {
            "disk_format": "qcow2", "container_format": "bare"}
        image = self.engine.create(ctx, self.atype,
                                   image_views.create_values(
                                       props, self.schemas))
        try:
            try:
                fetched = fetch.open_url(task_input["import_from"],
                                         self.engine.import_policy)
            except urls.Refused as exc:
                raise fetch.FetchFailed("URI for legacy import task does "
                                        "not pass filtering: %s (%s)" % (
                                            task_input["import_from"],
                                            exc.message))
            self.engine.data.upload(ctx, self.atype, image["id"], "image",
                                    _counted(fetched.chunks(), beat))
        except BaseException:
            try:
                self.engine.delete(ctx, self.atype, image["id"])
            except errors.ArtifactError:
                LOG.exception("Could not delete image %s of failed task %s",
                              image["id"], task["id"])
            raise
        return {"image_id": image["id"]}, ""


def _sized(chunks, expected, task_id):
    """Pass blocks through; Glance's failure when there are not exactly
    ``expected`` bytes (raised as soon as there are too many)."""
    total = 0
    for block in chunks:
        total += len(block)
        if total > expected:
            break
        yield block
    if total != expected:
        raise errors.Invalid("Task %s failed because downloaded data size "
                             "%d is different from expected %d"
                             % (task_id, total, expected))


def _counted(chunks, beat):
    """Pass blocks through, heartbeating the task as they go."""
    total = 0
    for block in chunks:
        total += len(block)
        beat(total)
        yield block
