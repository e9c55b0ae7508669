"""Stores from configuration, in Glance's multi-store form or Glare's own.

``build(conf, db_engine)`` returns the core's ``StoreSet``
(``artifacts.stores.placement``).  Two ways to
configure stores, usable together:

**Glance's multi-store form** (glance_store's ``multi_backend``), which
decides the Image API's stores when set::

    [DEFAULT]
    enabled_backends = fast:file, cold:s3, small:database

    [glance_store]
    default_backend = fast

    [fast]
    filesystem_store_datadir = /var/lib/glance/images
    store_description = Local disks
    weight = 100

    [cold]
    s3_store_host = https://s3.example.net
    s3_store_bucket = glance
    ...

Each store id has a section with its type's glance_store option names (see
``GLANCE_TYPE_OPTIONS``), plus ``store_description`` and ``weight``.  The
types Glare has no driver for (rbd, swift, cinder, vmware) become ``foreign``
stores: their locations are kept and shown, reading them is an error.  The
reserved sections ``[os_glance_staging_store]`` and
``[os_glance_tasks_store]`` (``filesystem_store_datadir``) give the staging
and tasks directories; by default they are siblings of ``[glance_store]
filesystem_store_datadir`` named after the section, as Glance's
``/var/lib/glance/<section>`` are siblings of ``/var/lib/glance/images``.

**Glance's single-store form and Glare's named stores**: ``[glance_store]
default_store`` with ``filesystem_store_datadir`` is the default store when
``enabled_backends`` is not set; ``[glance_store] stores = file,http``
(Glance's list) adds a store per listed type, named after it and
configured from ``[glance_store]`` (``single_store_types``); and ``[store:<id>]`` sections (a
``driver`` and that driver's options, ``STORE_OPTS``) add stores that
``[glare] type_stores`` sends artifact types to, e.g.::

    [store:templates]
    driver = database

    [glare]
    type_stores = images:vm,heat_templates:templates

Data already written stays where it is: every blob records its store id, so
a store id must stay configured as long as blobs use it.

Options in these sections that the store type does not have are ignored;
``glare.config.unused_options`` reports them at start, one line each.
"""

import logging
import os

from oslo_config import cfg

from artifacts import errors
from artifacts import stores
from artifacts.stores.placement import StoreSet
from glare.config import OPT_GROUPS, ConfigError, written_options

LOG = logging.getLogger(__name__)

SECTION_PREFIX = "store:"
STAGING_SECTION = "os_glance_staging_store"
TASKS_SECTION = "os_glance_tasks_store"
RESERVED_SECTIONS = (STAGING_SECTION, TASKS_SECTION)
# glance_store refuses store ids with this prefix: they are its own.
RESERVED_PREFIX = "os_glance_"
MiB = 1024 * 1024

# Glare's [store:<id>] sections.
STORE_OPTS = [
    cfg.StrOpt("driver", choices=["filesystem", "database", "s3", "http",
                                  "foreign"],
               help="Driver of this store (http: read-only web locations; "
                    "foreign: read-only stand-in for rbd/swift/cinder/"
                    "vsphere locations, e.g. migrated from Glance)."),
    cfg.ListOpt("schemes", help="foreign: the URL schemes it stands for."),
    cfg.StrOpt("datadir", help="filesystem: directory of the data."),
    cfg.IntOpt("chunk_size", min=1,
               help="database: bytes per row; s3: multipart part size."),
    cfg.StrOpt("bucket", help="s3: bucket."),
    cfg.StrOpt("endpoint_url", help="s3: endpoint of the S3 service."),
    cfg.StrOpt("region", help="s3: region."),
    cfg.StrOpt("access_key", help="s3: access key."),
    cfg.StrOpt("secret_key", secret=True, help="s3: secret key."),
    cfg.StrOpt("prefix", help="s3: key prefix inside the bucket."),
    cfg.IntOpt("large_object_size", min=1,
               help="s3: objects above this size use multipart uploads."),
    cfg.ListOpt("internal_hosts", default=[],
                help="http: hosts whose data may be on private or loopback "
                     "addresses (every read checks and pins the address)."),
    cfg.ListOpt("denied_hosts", default=[],
                help="http: hosts never read from."),
]

