"""Configuration: an INI file whose option names follow glance-api.conf.

Options keep Glance's names, sections and defaults wherever the meaning is the
same, so an operator can start from an existing glance-api.conf.  Options that
only Glare has live in their own sections (``[noauth]``, ``[glare]``).

``load(path)`` parses and validates everything up front: a bad value or an
unreadable file fails at start with a message naming the option, never at the
first request that happens to read it.
"""

import logging
import os
import urllib.parse

from oslo_config import cfg
from oslo_config import types

LOG = logging.getLogger(__name__)

DEFAULT_DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                        "qcow2", "vdi", "iso", "ploop"]
DEFAULT_CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova",
                             "docker", "compressed"]

# The import methods Glance knows (its ``enabled_import_methods`` refuses
# any other name); Glare implements them all.
GLANCE_IMPORT_METHODS = ("glance-direct", "web-download", "copy-image",
                         "glance-download")


class BracketedList(types.List):
    """Glance's list syntax for ``enabled_import_methods``: items split at
    commas, spaces around them dropped, each item may be quoted ('x' or
    "x"), and the whole list written in brackets.  Glance declares it with
    ``bounds=True``, which makes the brackets mandatory; here they are
    optional so that Glare configurations written without them keep
    working.  Every value Glance accepts parses to the same list here."""

    def __init__(self, item_type=None):
        super().__init__(item_type=item_type, bounds=False)

    def __call__(self, value):
        if isinstance(value, str):
            stripped = value.strip().rstrip(",")
            if stripped.startswith("[") or stripped.endswith("]"):
                if not (stripped.startswith("[")
                        and stripped.endswith("]")):
                    raise ValueError("a list in brackets must start with "
                                     "'[' and end with ']'")
                value = stripped[1:-1]
        return super().__call__(value)

    def _formatter(self, value):
        return "[%s]" % ",".join(value)

