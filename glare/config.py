"""Configuration: an INI file whose option names follow glance-api.conf.

Options keep Glance's names, sections and defaults wherever the meaning is the
same, so an operator can start from an existing glance-api.conf.  Options that
only Glare has live in their own sections (``[noauth]``, ``[glare]``).

``load(path)`` parses and validates everything up front: a bad value or an
unreadable file fails at start with a message naming the option, never at the
first request that happens to read it.
"""

import os

from oslo_config import cfg

DEFAULT_DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                        "qcow2", "vdi", "iso", "ploop"]
DEFAULT_CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova",
                             "docker", "compressed"]

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
    cfg.ListOpt("enabled_import_methods", default=["glance-direct"],
                help="Import methods offered (only glance-direct is "
                     "implemented)."),
    cfg.StrOpt("hashing_algorithm", default="sha512",
               choices=["sha512", "sha384", "sha256", "sha1", "md5"],
               help="Algorithm of os_hash_value."),
    cfg.IntOpt("image_property_quota", default=128),
    cfg.IntOpt("image_tag_quota", default=128),
    cfg.IntOpt("image_member_quota", default=128),
    cfg.IntOpt("image_location_quota", default=10),
    cfg.BoolOpt("delayed_delete", default=False),
    cfg.StrOpt("log_file"),
    cfg.BoolOpt("debug", default=False),
]

database_opts = [
    cfg.StrOpt("connection", default="sqlite:///./data/glare.sqlite",
               help="SQLAlchemy URL of the database."),
    cfg.IntOpt("max_pool_size", default=10, min=1),
    cfg.IntOpt("sqlite_busy_timeout", default=30, min=1,
               help="Seconds a SQLite writer waits for the lock."),
]

glance_store_opts = [
    cfg.StrOpt("default_store", default="file"),
    cfg.StrOpt("filesystem_store_datadir", default="./data/images",
               help="Directory where the filesystem store keeps data."),
]

paste_deploy_opts = [
    cfg.StrOpt("flavor", default="", choices=["", "keystone"],
               help="'keystone' to authenticate with keystonemiddleware; "
                    "empty for the embedded trusted-header mode."),
]

noauth_opts = [
    cfg.StrOpt("token_map", default="",
               help="TOKEN=PROJECT:USER:ROLE,ROLE;TOKEN2=... maps a token "
                    "to an identity (see glare.auth.parse_token_map)."),
    cfg.StrOpt("default_project_id", default="glare-project"),
    cfg.StrOpt("default_user_id", default="glare-user"),
    cfg.ListOpt("default_roles", default=["admin", "member", "reader"]),
]

image_format_opts = [
    cfg.ListOpt("disk_formats", default=DEFAULT_DISK_FORMATS),
    cfg.ListOpt("container_formats", default=DEFAULT_CONTAINER_FORMATS),
]

glare_opts = [
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
    cfg.IntOpt("stale_upload_seconds", default=600, min=60,
               help="An upload with no progress for this long is "
                    "considered dead and its image reset to queued."),
]


# Per-project quotas (artifacts.quotas): defaults an admin can override per
# project (and per project and type) at run time through the Artifact API
# (PUT /artifacts/quotas).  -1 is unlimited.
_QUOTA_HELP = {
    "artifact_count": "live artifacts",
    "stored_bytes": "bytes of stored data",
    "uploading_bytes": "bytes being uploaded at once",
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


def register_opts(conf):
    conf.register_opts(default_opts)
    conf.register_opts(database_opts, group="database")
    conf.register_opts(glance_store_opts, group="glance_store")
    conf.register_opts(paste_deploy_opts, group="paste_deploy")
    conf.register_opts(noauth_opts, group="noauth")
    conf.register_opts(image_format_opts, group="image_format")
    conf.register_opts(glare_opts, group="glare")
    conf.register_opts(quota_opts, group="quotas")
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
    for group_name, opts in [(None, default_opts),
                             ("database", database_opts),
                             ("glance_store", glance_store_opts),
                             ("paste_deploy", paste_deploy_opts),
                             ("noauth", noauth_opts),
                             ("image_format", image_format_opts),
                             ("glare", glare_opts),
                             ("quotas", quota_opts)]:
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
    unknown = set(conf.enabled_import_methods) - {"glance-direct"}
    if unknown:
        raise ConfigError(
            "[DEFAULT] enabled_import_methods: %s not supported; Glare "
            "implements only glance-direct." % ", ".join(sorted(unknown)))
    if not conf.image_format.disk_formats:
        raise ConfigError("[image_format] disk_formats must not be empty.")
    if not conf.image_format.container_formats:
        raise ConfigError(
            "[image_format] container_formats must not be empty.")