# Every multi-store section has these (glance_store's driver.py).
COMMON_OPTS = [
    cfg.StrOpt("store_description",
               help="What this store is, shown by /v2/info/stores."),
    cfg.IntOpt("weight", default=0,
               help="Relative weight of this store: locations on heavier "
                    "stores are preferred."),
]

_FILE_OPTS = [
    cfg.StrOpt("filesystem_store_datadir",
               help="Directory where this store keeps image data."),
    cfg.MultiStrOpt("filesystem_store_datadirs",
                    help="Deprecated in Glance: DIR[:PRIORITY], repeated.  "
                         "New data goes to the highest-priority directory; "
                         "the others stay readable."),
    cfg.IntOpt("filesystem_store_file_perm", default=0,
               help="Permissions of image files, read as octal digits "
                    "(640); 0 or less keeps the default."),
]

_S3_OPTS = [
    cfg.StrOpt("s3_store_host",
               help="S3 endpoint: a URL, or a host name (then http)."),
    cfg.StrOpt("s3_store_region_name", default=""),
    cfg.StrOpt("s3_store_access_key", secret=True),
    cfg.StrOpt("s3_store_secret_key", secret=True),
    cfg.StrOpt("s3_store_bucket"),
    cfg.BoolOpt("s3_store_create_bucket_on_put", default=False),
    cfg.StrOpt("s3_store_bucket_url_format", default="auto",
               choices=["auto", "path", "virtual"]),
    cfg.IntOpt("s3_store_large_object_size", default=100, min=0,
               help="MB: larger images are sent in parts."),
    cfg.IntOpt("s3_store_large_object_chunk_size", default=10, min=5,
               help="MB per part of a multipart upload."),
]

# Glare's own (glance_store's http store has no such options): every read
# of an http location resolves its host, checks each address and connects
# to a checked one (artifacts.net.fetch); only these hosts may be internal.
_HTTP_OPTS = [
    cfg.ListOpt("http_internal_hosts", default=[],
                help="Hosts whose data may be on private or loopback "
                     "addresses; every other host must be public."),
    cfg.ListOpt("http_denied_hosts", default=[],
                help="Hosts never read from."),
]

_DATABASE_OPTS = [
    cfg.IntOpt("database_store_chunk_size", min=1,
               help="Bytes per chunk row (Glare's database store)."),
]

# The URL schemes each store type without a Glare driver writes, so its
# locations are recognised as that store's.
FOREIGN_SCHEMES = {
    "rbd": ["rbd"],
    "swift": ["swift", "swift+https", "swift+http", "swift+config"],
    "cinder": ["cinder"],
    "vmware": ["vsphere"],
}

# enabled_backends type -> the options of its section (besides
# COMMON_OPTS), named as glance_store names them.
GLANCE_TYPE_OPTIONS = {
    "file": _FILE_OPTS,
    "s3": _S3_OPTS,
    "database": _DATABASE_OPTS,
    "http": _HTTP_OPTS,
    **{kind: [] for kind in FOREIGN_SCHEMES},
}

# Section names a store id cannot take: Glare's own groups.
_GLARE_SECTIONS = frozenset(
    ["DEFAULT", "keystone_authtoken", "cors", "oslo_middleware",
     "oslo_policy"] + [g for g, _ in OPT_GROUPS if g])

_RESERVED_OPTS = [
    cfg.StrOpt("filesystem_store_datadir",
               help="Directory of this reserved store."),
]


def _where(section, name):
    return "[%s] %s" % (section, name)