default_opts = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address the API server listens on."),
    cfg.PortOpt("bind_port", default=9292,
                help="Port the API server listens on."),
    cfg.IntOpt("workers", default=2, min=1,
               help="Number of API worker processes."),
    cfg.IntOpt("worker_threads", default=16, min=1,
               help="Threads per worker: one long upload must not block "
                    "the other requests of its worker."),
    # Slow clients (glare/worker.py): nobody's thread waits for them.
    cfg.IntOpt("client_header_timeout", default=20, min=1,
               help="Seconds a client has to send a request head (and a "
                    "body of at most 64 KiB); 408 after that."),
    cfg.IntOpt("client_body_timeout", default=20, min=1,
               help="Seconds a client has to start a larger request "
                    "body; every client_body_min_rate bytes received add "
                    "one more second.  A slower body is cut off (408)."),
    cfg.IntOpt("client_body_min_rate", default=500, min=1,
               help="Bytes per second a request body must keep up, on "
                    "average, after client_body_timeout."),
    cfg.IntOpt("client_socket_timeout", default=900, min=1,
               help="Glance's option: seconds a client may send or read "
                    "nothing while its request is served before it is "
                    "dropped."),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=0,
               max=9223372036854775808,
               help="Maximum size of image data a user can upload, bytes."),
    cfg.BoolOpt("show_image_direct_url", default=False),
    cfg.BoolOpt("show_multiple_locations", default=False),
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help="Default page size of list requests."),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help="Largest page size a list request may ask for."),
    cfg.StrOpt("public_endpoint",
               help="Public URL of this service, used in version documents."),
    cfg.Opt("enabled_import_methods",
            type=BracketedList(types.String(choices=GLANCE_IMPORT_METHODS,
                                            quotes=True)),
            default=["glance-direct", "web-download", "copy-image"],
            help="Import methods offered, e.g. [glance-direct,copy-image] "
                 "(brackets and quotes optional; glance-download too); "
                 "Glance's default."),
    # Glance's multi-store switch: STORE_ID:TYPE,... (see glare/stores.py).
    cfg.DictOpt("enabled_backends",
                help="STORE_ID:TYPE,... : the image stores (types file, "
                     "s3, database, http, rbd, swift, cinder, vmware), "
                     "each configured in a section named after its id."),
    cfg.StrOpt("hashing_algorithm", default="sha512",
               choices=["sha512", "sha384", "sha256", "sha1", "md5"],
               help="Algorithm of os_hash_value."),
    cfg.IntOpt("image_property_quota", default=128),
    cfg.IntOpt("image_tag_quota", default=128),
    cfg.IntOpt("image_member_quota", default=128),
    cfg.IntOpt("image_location_quota", default=10,
               help="Most locations an image may have (PATCH of /locations); "
                    "-1 is unlimited."),
    cfg.BoolOpt("delayed_delete", default=False),
    # Glance's switch: the images' limits image_size_total,
    # image_stage_total, image_count_total and image_count_uploading come
    # from Keystone's unified limits ([oslo_limit] names the endpoint and
    # the credentials), not from Glare's quotas (glance_compat/usage.py).
    cfg.BoolOpt("use_keystone_limits", default=False,
                help="Read the images' limits from Keystone's unified "
                     "limits with oslo.limit ([oslo_limit])."),
    cfg.StrOpt("log_file"),
    cfg.BoolOpt("debug", default=False),
    # Glance's notification options (glare/notifier.py); the transport is
    # oslo.messaging's [oslo_messaging_notifications] section.
    cfg.StrOpt("default_publisher_id", default="image.localhost",
               help="publisher_id of the notifications Glare sends."),
    cfg.ListOpt("disabled_notifications", default=[],
                help="Notification types (image.create), groups (image, "
                     "image.member, task, metadef_namespace, metadef_object, "
                     "metadef_property, metadef_resource_type, metadef_tag) "
                     "or shell-style wildcards (metadef_*, *.delete) not to "
                     "send."),
    cfg.StrOpt("metadata_source_path", default="/etc/glance/metadefs/",
               help="Directory of metadata definition files that "
                    "`glare db load-metadefs` loads (and `export-metadefs` "
                    "writes) when given no path; Glance's option."),
    # Glance's property protections (glance_compat/property_protections.py).
    cfg.StrOpt("property_protection_file",
               help="INI file of property protections (sections are "
                    "regular expressions over property names, options "
                    "create/read/update/delete say who); unset: none."),
    cfg.StrOpt("property_protection_rule_format", default="roles",
               choices=["roles", "policies"],
               help="What the protection file names: roles, or one rule "
                    "of the policy file per operation."),
    # Glance's image cache (artifacts/cache.py, glance_compat/cache.py).
    cfg.StrOpt("image_cache_dir",
               help="Directory of this node's image cache; unset: no cache "
                    "and no cache API (404)."),
    cfg.IntOpt("image_cache_max_size", default=10 * 1024 ** 3, min=0,
               help="Bytes the cache may hold; least recently used images "
                    "are evicted past it."),
    cfg.IntOpt("image_cache_stall_time", default=86400, min=0,
               help="Seconds after which an incomplete cache fill is "
                    "removed by cache cleaning."),
    cfg.StrOpt("image_cache_driver", default="centralized_db",
               choices=["centralized_db", "sqlite", "xattr"],
               help="centralized_db (Glance's default): each node also "
                    "records in the database which images it caches, under "
                    "worker_self_reference_url, and GET /v2/cache/nodes/{id} "
                    "lists the nodes; sqlite or xattr: per node only, and "
                    "that call is 409.  Each node keeps its own metadata "
                    "either way."),
    cfg.StrOpt("worker_self_reference_url",
               help="The URL other nodes reach this node at (Glance's); "
                    "the name of this node in the centralized_db cache "
                    "record (http or https, at most 255 characters)."),
]

