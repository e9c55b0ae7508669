"""Glance's ``glance-download`` import: an image of another region's Glance
(or Glare) becomes this image's data.

The request (``imports``) checks the method's body with Glance's 400s
(``check_request``) and hands the caller's token and service catalog to
``Handover``: a map in the memory of the process that accepted the import,
keyed by task id, never written to the database.  The task is created
claimed by this process and run by a thread of this process
(``Handover.start``), so no other worker's runner takes it while it lives.
A runner that finds a glance-download task without its credentials (the
accepting process stopped and another one took the task over, or it was
restarted) fails it with ``NO_CREDENTIALS``: the image is ``queued`` again
with ``os_glance_failed_import``, as after any failed import.

The task's work (``stage``), as Glance 33's ``_ImportMetadata`` and
``_DownloadGlanceImage``: the endpoint is found in the caller's catalog by
region and interface (``find_endpoint``; not found is Glance's "<interface>
glance endpoint not found for region <region>"), the remote image's record
is read with the caller's token and must be ``active`` ("Source image
status should be active instead of ..."), its disk and container formats
and the properties named by ``[glance_download_properties]
extra_properties`` (prefixes; ``os_glance_*`` never) are set on this image,
then ``/v2/images/<id>/file`` is streamed into staging through the same
pinned fetch as web-download, and the staged size must be the remote's.
On failure the copied properties and formats are put back.

Without Keystone (embedded mode) a request has a catalog only when a
trusted front sends ``X-Service-Catalog``; without one the task fails with
Glance's endpoint-not-found words.
"""

import logging
import threading
import uuid

from artifacts import errors, request_body
from artifacts.jobs import SYSTEM
from artifacts.net import fetch, urls

LOG = logging.getLogger(__name__)

GLANCE_DOWNLOAD = "glance-download"
DEFAULT_INTERFACE = "public"
# Glance's [glance_download_properties] extra_properties default.
DEFAULT_EXTRA_PROPERTIES = ("hw_", "trait:", "os_distro", "os_secure_boot",
                            "os_type")
RESERVED_PREFIX = "os_glance"
NO_CREDENTIALS = ("glance-download needs the caller's token, which only the "
                  "Glare process that accepted the import keeps (in memory, "
                  "never stored); that process stopped before the task "
                  "ended.  Import the image again.")
METADATA_LIMIT = 1024 * 1024


def check_request(method):
    """Glance's 400s for the ``method`` object of a glance-download import,
    in Glance's order; the interface defaults to ``public`` (set in
    ``method``, so the task's input records it, as Glance's does)."""
    if "glance_region" not in method:
        raise errors.Invalid("'glance_region' needs to be set for "
                             "glance-download import method")
    if "glance_image_id" not in method:
        raise errors.Invalid("'glance_image_id' needs to be set for "
                             "glance-download import method")
    image_id = method["glance_image_id"]
    try:
        uuid.UUID(image_id)
    except (TypeError, ValueError, AttributeError):
        raise errors.Invalid("Remote image id does not look like a UUID: %s"
                             % image_id)
    for key in ("glance_region", "glance_service_interface"):
        if key in method and not isinstance(method[key], str):
            # Glance fails the task on a non-string; a 400 says it sooner.
            raise errors.Invalid("'%s' must be a string." % key)
    method.setdefault("glance_service_interface", DEFAULT_INTERFACE)


def parse_catalog(header):
    """keystonemiddleware's ``X-Service-Catalog`` (a JSON list of services)
    as a list, or None when absent or not a JSON list (Glance answers 500
    "Invalid service catalog json."; here such a caller simply has no
    catalog, so glance-download finds no endpoint).  Read by the one JSON
    reader of request bodies, so what it refuses there (too deep, NUL,
    out-of-range integers) is no catalog here."""
    if not header:
        return None
    try:
        catalog = request_body.parse_json(header)
    except errors.Invalid:
        return None
    return catalog if isinstance(catalog, list) else None


def find_endpoint(catalog, region, interface):
    """The URL of the ``image`` service's endpoint in ``region`` (compared
    without case, as Glance does) for ``interface`` (``public`` reads
    ``publicURL``); Glance's NotFound words otherwise.  Unlike Glance, an
    endpoint of that region without that interface is not found rather
    than ``None``."""
    for service in catalog or ():
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        endpoints = service.get("endpoints")
        if not isinstance(endpoints, list):
            continue
        for endpoint in endpoints:
            if not isinstance(endpoint, dict):
                continue
            if str(endpoint.get("region", "")).lower() != region.lower():
                continue
            url = endpoint.get("%sURL" % interface)
            if isinstance(url, str) and url:
                return url.rstrip("/")
    raise errors.NotFound("%s glance endpoint not found for region %s"
                          % (interface, region))