def _register(conf, section, opts):
    # Registering the same option objects again is a no-op in oslo.config.
    conf.register_opts(opts, group=section)
    return conf[section]


def _read(group, section, opt):
    try:
        return getattr(group, opt.dest)
    except (cfg.Error, ValueError) as exc:
        raise ConfigError("Invalid value for %s: %s"
                          % (_where(section, opt.name), exc)) from exc


def _values(conf, section, opts):
    """The section's values of ``opts``, each validated, by name."""
    if not opts:
        return {}
    group = _register(conf, section, opts)
    return {opt.name: _read(group, section, opt) for opt in opts}


def _file_datadirs(values, section):
    """(write directory, [other readable directories]) of a file store."""
    single = values.get("filesystem_store_datadir")
    multi = values.get("filesystem_store_datadirs") or []
    if single and multi:
        raise ConfigError(
            "%s and %s are both set; set one of them (as glance_store, "
            "which refuses both)." % (
                _where(section, "filesystem_store_datadir"),
                _where(section, "filesystem_store_datadirs")))
    if not multi:
        if not single:
            raise ConfigError("%s is required for a file store."
                              % _where(section, "filesystem_store_datadir"))
        return single, []
    ranked = []
    for order, entry in enumerate(multi):
        path, sep, priority = entry.strip().rpartition(":")
        if not sep or not priority.strip().lstrip("-").isdigit():
            path, priority = entry.strip(), "0"
        if not path:
            raise ConfigError("%s: %r has no directory."
                              % (_where(section, "filesystem_store_datadirs"),
                                 entry))
        ranked.append((-int(priority), order, path))
    ranked.sort()
    # glance_store picks, among the directories of the highest priority,
    # the one with the most free space for each image; Glare's file driver
    # writes to one directory, so the first listed of the highest priority
    # takes new data and the others stay readable for existing images.
    paths = [path for _, _, path in ranked]
    return paths[0], [os.path.abspath(p) for p in paths[1:]]


def map_section(conf, store_id, store_type, db_engine=None):
    """``(driver kind, driver options)`` for the ``[store_id]`` section of
    an ``enabled_backends`` store of glance_store type ``store_type``."""
    if store_type not in GLANCE_TYPE_OPTIONS:
        raise ConfigError(
            "[DEFAULT] enabled_backends: store '%s' has type '%s'; known "
            "types: %s." % (store_id, store_type,
                            ", ".join(sorted(GLANCE_TYPE_OPTIONS))))
    values = _values(conf, store_id, GLANCE_TYPE_OPTIONS[store_type])
    if store_type == "file":
        if not (values["filesystem_store_datadir"]
                or values["filesystem_store_datadirs"]):
            # glance_store's default for every file store is its default
            # images directory; Glare's is [glance_store]'s.
            values["filesystem_store_datadir"] = (
                conf.glance_store.filesystem_store_datadir)
        datadir, others = _file_datadirs(values, store_id)
        options = {"datadir": datadir}
        if others:
            options["allowed_roots"] = others
        perm = values["filesystem_store_file_perm"]
        if perm > 0:
            try:
                options["file_mode"] = int(str(perm), 8)
            except ValueError:
                raise ConfigError(
                    "Invalid value for %s: %d is not a permission in octal "
                    "digits (e.g. 640)."
                    % (_where(store_id, "filesystem_store_file_perm"), perm))
        return "filesystem", options
    if store_type == "s3":
        return "s3", _s3_options(values, store_id)
    if store_type == "database":
        options = {"engine": db_engine}
        if values["database_store_chunk_size"]:
            options["chunk_size"] = values["database_store_chunk_size"]
        return "database", options
    if store_type == "http":
        return "http", {"internal_hosts": values["http_internal_hosts"],
                        "denied_hosts": values["http_denied_hosts"]}
    return "foreign", {"schemes": list(FOREIGN_SCHEMES[store_type])}