database_opts = [
    cfg.StrOpt("connection", default="sqlite:///./data/glare.sqlite",
               help="SQLAlchemy URL of the database."),
    cfg.IntOpt("max_pool_size", default=10, min=1),
    cfg.IntOpt("sqlite_busy_timeout", default=30, min=1,
               help="Seconds a SQLite writer waits for the lock."),
]

glance_store_opts = [
    cfg.ListOpt("stores",
                help="Glance's single-store list of enabled store types "
                     "(file, http, s3, rbd, swift, cinder, vsphere): each "
                     "becomes a store of that id, configured from "
                     "[glance_store] as Glance configures it.  Unset: the "
                     "file store only (Glance's default also enables "
                     "http)."),
    cfg.StrOpt("default_store", default="file"),
    cfg.StrOpt("default_backend",
               help="With [DEFAULT] enabled_backends: the id of the store "
                    "new image data goes to."),
    cfg.StrOpt("filesystem_store_datadir", default="./data/images",
               help="Directory where the filesystem store keeps data."),
]

# Glance's stock pipelines (its glance-api-paste.ini): "keystone" first
# means keystonemiddleware in front, nothing (or only a cache part) the
# unauthenticated mode; "+caching"/"+cachemanagement" add Glance's cache
# filters, which Glare does not need (its cache is on whenever
# [DEFAULT] image_cache_dir is set, see README "Image cache").
PASTE_FLAVORS = ("", "caching", "cachemanagement", "keystone",
                 "keystone+caching", "keystone+cachemanagement")

paste_deploy_opts = [
    cfg.StrOpt("flavor", default="", choices=PASTE_FLAVORS,
               help="Glance's pipeline name: 'keystone' (or "
                    "'keystone+caching', 'keystone+cachemanagement') to "
                    "authenticate with keystonemiddleware; empty (or "
                    "'caching', 'cachemanagement') for the embedded "
                    "trusted-header mode."),
]


def uses_keystone(conf):
    """Whether ``[paste_deploy] flavor`` puts keystonemiddleware in
    front, as Glance's pipelines whose name starts with "keystone"."""
    return conf.paste_deploy.flavor.split("+")[0] == "keystone"

noauth_opts = [
    cfg.StrOpt("token_map", default="",
               help="TOKEN=PROJECT:USER:ROLE,ROLE;TOKEN2=... maps a token "
                    "to an identity (see glare.auth.parse_token_map).  When "
                    "set, a token it does not list (or no token) is 401 and "
                    "identity headers are ignored."),
    cfg.BoolOpt("trust_identity_headers", default=True,
                help="Without Keystone and without token_map: take the "
                     "caller's identity from keystonemiddleware-style "
                     "headers (X-Identity-Status: Confirmed, X-Project-Id, "
                     "X-Roles ...), as set by a trusted front proxy.  Safe "
                     "only when nobody else can reach the API (the default "
                     "bind_host 127.0.0.1); glare serve warns loudly "
                     "otherwise."),
    cfg.StrOpt("default_project_id", default="glare-project"),
    cfg.StrOpt("default_user_id", default="glare-user"),
    cfg.ListOpt("default_roles", default=["admin", "member", "reader"]),
]

# Declared as Glance declares them: plain lists (no brackets, no quotes:
# "[raw" would be a format name), also read from [DEFAULT] where old
# glance-api.conf files have them.
image_format_opts = [
    cfg.ListOpt("disk_formats", default=DEFAULT_DISK_FORMATS,
                deprecated_opts=[cfg.DeprecatedOpt("disk_formats",
                                                   group="DEFAULT")]),
    cfg.ListOpt("container_formats", default=DEFAULT_CONTAINER_FORMATS,
                deprecated_opts=[cfg.DeprecatedOpt("container_formats",
                                                   group="DEFAULT")]),
    # Glance's defaults.  With require_image_format_match off, data whose
    # detected format contradicts disk_format is logged and accepted
    # (Tempest uploads placeholder bytes in every disk format so).
    cfg.BoolOpt("require_image_format_match", default=True),
    cfg.ListOpt("gpt_safety_checks_nonfatal", default=[]),
    # As in Glance, checked only by the image_conversion import plugin:
    # the vmdk create-types it converts from.
    cfg.ListOpt("vmdk_allowed_types",
                default=["streamOptimized", "monolithicSparse"]),
]

