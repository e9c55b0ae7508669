"""S3 blob store (boto3): any server speaking the S3 protocol.

Locations are written in the form glance_store's s3 driver writes
(Glance 33, without credentials): ``s3://<service host>/<bucket>/<object
key>`` -- ``s3+https://`` when the endpoint is https -- where the service
host is the endpoint URL without its scheme (``127.0.0.1:9000``,
``s3.example.net/storage``; AWS's ``s3.amazonaws.com`` or
``s3.<region>.amazonaws.com`` without ``endpoint_url``), so ``direct_url``
and ``locations`` look as Glance's and Glance can read what Glare wrote.
The object key is the store's ``prefix`` followed by the blob key, taken
verbatim (no percent-encoding, as for ``file://``): everything after
``<host>/<bucket>/`` is the object key, so keys containing ``/``, ``?``,
``#`` or ``%`` round-trip.  The credentials are store options, never part
of a location we write.  Only locations in the configured bucket and under
the configured prefix (or, as Glance's, at the bucket's root) are opened or
deleted (``Forbidden`` otherwise), so a location taken from the database
cannot reach other data the credentials happen to allow.  The older
``s3://<bucket>/<object key>`` form of earlier Glare versions is still
read and deleted.

Glance's locations are read and deleted too (a migrated Glance database):
``s3://<access>:<secret>@<host>/<bucket>/<key>``, ``s3+https://...`` and
``s3+http://...``, with or without the credentials.  The service host
(possibly with a port and a path) is followed by the bucket and the object
key.  They are accepted when that host is the configured endpoint's
(default ports 80/443 ignored; without ``endpoint_url``, AWS's
``s3[.-]<region>.amazonaws.com`` or ``s3.amazonaws.com``) and the bucket is
the configured one.  Glance kept objects at the bucket root, so the
``prefix`` does not apply to keys without a ``/``.  The credentials in such
a URL are ignored -- the store's own are used -- and never shown in
messages.

Writes: a writer buffers at most one part (``chunk_size``) in memory, never
the whole object.  An object that ends within the first part and is at most
``large_object_size`` is stored with one PutObject at ``commit()``; as soon
as more than one part's worth of data arrives (or the object outgrows
``large_object_size``) the writer switches to a multipart upload and sends
each full part as it fills, so the memory used is one part whatever the
object size.  Nothing is visible before ``commit()``: the multipart upload is
completed there, and ``cancel()`` (also on garbage collection of an
abandoned writer) aborts it, which frees every uploaded part.

No overwrite: the final PutObject / CompleteMultipartUpload carries
``If-None-Match: *`` (S3 conditional writes), so of two uploads racing for a
key exactly one wins and the other gets ``Conflict`` -- atomically, on the
server.  For servers without conditional writes set ``conditional_writes``
to false: a HEAD check before the final request is used instead, which has a
race window (two writers can both see the key free and the later one
silently replaces the earlier object).

Reads: ``open(location, offset, length)`` issues one GET with ``Range:
bytes=<offset>-<end>`` and streams the body as the reader is read; the total
size comes from the ``Content-Range`` of the answer (a HEAD is only needed
for a zero-length range or a range at/after the end).

Options (a dict):

``bucket``              required.
``endpoint_url``        e.g. ``https://s3.example.com:8080``; default AWS.
``region``              default ``us-east-1``.
``access_key``, ``secret_key``
                        credentials; when absent boto3's default chain is
                        used (environment, ~/.aws, instance metadata).
``prefix``              prepended to every key (``"glare/"``); default none.
``large_object_size``   largest object sent with a single PutObject
                        (default 100 MiB, at most 5 GiB).
``chunk_size``          multipart part size (default 64 MiB; at least 5 MiB,
                        S3's minimum part size, at most 5 GiB).  With S3's
                        10,000-part limit this caps an object at 10,000 x
                        chunk_size (625 GiB by default).
``conditional_writes``  default true; see above.
``addressing_style``    ``path``, ``virtual`` or ``auto``; default ``path``
                        when ``endpoint_url`` is set, else ``auto``.
``verify``              TLS verification: true/false or a CA bundle path.
``connect_timeout``, ``read_timeout``  seconds (default 10 / 60).
``max_attempts``        botocore retry attempts (default 5, "standard" mode).
``max_pool_connections`` HTTP connections kept per store (default 32).
"""