def _s3_options(values, section):
    for name in ("s3_store_host", "s3_store_bucket"):
        if not values[name]:
            raise ConfigError("%s is required for an s3 store."
                              % _where(section, name))
    host = values["s3_store_host"].strip().rstrip("/")
    if "://" not in host:
        # glance_store talks plain http to a host given without a scheme.
        host = "http://" + host
    options = {
        "endpoint_url": host,
        "bucket": values["s3_store_bucket"],
        "large_object_size": values["s3_store_large_object_size"] * MiB,
        "chunk_size": values["s3_store_large_object_chunk_size"] * MiB,
        "addressing_style": values["s3_store_bucket_url_format"],
    }
    for name, key in (("s3_store_region_name", "region"),
                      ("s3_store_access_key", "access_key"),
                      ("s3_store_secret_key", "secret_key")):
        if values[name]:
            options[key] = values[name]
    if values["s3_store_create_bucket_on_put"]:
        options["create_bucket_on_put"] = True
        LOG.warning("%s: Glare's s3 store does not create buckets; bucket "
                    "%s must exist.", _where(section,
                                             "s3_store_create_bucket_on_put"),
                    values["s3_store_bucket"])
    return options


def _create(kind, store_id, options, where):
    try:
        return stores.create(kind, store_id, options)
    except errors.ArtifactError as exc:
        raise ConfigError("%s: %s" % (where, exc)) from exc


def _enabled_backends(conf):
    try:
        backends = conf.enabled_backends
    except (cfg.Error, ValueError) as exc:
        raise ConfigError("Invalid value for [DEFAULT] enabled_backends: %s"
                          % exc) from exc
    return dict(backends or {})


def section_option_names(conf, section):
    """The option names Glare reads in store section ``section``, or None
    when it is not a store section (for ``glare.config.unused_options``)."""
    if section in RESERVED_SECTIONS:
        return {opt.name for opt in _RESERVED_OPTS}
    if section.startswith(SECTION_PREFIX):
        return {opt.name for opt in STORE_OPTS}
    if section == "glance_store" and not _enabled_backends(conf):
        types = single_store_types(conf) or {}
        return {opt.name for kind in set(types.values()) - {"file"}
                for opt in GLANCE_TYPE_OPTIONS[kind]}
    store_type = _enabled_backends(conf).get(section)
    if store_type is None:
        return None
    return {opt.name for opt in
            COMMON_OPTS + GLANCE_TYPE_OPTIONS.get(store_type, [])}


def _reserved_store(conf, section, data_root):
    values = _values(conf, section, _RESERVED_OPTS)
    datadir = values["filesystem_store_datadir"] or os.path.join(
        data_root, section)
    return _create("filesystem", section, {"datadir": datadir},
                   _where(section, "filesystem_store_datadir"))


def _named_options(group, section, driver, db_engine):
    if driver == "http":
        return {"internal_hosts": group.internal_hosts,
                "denied_hosts": group.denied_hosts}
    if driver == "foreign":
        if not group.schemes:
            raise ConfigError("[%s] schemes is required for the foreign "
                              "driver (e.g. rbd)." % section)
        return {"schemes": group.schemes}
    if driver == "filesystem":
        if not group.datadir:
            raise ConfigError("[%s] datadir is required for the filesystem "
                              "driver." % section)
        return {"datadir": group.datadir}
    if driver == "database":
        options = {"engine": db_engine}
        if group.chunk_size:
            options["chunk_size"] = group.chunk_size
        return options
    options = {k: getattr(group, k) for k in (
        "bucket", "endpoint_url", "region", "access_key", "secret_key",
        "prefix", "chunk_size", "large_object_size")
        if getattr(group, k) is not None}
    if "bucket" not in options:
        raise ConfigError("[%s] bucket is required for the s3 driver."
                          % section)
    return options