# Glance's import plugins (artifacts/image_import/): names, options and
# defaults as in Glance 33.
image_import_opts = [
    cfg.ListOpt("image_import_plugins", default=[],
                help="Import plugins run, in this order, over the data of "
                     "glance-direct and web-download imports: "
                     "image_conversion, image_decompression, "
                     "inject_image_metadata, no_op."),
]
image_conversion_opts = [
    cfg.StrOpt("output_format", default="raw",
               choices=("qcow2", "raw", "vmdk"),
               help="Disk format the image_conversion plugin converts "
                    "imported images to (with qemu-img)."),
]
inject_metadata_opts = [
    cfg.ListOpt("ignore_user_roles", default=["admin"],
                help="Users with any of these roles get no injected "
                     "properties."),
    cfg.DictOpt("inject", default={},
                help="key:value,... : properties the inject_image_metadata "
                     "plugin adds to imported images."),
]

glare_opts = [
    cfg.FloatOpt("keystone_limits_cache_seconds", default=15.0, min=0,
                 help="Seconds a project's unified limits read from "
                      "Keystone are used before they are read again "
                      "(use_keystone_limits)."),
    cfg.StrOpt("schema_image_file", default="",
               help="Glance's schema-image.json with custom properties; "
                    "empty uses the copy shipped in schemas/."),
    cfg.DictOpt("type_stores", default={},
                help="TYPE:STORE_ID or TYPE.FIELD:STORE_ID,... : the store "
                     "each artifact type's (or blob field's) new data goes "
                     "to; stores are [store:<id>] sections (see "
                     "glare/stores.py).  Unlisted types use default_store."),
    cfg.ListOpt("external_allowed_schemes", default=["https", "http"],
                help="URL schemes an external blob may use."),
    cfg.ListOpt("external_allowed_hosts", default=[],
                help="If set, external blobs may only point at these hosts "
                     "(and their subdomains)."),
    cfg.ListOpt("external_denied_hosts", default=[],
                help="Hosts (and subdomains) external blobs may not point "
                     "at; private and loopback addresses are always "
                     "refused."),
    cfg.IntOpt("property_value_max_bytes", default=65535, min=-1,
               help="Largest property value of an artifact or image, in "
                    "UTF-8 bytes (non-strings as JSON); -1 is unlimited."),
    cfg.IntOpt("properties_max_bytes", default=1024 * 1024, min=-1,
               help="Largest total of one artifact's or image's "
                    "properties (names and values), in bytes; -1 is "
                    "unlimited."),
    cfg.IntOpt("stale_upload_seconds", default=600, min=60,
               help="An upload, import, store write or copy job of another "
                    "host with no heartbeat for this long is dead: released "
                    "(image back to queued) and its data removed.  One of "
                    "this host whose process is gone is released at once."),
    cfg.FloatOpt("notification_wait_seconds", default=1.0, min=0,
                 help="With notifications on: how long a request waits "
                      "for its notifications to reach the message broker "
                      "before it answers (so consumers see changes in "
                      "order); they are still sent afterwards.  Requests "
                      "do not wait while the broker fails.  0: never "
                      "wait."),
    cfg.IntOpt("notification_queue_size", default=1000, min=1,
               help="Notifications a worker keeps while the broker is "
                    "slow or down; more are dropped (and logged)."),
    cfg.IntOpt("import_plugin_max_bytes", default=0, min=0,
               max=9223372036854775807,
               help="Most bytes the image_decompression and "
                    "image_conversion import plugins may produce from one "
                    "image (decompression bombs, sparse images converted "
                    "to raw): past it the import fails.  0: image_size_cap."),
    cfg.FloatOpt("lock_wait_seconds", default=30.0, min=0,
                 help="How long a change waits for the lock of an "
                      "artifact another operation holds (each holds it "
                      "for one short transaction) before it is answered "
                      "409.  The default is the locks' lease, so a holder "
                      "that crashed on another host is outwaited too."),
    cfg.IntOpt("job_lease_seconds", default=30, min=2, max=3600,
               help="Lease of a running data job (copy-image into a "
                    "store): its worker renews it every third of this; a "
                    "job whose worker died is taken over by another worker "
                    "this long after its last heartbeat."),
]