import datetime
import logging
import threading
import uuid

import urllib.parse

from artifacts import errors
from artifacts.stores import (BoundedReader, WriterLifecycle, check_key,
                              option_bool, redact, register, scheme_of)

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from urllib3.exceptions import HTTPError
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "The s3 store needs boto3: pip install 'glare[s3]' (%s)" % exc)

LOG = logging.getLogger(__name__)

SCHEME = "s3"
# Glance's s3 location schemes (s3+https: the service is reached by HTTPS).
GLANCE_SCHEMES = ("s3", "s3+https", "s3+http")
MiB = 1024 * 1024
GiB = 1024 * MiB
DEFAULT_LARGE_OBJECT_SIZE = 100 * MiB
DEFAULT_CHUNK_SIZE = 64 * MiB
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10000
# S3 object keys are at most 1024 bytes of UTF-8.
MAX_OBJECT_KEY_BYTES = 1024
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")
_CONFLICT = ("412", "PreconditionFailed", "409", "ConditionalRequestConflict")
# User metadata (x-amz-meta-glare-upload) naming the writer of an object.
_TOKEN_META = "glare-upload"


def _code(exc):
    err = getattr(exc, "response", {}).get("Error", {})
    return str(err.get("Code", ""))


def _status(exc):
    return getattr(exc, "response", {}).get(
        "ResponseMetadata", {}).get("HTTPStatusCode")


def _is_not_found(exc):
    return isinstance(exc, ClientError) and (
        _code(exc) in _NOT_FOUND or _status(exc) == 404)


def _is_conflict(exc):
    return isinstance(exc, ClientError) and (
        _code(exc) in _CONFLICT or _status(exc) in (409, 412))


def _store_error(exc, doing):
    """Translate a botocore error into the engine's vocabulary."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in ("EntityTooLarge", "QuotaExceeded"):
            return errors.RequestTooLarge(
                "The S3 store refused the data as too large: %s" % code)
        message = exc.response.get("Error", {}).get("Message") or code
        return errors.StoreUnavailable(
            "The S3 store failed to %s: %s (%s)" % (doing, message, code))
    return errors.StoreUnavailable(
        "The S3 store failed to %s: %s" % (doing, exc))


_SESSION = None
_SESSION_LOCK = threading.Lock()


def _session():
    """One boto3 session for every store: a session loads the service
    models once (~0.1 s), clients made from it then cost milliseconds.
    Sessions are not thread safe: call with ``_SESSION_LOCK`` held."""
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


_bool = option_bool


def _service_host(text):
    """``host[:port][/path]`` lower-cased, default ports dropped, for
    comparing Glance's service URL with the configured endpoint."""
    hostport, _, path = text.strip("/").partition("/")
    hostport = hostport.lower()
    for default in (":80", ":443"):
        if hostport.endswith(default):
            hostport = hostport[:-len(default)]
    path = path.strip("/")
    return hostport + ("/" + path if path else "")


def _endpoint_hosts(endpoint_url, region):
    """The service hosts Glance locations of this store may name."""
    if not endpoint_url:
        return {"s3.amazonaws.com", "s3.%s.amazonaws.com" % region,
                "s3-%s.amazonaws.com" % region}
    parts = urllib.parse.urlsplit(endpoint_url)
    return {_service_host(parts.netloc.rpartition("@")[2] + parts.path)}