def _check_backends(conf, backends):
    """Refuse reserved ids, unknown types and an unusable default."""
    for store_id, store_type in backends.items():
        if store_id in _GLARE_SECTIONS:
            raise ConfigError(
                "[DEFAULT] enabled_backends: store id '%s' is the name of "
                "one of Glare's own sections; choose another id." % store_id)
        if store_id.startswith(RESERVED_PREFIX):
            raise ConfigError(
                "[DEFAULT] enabled_backends: store id '%s' is reserved "
                "(ids starting with '%s' are glance_store's own)."
                % (store_id, RESERVED_PREFIX))
        if store_type not in GLANCE_TYPE_OPTIONS:
            raise ConfigError(
                "[DEFAULT] enabled_backends: store '%s' has type '%s'; "
                "known types: %s." % (store_id, store_type,
                                      ", ".join(sorted(GLANCE_TYPE_OPTIONS))))
    default = conf.glance_store.default_backend
    if not default:
        raise ConfigError("[glance_store] default_backend is required when "
                          "[DEFAULT] enabled_backends is set (one of: %s)."
                          % ", ".join(backends))
    if default not in backends:
        raise ConfigError("[glance_store] default_backend '%s' is not one of "
                          "[DEFAULT] enabled_backends (%s)."
                          % (default, ", ".join(backends)))
    if backends[default] not in ("file", "s3", "database"):
        raise ConfigError("[glance_store] default_backend '%s' is a %s "
                          "store, which Glare cannot write to; choose a "
                          "file, s3 or database store."
                          % (default, backends[default]))
    return default


def _multi_stores(conf, backends, db_engine, built, descriptions, weights):
    default = _check_backends(conf, backends)
    for store_id, store_type in backends.items():
        common = _values(conf, store_id, COMMON_OPTS)
        kind, options = map_section(conf, store_id, store_type, db_engine)
        built[store_id] = _create(kind, store_id, options, "[%s]" % store_id)
        descriptions[store_id] = common["store_description"] or ""
        weights[store_id] = common["weight"]
    return default


# Glance's single-store names that differ from its enabled_backends types.
_SINGLE_STORE_TYPES = {"vsphere": "vmware"}


def single_store_types(conf):
    """``{store id: glance_store type}`` of ``[glance_store] stores``, or
    None when the option is not set (then the file store alone)."""
    listed = conf.glance_store.stores
    if listed is None:
        return None
    types = {}
    for name in listed:
        kind = _SINGLE_STORE_TYPES.get(name, name)
        if kind not in GLANCE_TYPE_OPTIONS or kind == "database":
            raise ConfigError(
                "[glance_store] stores: unknown store '%s'; known: %s."
                % (name, ", ".join(sorted(
                    {"file", "http", "s3", "rbd", "swift", "cinder",
                     "vsphere"}))))
        types[name] = kind
    return types


def _single_stores(conf, db_engine, built):
    """Glance's single-store form into ``built``; returns the default id.

    Without ``[glance_store] stores`` the default store is the filesystem
    store (as before); with it, each listed type is a store named after
    it, its options read from ``[glance_store]`` as glance_store reads
    them, and ``default_store`` must be one of them."""
    default = conf.glance_store.default_store
    types = single_store_types(conf)
    if types is None:
        types = {default: "file"}
    for store_id, kind in types.items():
        if kind == "file":
            built[store_id] = _create(
                "filesystem", store_id,
                {"datadir": conf.glance_store.filesystem_store_datadir},
                "[glance_store] filesystem_store_datadir")
            continue
        driver, options = map_section(conf, "glance_store", kind, db_engine)
        built[store_id] = _create(driver, store_id, options,
                                  "[glance_store]")
    if default not in built:
        raise ConfigError(
            "[glance_store] default_store '%s' is not one of [glance_store] "
            "stores (%s)." % (default, ", ".join(built)))
    return default


def multi_store(conf):
    """Whether the configuration uses Glance's multi-store form (the Image
    API then shows stores, as Glance does with ``enabled_backends``)."""
    return bool(_enabled_backends(conf))