# Glance's [import_filtering_opts]: what web-download and import tasks may
# fetch, with Glance's names, types and defaults.  On top of these lists
# Glare never fetches loopback, link-local, private or multicast addresses
# unless the host is named in allowed_hosts (artifacts.net.urls).
import_filtering_opts = [
    cfg.ListOpt("allowed_schemes",
                item_type=types.String(quotes=True),
                default=["http", "https"],
                help="URI schemes web-download may use; when set, "
                     "disallowed_schemes is ignored."),
    cfg.ListOpt("disallowed_schemes",
                item_type=types.String(quotes=True), default=[],
                help="URI schemes web-download may not use."),
    cfg.ListOpt("allowed_hosts", item_type=types.HostAddress(), default=[],
                help="Hosts web-download may fetch from (exact names or "
                     "addresses); when set, only these.  A loopback, "
                     "link-local or private address is fetched only when "
                     "listed here."),
    cfg.ListOpt("disallowed_hosts", item_type=types.HostAddress(),
                default=[],
                help="Hosts web-download may not fetch from."),
    cfg.ListOpt("allowed_ports",
                item_type=types.Integer(min=1, max=65535),
                default=[80, 443],
                help="Ports a web-download URI may name; when set, "
                     "disallowed_ports is ignored."),
    cfg.ListOpt("disallowed_ports",
                item_type=types.Integer(min=1, max=65535), default=[],
                help="Ports a web-download URI may not name."),
]

# Glance's [task] options Glare reads.
task_opts = [
    cfg.StrOpt("work_dir",
               help="Directory of the import plugins' work files (a "
                    "subdirectory per process); default: "
                    "'import_work' beside [glance_store] "
                    "filesystem_store_datadir."),
    cfg.IntOpt("task_time_to_live", default=48, min=0,
               deprecated_opts=[cfg.DeprecatedOpt("task_time_to_live",
                                                  group="DEFAULT")],
               help="Hours a task is kept after it succeeded or failed; "
                    "expired tasks are neither listed nor shown and are "
                    "purged."),
]


# Per-project quotas (artifacts.quotas): defaults an admin can override per
# project (and per project and type) at run time through the Artifact API
# (PUT /artifacts/quotas).  -1 is unlimited.
_QUOTA_HELP = {
    "artifact_count": "live artifacts",
    "stored_bytes": "bytes of stored data",
    "uploading_bytes": "bytes being uploaded at once",
    "staged_bytes": "bytes of data staged for an import",
    "uploading_count": "artifacts whose data is being written at once",
}
_PER_TYPE = cfg.types.Dict(value_type=cfg.types.Integer(
    min=-1, max=9223372036854775807))
quota_opts = [
    cfg.IntOpt(name, default=-1, min=-1, max=9223372036854775807,
               help="Default limit of a project's %s over all artifact "
                    "types; -1 is unlimited." % what)
    for name, what in _QUOTA_HELP.items()
] + [
    cfg.Opt("type_" + name, type=_PER_TYPE, default={},
            help="TYPE:N,... : default limit of a project's %s of each "
                 "listed artifact type (e.g. images:1073741824); -1 or "
                 "unlisted is unlimited." % what)
    for name, what in _QUOTA_HELP.items()
]