def _location_base(endpoint_url, region):
    """``(scheme, service host)`` of the locations glance_store writes for
    this endpoint: ``s3+https`` for an https endpoint, else ``s3``; the
    endpoint without its scheme (credentials and trailing ``/`` dropped)."""
    if not endpoint_url:
        host = "s3.amazonaws.com" if region == "us-east-1" else \
            "s3.%s.amazonaws.com" % region
        return "s3+https", host
    parts = urllib.parse.urlsplit(endpoint_url)
    scheme = "s3+https" if parts.scheme.lower() == "https" else SCHEME
    return scheme, (parts.netloc.rpartition("@")[2] + parts.path).strip("/")


def _size_option(options, name, default, low, high, store_name):
    value = options.get(name)
    value = default if value is None else int(value)
    if not low <= value <= high:
        raise errors.Invalid(
            "S3 store %r: %r must be between %d and %d bytes (got %d)."
            % (store_name, name, low, high, value))
    return value


class S3Store:
    """Blobs as objects of one S3 bucket; see the module docstring."""

    scheme = SCHEME

    def __init__(self, name, options):
        self.name = name
        options = dict(options or {})
        bucket = options.get("bucket")
        if not bucket or not isinstance(bucket, str) or "/" in bucket:
            raise errors.Invalid(
                "S3 store %r needs a 'bucket' option (a bucket name)." % name)
        self.bucket = bucket
        prefix = options.get("prefix") or ""
        if prefix:
            prefix = prefix.strip("/")
            check_key(prefix)
            prefix += "/"
        self.prefix = prefix
        self.endpoint_url = options.get("endpoint_url") or None
        self.region = options.get("region") or "us-east-1"
        self.service_hosts = _endpoint_hosts(self.endpoint_url, self.region)
        self.location_scheme, self.location_host = _location_base(
            self.endpoint_url, self.region)
        self.read_only = _bool(options.get("read_only"), False)
        self.large_object_size = _size_option(
            options, "large_object_size", DEFAULT_LARGE_OBJECT_SIZE, 0,
            MAX_PART_SIZE, name)
        self.chunk_size = _size_option(
            options, "chunk_size", DEFAULT_CHUNK_SIZE, MIN_PART_SIZE,
            MAX_PART_SIZE, name)
        self.conditional_writes = _bool(options.get("conditional_writes"),
                                        True)
        style = options.get("addressing_style") or (
            "path" if self.endpoint_url else "auto")
        if style not in ("path", "virtual", "auto"):
            raise errors.Invalid("S3 store %r: addressing_style must be "
                                 "path, virtual or auto." % name)
        config = Config(
            region_name=self.region,
            s3={"addressing_style": style},
            connect_timeout=float(options.get("connect_timeout") or 10),
            read_timeout=float(options.get("read_timeout") or 60),
            retries={"mode": "standard",
                     "max_attempts": int(options.get("max_attempts") or 5)},
            max_pool_connections=int(
                options.get("max_pool_connections") or 32),
        )
        verify = options.get("verify")
        if isinstance(verify, str) and verify.lower() in (
                "true", "false", "1", "0", "yes", "no"):
            verify = _bool(verify, True)
        # boto3 clients are thread safe; one per store, shared by writers.
        # Credentials go to the client, never into the shared session.
        with _SESSION_LOCK:
            self.client = _session().client(
                "s3", endpoint_url=self.endpoint_url, config=config,
                verify=verify, region_name=self.region,
                aws_access_key_id=options.get("access_key") or None,
                aws_secret_access_key=options.get("secret_key") or None)

    # -- locations --------------------------------------------------------

    def object_key(self, key):
        """The S3 object key a blob key is stored under."""
        check_key(key)
        object_key = self.prefix + key
        if len(object_key.encode("utf-8", "surrogatepass")) \
                > MAX_OBJECT_KEY_BYTES:
            raise errors.Invalid(
                "Blob path %r is too long for the S3 store (object keys are "
                "at most %d bytes, prefix %r included)."
                % (key, MAX_OBJECT_KEY_BYTES, self.prefix))
        return object_key

    def location_for(self, key):
        """The location URL an object under ``key`` has (or would have):
        Glance's form, ``s3[+https]://<service host>/<bucket>/<key>``."""
        return "%s://%s/%s/%s" % (self.location_scheme, self.location_host,
                                  self.bucket, self.object_key(key))

    def _parse(self, location):
        """``(bucket, object key)`` of one of our locations: Glance's form
        naming our endpoint and bucket (which we write), or the older
        ``s3://<bucket>/<key>`` (see the module docstring)."""
        scheme = scheme_of(location)
        if scheme not in GLANCE_SCHEMES:
            raise errors.Invalid(
                "Location %r is not an %s:// URL of store %r."
                % (redact(location), SCHEME, self.name))
        rest = location[len(scheme) + 3:]
        if scheme == SCHEME and "@" not in rest:
            bucket, sep, object_key = rest.partition("/")
            if bucket == self.bucket or object_key.count("/") < 1:
                return self._own(location, bucket, sep, object_key)
        return self._glance(location, rest)

    def _own(self, location, bucket, sep, object_key):
        if not bucket or not sep or not object_key:
            raise errors.Invalid(
                "Location %r must be s3://<bucket>/<key>." % redact(location))
        if bucket != self.bucket or not object_key.startswith(self.prefix) \
                or object_key == self.prefix:
            raise errors.Forbidden(
                "Location %r is outside bucket %r%s of store %r."
                % (location, self.bucket,
                   " prefix %r" % self.prefix if self.prefix else "",
                   self.name))
        return bucket, object_key

    def _glance(self, location, rest):
        """Glance's ``[creds@]<host>/<bucket>/<key>``; the credentials
        (everything up to the last ``@``: a secret may contain ``/``) are
        dropped unread."""
        shown = redact(location)
        path = rest.rpartition("@")[2].lstrip("/")
        parts = path.split("/")
        if len(parts) < 3 or not parts[-1] or not parts[0]:
            raise errors.Invalid(
                "Location %r must be s3://<bucket>/<key> or Glance's "
                "s3[+https]://[<access>:<secret>@]<host>/<bucket>/<key>."
                % shown)
        # The service host may have a path: the first split whose host is
        # ours and whose next segment is our bucket.
        for cut in range(1, len(parts) - 1):
            if _service_host("/".join(parts[:cut])) in self.service_hosts \
                    and parts[cut] == self.bucket:
                object_key = "/".join(parts[cut + 1:])
                break
        else:
            raise errors.Forbidden(
                "Location %r names another S3 service or bucket than store "
                "%r (bucket %r)." % (shown, self.name, self.bucket))
        # Glance's objects are at the bucket's root; ours under the prefix.
        if not object_key or object_key == self.prefix or (
                self.prefix and "/" in object_key
                and not object_key.startswith(self.prefix)):
            raise errors.Forbidden(
                "Location %r is outside bucket %r%s of store %r."
                % (shown, self.bucket,
                   " prefix %r" % self.prefix if self.prefix else "",
                   self.name))
        return self.bucket, object_key

    def owns(self, location):
        """True for our own locations and Glance's that name our endpoint
        host and bucket."""
        try:
            self._parse(location)
        except errors.ArtifactError:
            return False
        return True

    # -- driver interface -------------------------------------------------

    def writer(self, key):
        """An ``S3Writer`` for a new object under ``key``."""
        return S3Writer(self, key, self.object_key(key))

    def open(self, location, offset=0, length=None):
        """An ``S3Reader`` streaming ``length`` bytes (default: to the end)
        from ``offset``; ``offset == size`` gives an empty reader,
        ``offset > size`` is RangeNotSatisfiable."""
        bucket, object_key = self._parse(location)
        if length == 0:
            return self._empty_reader(location, bucket, object_key, offset)
        request = {"Bucket": bucket, "Key": object_key}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            request["Range"] = "bytes=%d-%s" % (offset, end)
        try:
            response = self.client.get_object(**request)
        except ClientError as exc:
            if _is_not_found(exc):
                raise errors.NotFound("No data at %s." % redact(location))
            if _code(exc) == "InvalidRange" or _status(exc) == 416:
                # At or past the end (also: any range of a 0-byte object).
                return self._empty_reader(location, bucket, object_key,
                                          offset)
            raise _store_error(exc, "read %s" % redact(location))
        except BotoCoreError as exc:
            raise _store_error(exc, "read %s" % redact(location))
        body = response["Body"]
        try:
            count = int(response.get("ContentLength") or 0)
            content_range = response.get("ContentRange")
            skip = 0
            if content_range:
                # "bytes <first>-<last>/<size>"
                size = int(content_range.rsplit("/", 1)[1])
                first = int(content_range.split()[1].split("-")[0])
                if first != offset:
                    raise errors.StoreUnavailable(
                        "The S3 store answered a range starting at %d for "
                        "offset %d." % (first, offset))
            else:
                # A whole-object answer (we asked for none, or the server
                # ignores Range): skip to the offset ourselves.
                size = count
                skip = min(offset, size)
                count = size - skip
            if offset > size:
                raise errors.RangeNotSatisfiable(
                    "Offset %d is beyond the end of the data (%d bytes)."
                    % (offset, size))
            if length is not None:
                count = min(count, length)
            reader = S3Reader(body, size, offset, count)
            if skip:
                reader._discard(skip)
            return reader
        except BaseException:
            body.close()
            raise

    def _head(self, location, bucket, object_key):
        try:
            return self.client.head_object(Bucket=bucket, Key=object_key)
        except ClientError as exc:
            if _is_not_found(exc):
                raise errors.NotFound("No data at %s." % redact(location))
            raise _store_error(exc, "stat %s" % redact(location))
        except BotoCoreError as exc:
            raise _store_error(exc, "stat %s" % redact(location))

    def _empty_reader(self, location, bucket, object_key, offset):
        size = int(self._head(location, bucket, object_key)["ContentLength"])
        if offset > size:
            raise errors.RangeNotSatisfiable(
                "Offset %d is beyond the end of the data (%d bytes)."
                % (offset, size))
        return S3Reader(None, size, offset, 0)

    def delete(self, location):
        """Remove the object; a missing object is not an error."""
        bucket, object_key = self._parse(location)
        try:
            self.client.delete_object(Bucket=bucket, Key=object_key)
        except ClientError as exc:
            if _is_not_found(exc):
                return
            raise _store_error(exc, "delete %s" % redact(location))
        except BotoCoreError as exc:
            raise _store_error(exc, "delete %s" % redact(location))

    def exists(self, location):
        bucket, object_key = self._parse(location)
        try:
            self._head(location, bucket, object_key)
        except errors.NotFound:
            return False
        return True

    def describe(self):
        # Never the credentials.
        return {
            "id": self.name,
            "kind": "s3",
            "read_only": self.read_only,
            "scheme": SCHEME,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "large_object_size": self.large_object_size,
            "chunk_size": self.chunk_size,
            "conditional_writes": self.conditional_writes,
        }

    def discard(self, key, detail=None):
        """Remove everything stored under ``key``: the object and the
        multipart uploads of writers of ``key`` (also of one that died
        without aborting).  ``detail``: the upload id its writer noted
        (``S3Writer.note``), aborted first; the bucket's unfinished
        uploads of the key are then listed too (writers that noted none).
        A listing the server refuses is not an error once the noted upload
        is aborted.  Absent data is not an error."""
        object_key = self.object_key(key)
        if detail:
            self._abort(object_key, detail)
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket,
                                           Prefix=object_key):
                for upload in page.get("Uploads", ()):
                    if upload["Key"] == object_key and \
                            upload["UploadId"] != detail:
                        self._abort(object_key, upload["UploadId"])
        except (ClientError, BotoCoreError) as exc:
            if not detail:
                raise _store_error(exc, "abort the uploads of %s" % key)
            LOG.warning("S3 store %s: could not list the unfinished uploads "
                        "of %s (%s); its noted upload was aborted", self.name,
                        key, type(exc).__name__)
        self.delete(self.location_for(key))

    def _abort(self, object_key, upload_id):
        """Abort one multipart upload; one already gone is not an error."""
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=object_key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload" and not _is_not_found(exc):
                raise _store_error(exc, "abort the upload of %s"
                                   % object_key)
        except BotoCoreError as exc:
            raise _store_error(exc, "abort the upload of %s" % object_key)

    # -- maintenance ------------------------------------------------------

    def pending_uploads(self):
        """``[(object key, upload id)]`` of unfinished multipart uploads under
        the prefix (left by crashed writers; ``abort_stale_uploads`` or a
        bucket lifecycle rule removes them)."""
        found = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket,
                                           Prefix=self.prefix):
                for upload in page.get("Uploads", ()):
                    found.append((upload["Key"], upload["UploadId"]))
        except (ClientError, BotoCoreError) as exc:
            raise _store_error(exc, "list multipart uploads")
        return found

    def abort_stale_uploads(self, max_age_seconds):
        """Abort multipart uploads initiated more than ``max_age_seconds``
        ago (writers of a process that died); returns how many."""
        cutoff = datetime.datetime.now(datetime.timezone.utc) \
            - datetime.timedelta(seconds=max_age_seconds)
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket,
                                           Prefix=self.prefix):
                for upload in page.get("Uploads", ()):
                    initiated = upload.get("Initiated")
                    if initiated is not None and initiated > cutoff:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"],
                        UploadId=upload["UploadId"])
                    aborted += 1
        except (ClientError, BotoCoreError) as exc:
            raise _store_error(exc, "abort stale multipart uploads")
        return aborted