def build(conf, db_engine):
    """Every store of the configuration as one ``StoreSet``."""
    backends = _enabled_backends(conf)
    built, descriptions, weights = {}, {}, {}
    if backends:
        default = _multi_stores(conf, backends, db_engine, built,
                                descriptions, weights)
    else:
        default = _single_stores(conf, db_engine, built)
        for store_id in built:
            descriptions[store_id], weights[store_id] = "", 0
    # In the order the file has them (list_all_sections sorts).
    for section in written_options(conf):
        if not section.startswith(SECTION_PREFIX):
            continue
        store_id = section[len(SECTION_PREFIX):]
        if store_id in built:
            raise ConfigError("[%s] defines store '%s' a second time."
                              % (section, store_id))
        group = _register(conf, section, STORE_OPTS)
        driver = _read(group, section, STORE_OPTS[0])
        if not driver:
            raise ConfigError("[%s] driver is required (filesystem, "
                              "database, s3, http or foreign)." % section)
        built[store_id] = _create(
            driver, store_id,
            _named_options(group, section, driver, db_engine),
            "[%s]" % section)
        descriptions[store_id], weights[store_id] = "", 0
    type_stores = dict(conf.glare.type_stores)
    for type_name, store_id in type_stores.items():
        if store_id not in built:
            raise ConfigError("[glare] type_stores sends %s to store '%s', "
                              "which is not configured (known: %s)."
                              % (type_name, store_id,
                                 ", ".join(sorted(built))))
    # Glance registers its reserved stores only in multi-store mode; an
    # explicit section turns one on in single-store mode too.
    sections = set(conf.list_all_sections())
    data_root = os.path.dirname(os.path.abspath(
        conf.glance_store.filesystem_store_datadir))
    reserved = {
        section: (_reserved_store(conf, section, data_root)
                  if backends or section in sections else None)
        for section in RESERVED_SECTIONS}
    return StoreSet(drivers=built, default=default,
                    descriptions=descriptions, weights=weights,
                    type_stores=type_stores,
                    staging=reserved[STAGING_SECTION],
                    tasks=reserved[TASKS_SECTION])


# Glance's store types for Glare's driver kinds ([store:<id>] sections).
_GLANCE_TYPES = {"filesystem": "file", "s3": "s3", "http": "http",
                 "database": "database"}


def store_infos(conf, store_set):
    """How /v2/info/stores[/detail] describes each configured store: the
    type as ``enabled_backends`` names it, and the properties Glance's
    discovery shows for that type (file: ``data_dir`` with a trailing
    slash, ``chunk_size``, ``thin_provisioning``; s3: its two
    ``s3_store_*`` sizes in bytes and the thread pools; others: none
    Glare knows)."""
    from glance_compat.common import StoreInfo
    backends = _enabled_backends(conf)
    infos = []
    for store_id, driver in store_set.drivers.items():
        described = driver.describe()
        kind = described.get("kind", "")
        glance_type = backends.get(store_id) or _GLANCE_TYPES.get(kind, kind)
        properties = {}
        if kind == "filesystem":
            properties = {"data_dir": described["datadir"].rstrip("/") + "/",
                          "chunk_size": 65536, "thin_provisioning": False}
        elif kind == "s3":
            # In bytes, as Glance 33 shows them (its options are in MB).
            properties = {
                "s3_store_large_object_size":
                    described["large_object_size"],
                "s3_store_large_object_chunk_size":
                    described["chunk_size"],
                "s3_store_thread_pools": 10}
        infos.append(StoreInfo(
            id=store_id, type=glance_type,
            description=store_set.descriptions.get(store_id) or "",
            is_default=store_id == store_set.default,
            read_only=bool(getattr(driver, "read_only", False)),
            weight=store_set.weights.get(store_id, 0),
            properties=properties))
    return tuple(infos)