# Glance's CORS defaults: the headers its clients send and read.
CORS_DEFAULTS = dict(
    allow_headers=["Content-MD5", "X-Image-Meta-Checksum", "X-Storage-Token",
                   "Accept-Encoding", "X-Auth-Token", "X-Identity-Status",
                   "X-Roles", "X-Service-Catalog", "X-User-Id", "X-Tenant-Id",
                   "X-OpenStack-Request-ID"],
    expose_headers=["X-Image-Meta-Checksum", "X-Auth-Token",
                    "X-Subject-Token", "X-Service-Token",
                    "X-OpenStack-Request-ID"],
    allow_methods=["GET", "PUT", "POST", "DELETE", "PATCH"])


# Glance's [glance_download_properties]: what glance-download copies from
# the remote image besides its formats.
glance_download_opts = [
    cfg.Opt("extra_properties",
            type=BracketedList(types.String(quotes=True)),
            default=["hw_", "trait:", "os_distro", "os_secure_boot",
                     "os_type"],
            help="Prefixes of the remote image's properties that "
                 "glance-download sets on the imported image, e.g. "
                 "[hw_,os_distro] (brackets optional; os_glance* never)."),
]

# Every group Glare registers and its options (None is [DEFAULT]).
OPT_GROUPS = [(None, default_opts),
              ("database", database_opts),
              ("glance_store", glance_store_opts),
              ("paste_deploy", paste_deploy_opts),
              ("noauth", noauth_opts),
              ("image_format", image_format_opts),
              ("glare", glare_opts),
              ("quotas", quota_opts),
              ("import_filtering_opts", import_filtering_opts),
              ("task", task_opts),
              ("image_import_opts", image_import_opts),
              ("image_conversion", image_conversion_opts),
              ("inject_metadata_properties", inject_metadata_opts),
              ("glance_download_properties", glance_download_opts)]


def register_opts(conf):
    for group_name, opts in OPT_GROUPS:
        conf.register_opts(opts, group=group_name)
    from oslo_policy import opts as policy_opts
    policy_opts.set_defaults(conf)
    from oslo_middleware import cors
    cors.set_defaults(**CORS_DEFAULTS)


class ConfigError(Exception):
    """A configuration problem, with a message naming the option."""


def load(path=None, args=None, overrides=None):
    """Return a fully validated ConfigOpts.

    ``path`` is an INI file (may be None for pure defaults); ``overrides`` is
    ``{"group.option": value}`` (``DEFAULT.option`` for the default group),
    applied after the file, which tests use to point at a database.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    files = []
    if path:
        if not os.path.isfile(path):
            raise ConfigError("Config file %s does not exist." % path)
        files = [path]
    try:
        conf(args=args or [], project="glare", default_config_files=files,
             default_config_dirs=[], validate_default_values=True)
    except cfg.Error as exc:
        raise ConfigError(str(exc)) from exc
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        group = None if group in ("", "DEFAULT") else group
        conf.set_override(name, value, group=group)
    _validate(conf)
    return conf


def _validate(conf):
    """Read every registered option once so a bad value fails now."""
    for group_name, opts in OPT_GROUPS:
        group = conf if group_name is None else conf[group_name]
        for opt in opts:
            try:
                getattr(group, opt.dest)
            except (cfg.Error, ValueError) as exc:
                where = "[%s] %s" % (group_name or "DEFAULT", opt.name)
                raise ConfigError("Invalid value for %s: %s" % (where, exc))
    if conf.limit_param_default > conf.api_limit_max:
        raise ConfigError(
            "[DEFAULT] limit_param_default (%d) must not exceed "
            "[DEFAULT] api_limit_max (%d)."
            % (conf.limit_param_default, conf.api_limit_max))
    if not conf.image_format.disk_formats:
        raise ConfigError("[image_format] disk_formats must not be empty.")
    if not conf.image_format.container_formats:
        raise ConfigError(
            "[image_format] container_formats must not be empty.")
    _check_self_reference(conf.worker_self_reference_url)
    from glare import notifier
    problem = notifier.validate(conf)
    if problem:
        raise ConfigError(problem)


def _check_self_reference(url):
    """worker_self_reference_url names this node in the database: an
    http(s) URL that fits Glance's 255-character column."""
    if url is None:
        return
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or \
            len(url) > 255:
        raise ConfigError("Invalid value for [DEFAULT] "
                          "worker_self_reference_url: %r is not an http(s) "
                          "URL of at most 255 characters." % url)