def copied_properties(remote, prefixes):
    """The remote image's properties this image takes: those starting with
    one of ``prefixes``, never Glance's reserved ``os_glance*``."""
    return {key: value for key, value in remote.items()
            if any(key.startswith(p) for p in prefixes)
            and not key.startswith(RESERVED_PREFIX)}


class Handover:
    """task id -> (token, catalog), in this process's memory only, and the
    thread that runs such a task here."""

    def __init__(self, tasks):
        self.tasks = tasks
        self._lock = threading.Lock()
        self._held = {}

    def start(self, task, token, catalog):
        """Keep the credentials of ``task`` (created claimed by this
        process) and run it in a thread of this process."""
        with self._lock:
            self._held[task["id"]] = (token, catalog)
        thread = threading.Thread(target=self._run, args=(task,),
                                  name="glance-download-%s" % task["id"],
                                  daemon=True)
        thread.start()
        return thread

    def _run(self, task):
        try:
            self.tasks.run_now(task)
        except Exception:  # noqa: BLE001 - recorded on the task
            LOG.info("glance-download task %s failed", task["id"])
        finally:
            self.take(task["id"])

    def get(self, task_id):
        """(token, catalog) of a task this process accepted, else raise
        the task's failure."""
        with self._lock:
            held = self._held.get(task_id)
        if held is None:
            raise errors.Conflict(NO_CREDENTIALS)
        return held

    def take(self, task_id):
        with self._lock:
            return self._held.pop(task_id, None)


class Download:
    """A task's glance-download work; ``stage_from(image_id, url, task,
    beat, method, headers, expected)`` is the import's own
    fetch-into-staging path (web-download's), which fails the write when
    the data is not ``expected`` bytes long."""

    def __init__(self, engine, atype, handover, prefixes, stage_from):
        self.engine = engine
        self.atype = atype
        self.handover = handover
        self.prefixes = tuple(prefixes)
        self.stage_from = stage_from

    def stage(self, image_id, method, task, beat):
        token, catalog = self.handover.get(task["id"])
        endpoint = find_endpoint(
            catalog, method.get("glance_region") or "",
            method.get("glance_service_interface") or DEFAULT_INTERFACE)
        remote_id = method.get("glance_image_id")
        headers = {"X-Auth-Token": token} if token else {}
        remote = self._remote_image(endpoint, remote_id, headers)
        if remote.get("status") != "active":
            raise errors.Conflict("Source image status should be active "
                                  "instead of %s" % remote.get("status"))
        try:
            size = int(remote["size"])
        except (KeyError, TypeError, ValueError):
            raise errors.Invalid("Size attribute of remote image %s could "
                                 "not be determined." % remote_id)
        undo = self._take_metadata(image_id, remote)
        try:
            self.stage_from(
                image_id, "%s/v2/images/%s/file" % (endpoint, remote_id),
                task, beat, GLANCE_DOWNLOAD, headers, size)
        except BaseException:
            self._restore(image_id, undo)
            raise

    def _remote_image(self, endpoint, remote_id, headers):
        url = "%s/v2/images/%s" % (endpoint, remote_id)
        LOG.info("Fetching glance image metadata from remote host %s", url)
        try:
            fetched = fetch.open_url(url, self.engine.import_policy,
                                     headers=dict(
                                         headers, Accept="application/json"))
        except urls.Refused as exc:
            raise fetch.FetchFailed("Processed URI for glance-download does "
                                    "not pass filtering: %s (%s)"
                                    % (url, exc.message))
        body = b""
        for block in fetched.chunks():
            body += block
            if len(body) > METADATA_LIMIT:
                fetched.close()
                raise fetch.FetchFailed("The remote image record at %s is "
                                        "too large." % url)
        try:
            # The remote's record is outside input like a request body:
            # its depth and values are checked the same way.
            remote = request_body.parse_json(body)
        except errors.Invalid:
            remote = None
        if not isinstance(remote, dict):
            raise fetch.FetchFailed("The remote image record at %s is not "
                                    "a JSON object." % url)
        return remote

    def _take_metadata(self, image_id, remote):
        """Set the remote's formats and copied properties on the image;
        returns what they were, for ``_restore``."""
        values = dict(copied_properties(remote, self.prefixes),
                      disk_format=remote.get("disk_format"),
                      container_format=remote.get("container_format"))
        undo = {}

        def mutate(image):
            props = image["properties"]
            undo.update({k: props.get(k) for k in values})
            props.update(values)
        self.engine.update(SYSTEM, self.atype, image_id, mutate)
        return undo

    def _restore(self, image_id, undo):
        def mutate(image):
            props = image["properties"]
            for key, value in undo.items():
                if value is None:
                    props.pop(key, None)
                else:
                    props[key] = value
        try:
            self.engine.update(SYSTEM, self.atype, image_id, mutate)
        except errors.ArtifactError:
            LOG.exception("Could not restore image %s after a failed "
                          "glance-download", image_id)
