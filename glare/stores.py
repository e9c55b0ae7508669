"""Stores from configuration: the default one and any number of named ones.

The default store keeps Glance's options (``[glance_store] default_store``
names it, ``filesystem_store_datadir`` is its directory).  More stores are
sections named ``[store:<id>]`` with a ``driver`` and that driver's
options, and ``[glare] type_stores`` sends each artifact type's new data to
one of them, e.g.::

    [store:templates]
    driver = database

    [store:vm]
    driver = s3
    endpoint_url = https://s3.example.net
    bucket = glare-images
    access_key = ...
    secret_key = ...

    [glare]
    type_stores = images:vm,heat_templates:templates

Data already written stays where it is: every blob records its store id.
"""

from oslo_config import cfg

from artifacts import stores
from glare.config import ConfigError

SECTION_PREFIX = "store:"

store_opts = [
    cfg.StrOpt("driver", choices=["filesystem", "database", "s3"],
               help="Driver of this store."),
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
]


def _options(group, driver, db_engine):
    if driver == "filesystem":
        if not group.datadir:
            raise ConfigError("[%s%s] datadir is required for the "
                              "filesystem driver." % (SECTION_PREFIX,
                                                      group._group.name))
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
        raise ConfigError("[%s%s] bucket is required for the s3 driver."
                          % (SECTION_PREFIX, group._group.name))
    return options


def build(conf, db_engine):
    """(default store, {id: store}, {type name: store id})."""
    default_id = conf.glance_store.default_store
    default = stores.create("filesystem", default_id, {
        "datadir": conf.glance_store.filesystem_store_datadir})
    built = {default_id: default}
    for section in conf.list_all_sections():
        if not section.startswith(SECTION_PREFIX):
            continue
        store_id = section[len(SECTION_PREFIX):]
        conf.register_opts(store_opts, group=section)
        group = conf[section]
        if not group.driver:
            raise ConfigError("[%s] driver is required (filesystem, "
                              "database or s3)." % section)
        built[store_id] = stores.create(
            group.driver, store_id, _options(group, group.driver, db_engine))
    type_stores = dict(conf.glare.type_stores)
    for type_name, store_id in type_stores.items():
        if store_id not in built:
            raise ConfigError("[glare] type_stores sends %s to store '%s', "
                              "which is not configured (known: %s)."
                              % (type_name, store_id,
                                 ", ".join(sorted(built))))
    return default, built, type_stores