def offered_import_methods(conf):
    """The enabled import methods, in configured order: what
    /v2/info/import, the OpenStack-image-import-methods header and the
    import call offer."""
    return list(conf.enabled_import_methods)


# Sections read by the libraries Glare runs (oslo.middleware's CORS and
# proxy-header filters, oslo.policy) with the options they read there.
def _library_options():
    from oslo_middleware import cors
    from oslo_middleware import http_proxy_to_wsgi
    from oslo_policy import opts as policy_opts
    known = {("cors", opt.name) for opt in cors.CORS_OPTS}
    known |= {("oslo_middleware", opt.name)
              for opt in http_proxy_to_wsgi.OPTS}
    for group, opts in policy_opts.list_opts():
        known |= {(group, opt.name) for opt in opts}
    return known


def _registered_options():
    known = set()
    for group_name, opts in OPT_GROUPS:
        for opt in opts:
            known.add((group_name or "DEFAULT", opt.name))
            for old in opt.deprecated_opts:
                known.add((old.group or group_name or "DEFAULT",
                           old.name or opt.name))
    return known | _library_options()


def written_options(conf):
    """``{section: [option names]}`` as written in the configuration
    files, in file order."""
    found = {}
    for path in conf.config_file or []:
        sections = {}
        cfg.ConfigParser(path, sections).parse()
        for section, values in sections.items():
            names = found.setdefault(section, [])
            names.extend(n for n in values if n not in names)
    return found


def unused_options(conf):
    """``[(section, option)]`` written in the configuration files that
    Glare does not read: Glance options it has no use for, other
    services' sections, typos.  oslo.config ignores them; they are
    reported once at start so an operator sees what has no effect."""
    from glare import stores
    from glare import notifier
    written = written_options(conf)
    known = _registered_options() | notifier.library_options(written)
    keystone = uses_keystone(conf)
    unused = []
    for section, names in written.items():
        if section == "keystone_authtoken" and keystone:
            # keystonemiddleware reads the whole section, including the
            # options of whichever auth plugin it names.
            continue
        if section == "oslo_limit" and conf.use_keystone_limits:
            # So does oslo.limit (artifacts/keystone_limits.py).
            continue
        store_names = stores.section_option_names(conf, section)
        # Glance's single-store list has no effect beside enabled_backends.
        multi_only = {("glance_store", "stores")} \
            if stores.multi_store(conf) else set()
        for name in names:
            if (section, name) in multi_only:
                unused.append((section, name))
                continue
            if store_names is not None and name in store_names:
                continue
            if (section, name) not in known:
                unused.append((section, name))
    return unused


def check_report(conf):
    """``[(verdict, section, option, why)]`` for every option written in
    the configuration files, in file order (``glare config-check``):
    ``honoured`` options Glare reads, ``ignored`` ones it does not use.
    Options Glare rejects stop ``load`` before this runs."""
    unused = set(unused_options(conf))
    report = []
    for section, names in written_options(conf).items():
        for name in names:
            if (section, name) in unused:
                report.append(("ignored", section, name,
                               "Glare does not use it"))
            else:
                report.append(("honoured", section, name, ""))
    return report


def log_start_notes(conf, log=LOG):
    """Log, once at start, what in the configuration has no effect: one
    line per ignored option."""
    for section, name in unused_options(conf):
        log.info("Configuration option [%s] %s is ignored: Glare does not "
                 "use it.", section, name)