class S3Writer(WriterLifecycle):
    """Buffers one part at most; see the module docstring."""

    def __init__(self, store, key, object_key):
        self.store = store
        self.key = key
        self.object_key = object_key
        self.size = 0
        self._buf = bytearray()
        self._upload_id = None
        self._parts = []
        self._done = False
        # Set by the store wrapper (Writer.note): told the upload id before
        # the first part is sent, so a crash's recovery can abort it.
        self.note = None
        self._lock = threading.Lock()
        # Stored with the object: tells our own object from a competitor's
        # when a retried final request fails its If-None-Match.
        self._token = uuid.uuid4().hex

    @property
    def multipart(self):
        """True once the writer switched to a multipart upload."""
        return self._upload_id is not None

    def write(self, chunk):
        if self._done:
            raise ValueError("write() on a finished writer")
        view = memoryview(chunk).cast("B")
        part_size = self.store.chunk_size
        pos, n = 0, len(view)
        while pos < n:
            # A full buffer is sent only once more data arrives, so an
            # object of exactly one part can still be a single PutObject.
            if len(self._buf) >= part_size:
                self._send_part()
            take = min(n - pos, part_size - len(self._buf))
            self._buf += view[pos:pos + take]
            pos += take
        self.size += n

    def _client_call(self, doing, fn, final=False, **kwargs):
        try:
            return fn(**kwargs)
        except ClientError as exc:
            if final and _is_conflict(exc):
                # If-None-Match: * failed: the key holds an object (412), or
                # a concurrent conditional write to it is in flight (409).
                if self._is_ours():
                    # botocore retried a final request whose first attempt
                    # had succeeded: the object there is this writer's.
                    return None
                raise errors.Conflict(
                    "Data already exists at blob path %r; it is never "
                    "overwritten." % self.key)
            raise _store_error(exc, "%s %s" % (doing, self.key))
        except BotoCoreError as exc:
            raise _store_error(exc, "%s %s" % (doing, self.key))

    def _is_ours(self):
        store = self.store
        try:
            head = store.client.head_object(Bucket=store.bucket,
                                            Key=self.object_key)
        except (ClientError, BotoCoreError):
            return False
        return head.get("Metadata", {}).get(_TOKEN_META) == self._token

    def _send_part(self):
        store = self.store
        if self._upload_id is None:
            response = self._client_call(
                "start the upload of", store.client.create_multipart_upload,
                Bucket=store.bucket, Key=self.object_key,
                Metadata={_TOKEN_META: self._token})
            self._upload_id = response["UploadId"]
            if self.note is not None:
                # Not recorded, not sent: a failed note aborts the upload
                # (the caller's failure path cancels this writer).
                self.note(self._upload_id)
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise errors.RequestTooLarge(
                "The object is larger than the S3 store can take (%d parts "
                "of %d bytes)." % (MAX_PARTS, store.chunk_size))
        # Hand the buffer itself over and start a new one: no copy, and the
        # old one is freed once the part is sent.
        body, self._buf = self._buf, bytearray()
        response = self._client_call(
            "upload a part of", store.client.upload_part,
            Bucket=store.bucket, Key=self.object_key,
            UploadId=self._upload_id, PartNumber=number, Body=body)
        del body
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self):
        """Make the object visible and return its location; ``Conflict`` if
        the key already holds one.  On failure nothing is left behind."""
        if self._done:
            raise ValueError("commit() on a finished writer")
        store = self.store
        try:
            conditions = {}
            if store.conditional_writes:
                conditions["IfNoneMatch"] = "*"
            else:
                self._check_free()
            if self._upload_id is None and self.size <= store.large_object_size:
                self._client_call(
                    "store", store.client.put_object, final=True,
                    Bucket=store.bucket, Key=self.object_key,
                    Body=self._buf, Metadata={_TOKEN_META: self._token},
                    **conditions)
            else:
                if self._buf or not self._parts:
                    self._send_part()
                self._client_call(
                    "complete the upload of",
                    store.client.complete_multipart_upload, final=True,
                    Bucket=store.bucket, Key=self.object_key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts}, **conditions)
        except BaseException:
            self.cancel()
            raise
        with self._lock:
            self._done = True
            self._buf = bytearray()
            self._upload_id = None
        return "%s://%s/%s/%s" % (store.location_scheme, store.location_host,
                                  store.bucket, self.object_key)

    def _check_free(self):
        # Without conditional writes: check-then-write.  RACE: another
        # writer may commit between this HEAD and our final request, and
        # S3 would then silently replace its object with ours.
        store = self.store
        try:
            store.client.head_object(Bucket=store.bucket, Key=self.object_key)
        except ClientError as exc:
            if _is_not_found(exc):
                return
            raise _store_error(exc, "check %s" % self.key)
        except BotoCoreError as exc:
            raise _store_error(exc, "check %s" % self.key)
        raise errors.Conflict(
            "Data already exists at blob path %r; it is never overwritten."
            % self.key)

    def cancel(self):
        """Discard everything written (aborts the multipart upload, which
        frees its parts); safe to call repeatedly and after a failed
        commit."""
        with self._lock:
            if self._done:
                return
            self._done = True
            upload_id, self._upload_id = self._upload_id, None
            self._buf = bytearray()
        if upload_id is None:
            return
        store = self.store
        try:
            store.client.abort_multipart_upload(
                Bucket=store.bucket, Key=self.object_key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) in ("NoSuchUpload",) or _is_not_found(exc):
                return
            raise _store_error(exc, "abort the upload of %s" % self.key)
        except BotoCoreError as exc:
            raise _store_error(exc, "abort the upload of %s" % self.key)

class S3Reader(BoundedReader):
    """Streams ``length`` bytes of one object from a GET body, never
    more."""

    block_size = MiB

    def __init__(self, body, size, offset, length):
        self._body = body
        self.size = size
        self.offset = offset
        self.length = length
        self._remaining = length

    def _raw(self, want):
        try:
            return self._body.read(want)
        except (BotoCoreError, OSError, HTTPError) as exc:
            raise errors.StoreUnavailable(
                "Reading from the S3 store failed: %s" % exc)

    def _release(self):
        body, self._body = self._body, None
        if body is not None:
            body.close()


register("s3", S3Store)
