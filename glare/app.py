"""The app factory: one Flask app, the Glance face, and the WSGI filters.

The request path, outermost first (as in Glance's paste pipeline)::

    RequestId → Healthcheck → VersionNegotiation → auth (keystone or
    trusted headers) → Flask (glance_compat blueprints; the Artifact API's
    under /artifacts, see artifacts.api)

Version negotiation sits before authentication so version documents need no
token; the request id wraps everything so every response carries one.
"""

import datetime
import logging
import os

import flask
import sqlalchemy as sa
from oslo_middleware import cors
from oslo_middleware.http_proxy_to_wsgi import HTTPProxyToWSGI
from werkzeug import exceptions as wz

from artifacts import api as artifact_api
from artifacts import errors, external, image_import, types
from artifacts.db.session import is_unavailable, make_engine
from artifacts.engine import Engine
from artifacts.limits import Limits
from artifacts.locking import Locks
from artifacts.net import urls
from artifacts.policy import Enforcer
from artifacts.quotas import QuotaDefaults
from artifacts.types import image_format
from glance_compat import errors as glance_errors
from glance_compat import patch as glance_patch
from glance_compat import cache as glance_cache
from glance_compat import usage as glance_usage
from glance_compat import (image_data, images, import_tasks, imports, info,
                           location_api, members)
from glance_compat import tasks as glance_tasks
from glance_compat import schemas as glance_schemas
from glance_compat import common as glance_common
from glance_compat.common import Settings
from glance_compat.property_protections import (PropertyRules,
                                                ProtectionFileError)
from glance_compat.versions import (GLARE_FEATURES, MULTI_STORE_FEATURES,
                                     VersionNegotiation)
from glance_compat import metadefs as metadefs_api
from glare import auth, config, middleware, notifier, policies
from glare import stores as glare_stores
from metadefs.service import Catalog

LOG = logging.getLogger(__name__)

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}


def build_engine(conf):
    """The artifact engine for this configuration (no HTTP involved)."""
    db_engine = make_engine(conf.database.connection,
                            pool_size=conf.database.max_pool_size,
                            sqlite_busy_timeout=conf.database
                            .sqlite_busy_timeout)
    store_set = glare_stores.build(conf, db_engine)
    image_format.configure(image_format.FormatPolicy(
        require_match=conf.image_format.require_image_format_match,
        gpt_nonfatal=frozenset(conf.image_format.gpt_safety_checks_nonfatal)))
    limits = Limits(max_blob_size=conf.image_size_cap,
                    max_properties=conf.image_property_quota,
                    max_tags=conf.image_tag_quota,
                    max_members=conf.image_member_quota,
                    hashing_algorithm=conf.hashing_algorithm,
                    delayed_delete=conf.delayed_delete,
                    stale_upload_seconds=conf.glare.stale_upload_seconds,
                    job_lease_seconds=conf.glare.job_lease_seconds,
                    max_property_bytes=conf.glare.property_value_max_bytes,
                    max_metadata_bytes=conf.glare.properties_max_bytes,
                    quota_defaults=QuotaDefaults.from_conf(conf))
    protections = property_rules(conf)
    rules = policies.list_rules()
    if protections is not None:
        taken = {r.name for r in rules}
        for rule in protections.policy_rules():
            if rule.name in taken:
                raise config.ConfigError(
                    "[DEFAULT] property_protection_file: the policy rule "
                    "%s of its policies format is one of Glare's own rules;"
                    " rename the section." % rule.name)
        rules = rules + protections.policy_rules()
    engine = Engine(db_engine, store_set.default_driver,
                    Enforcer(conf, rules), limits, stores=store_set,
                    locks=Locks(db_engine,
                                wait_seconds=conf.glare.lock_wait_seconds))
    if conf.use_keystone_limits:
        engine.quotas.external = glance_usage.keystone_limits(conf)
    engine.cache = _image_cache(conf, engine)
    engine.external_policy, engine.import_policy = url_policies(conf)
    engine.tasks.ttl = datetime.timedelta(hours=conf.task.task_time_to_live)
    engine.import_plugins = import_plugins(conf)
    return engine


def import_plugins(conf):
    """Glance's ``[image_import_opts] image_import_plugins`` and their
    options as the core's ``image_import.Plugins``."""
    work_dir = conf.task.work_dir or os.path.join(os.path.dirname(
        os.path.abspath(conf.glance_store.filesystem_store_datadir)),
        "import_work")
    max_bytes = conf.glare.import_plugin_max_bytes or conf.image_size_cap
    gpt_nonfatal = conf.image_format.gpt_safety_checks_nonfatal
    return image_import.Plugins(
        conf.image_import_opts.image_import_plugins, work_dir=work_dir,
        conversion=image_import.Conversion(
            conf.image_conversion.output_format,
            conf.image_format.vmdk_allowed_types, gpt_nonfatal,
            max_bytes=max_bytes),
        decompression=image_import.Decompression(max_bytes),
        injection=image_import.Injection(
            conf.inject_metadata_properties.inject,
            conf.inject_metadata_properties.ignore_user_roles,
            reserved_names=glance_patch.BASE | glance_patch.RESERVED))
def property_rules(conf):
    """Glance's property protections (``[DEFAULT]
    property_protection_file``), or None; a bad file stops the start."""
    path = conf.property_protection_file
    if not path:
        return None
    try:
        return PropertyRules.load(conf.find_file(path) or path,
                                  conf.property_protection_rule_format)
    except ProtectionFileError as exc:
        raise config.ConfigError("[DEFAULT] property_protection_file: %s"
                                 % exc)


def url_policies(conf):
    """(external blobs' policy, import fetches' policy) from ``[glare]
    external_*`` and Glance's ``[import_filtering_opts]``."""
    f = conf.import_filtering_opts
    try:
        return (external.policy(conf.glare.external_allowed_schemes,
                                conf.glare.external_allowed_hosts,
                                conf.glare.external_denied_hosts),
                urls.Policy.build(
                    allowed_schemes=f.allowed_schemes,
                    disallowed_schemes=f.disallowed_schemes,
                    allowed_hosts=f.allowed_hosts,
                    disallowed_hosts=f.disallowed_hosts,
                    allowed_ports=f.allowed_ports,
                    disallowed_ports=f.disallowed_ports))
    except ValueError as exc:
        raise config.ConfigError("A host list of [glare] external_* or "
                                 "[import_filtering_opts]: %s" % exc)


def _image_cache(conf, engine):
    """This node's image cache (``[DEFAULT] image_cache_dir``), told of
    deletions and deactivations; None without a directory."""
    if not conf.image_cache_dir:
        return None
    cache = image_cache(conf, engine.db)
    engine.events.subscribe(cache.on_event)
    return cache


_WARNED_NO_SELF_URL = []


def image_cache(conf, db_engine):
    """The ``ImageCache`` of ``[DEFAULT] image_cache_dir`` with, under
    Glance's ``centralized_db`` driver, its record in the database
    (``artifacts.cache_nodes``) named by ``worker_self_reference_url``.

    Glance refuses to start with that driver and no URL; Glare runs, says
    once that this node's cache is then its own (GET /v2/cache/nodes/{id}
    never names it), and serves and fills the cache as usual."""
    from artifacts.cache import ImageCache
    from artifacts.cache_nodes import NodeRegistry
    cache = ImageCache(conf.image_cache_dir,
                       max_size=conf.image_cache_max_size,
                       stall_time=conf.image_cache_stall_time)
    if conf.image_cache_driver != "centralized_db":
        return cache
    cache.centralized = True
    if conf.worker_self_reference_url:
        cache.registry = NodeRegistry(db_engine,
                                      conf.worker_self_reference_url, cache)
    elif not _WARNED_NO_SELF_URL:
        _WARNED_NO_SELF_URL.append(True)
        LOG.warning(
            "[DEFAULT] image_cache_driver = centralized_db (Glance's default) "
            "names each node's cache by [DEFAULT] worker_self_reference_url, "
            "which is not set (Glance would refuse to start): this node's "
            "image cache works but is recorded nowhere, so GET "
            "/v2/cache/nodes/{image_id} never lists it.  Set "
            "worker_self_reference_url to this node's URL, or "
            "image_cache_driver = sqlite for per-node caches (that call is "
            "then 409).")
    return cache


def start_cache_prefetcher(engine):
    """Fill queued cache entries in a thread of this worker (as Glance's
    cache worker); None without a cache."""
    cache = getattr(engine, "cache", None)
    if cache is None:
        return None
    from artifacts.cache import Prefetcher
    from artifacts.jobs import SYSTEM
    images = types.get("images")

    def open_data(image_id):
        image = engine.get(SYSTEM, images, image_id)
        if image["status"] != "active":
            raise errors.NotFound("Image %s is %s." % (image_id,
                                                        image["status"]))
        return engine.data.open(SYSTEM, images, image_id, "image",
                                required=False)
    engine.cache_prefetcher = Prefetcher(cache, open_data)
    engine.cache_prefetcher.start()
    return engine.cache_prefetcher


def create_flask_app(conf, engine):
    app = flask.Flask("glare")
    app.url_map.strict_slashes = True
    schemas = glance_schemas.init_app(app, conf)
    settings = Settings(
        show_multiple_locations=conf.show_multiple_locations,
        show_image_direct_url=conf.show_image_direct_url,
        limit_param_default=conf.limit_param_default,
        api_limit_max=conf.api_limit_max,
        image_size_cap=conf.image_size_cap,
        image_location_quota=conf.image_location_quota,
        enabled_import_methods=tuple(config.offered_import_methods(conf)),
        custom_property_names=frozenset(schemas.custom_property_names),
        multi_store=glare_stores.multi_store(conf),
        stores=glare_stores.store_infos(conf, engine.stores),
        # The face's own copy of the rules build_engine turned into
        # policy rules: the core keeps no Image API state.
        property_rules=property_rules(conf))
    app.extensions[glance_common.EXTENSION] = glance_common.Services(
        engine=engine, images=types.get("images"), settings=settings,
        schemas=schemas, metadefs=Catalog(engine.db, engine.enforcer))
    # The work of import tasks, run by any worker's task runner.
    app.extensions[import_tasks.EXTENSION] = import_tasks.register(
        engine, types.get("images"), schemas,
        conf.glance_download_properties.extra_properties)
    for bp in (images.bp, image_data.bp, imports.bp, members.bp,
               info.bp, location_api.bp, glance_cache.bp, glance_tasks.bp) + \
            metadefs_api.BLUEPRINTS:
        app.register_blueprint(bp)
    api = artifact_api.init_app(app, conf, engine)
    from artifacts.api import quotas as quotas_api
    api.register_blueprint(quotas_api.bp)
    app.before_request(_reject_unmapped_methods)
    app.register_error_handler(errors.ArtifactError, _artifact_error)
    app.register_error_handler(wz.HTTPException, _http_error)
    app.register_error_handler(TimeoutError, _client_timeout)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _client_timeout(exc):
    """A request body the server cut off as too slow (glare.worker), met
    by whichever reader was reading it (a JSON body, a form): 408."""
    from glare import worker
    if not isinstance(exc, worker.ClientTooSlow):
        return _unexpected_error(exc)
    return _artifact_error(errors.RequestTimeout(
        "The request body arrived too slowly; the request was abandoned."))


def _reject_unmapped_methods():
    """Glance maps neither HEAD nor OPTIONS: both are 405 with Allow.

    NUL in a path or query value is refused here once for every route (it
    cannot be stored in PostgreSQL and is never a valid id, tag or filter).
    """
    req = flask.request
    if req.method in ("HEAD", "OPTIONS"):
        raise wz.MethodNotAllowed()
    if "\x00" in req.path or any("\x00" in k or "\x00" in v
                                 for k, v in req.args.items(multi=True)):
        raise errors.Invalid("Null characters are not allowed in request "
                             "URLs.")


def _allowed(environ):
    adapter = flask.current_app.url_map.bind_to_environ(environ)
    methods = adapter.allowed_methods()
    order = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [m for m in order if m in methods]


def _artifact_error(exc):
    if artifact_api.owns(flask.request.path):
        return artifact_api.render_error(exc)
    if exc.status >= 500 and not isinstance(exc, errors.DatabaseUnavailable):
        LOG.error("%s: %s", type(exc).__name__, exc.message)
    return glance_errors.flask_error_response(exc)


def _http_error(exc):
    if artifact_api.owns(flask.request.path):
        return artifact_api.render_error(exc)
    environ = flask.request.environ
    code = exc.code or 500
    headers = {}
    if code == 404 and flask.request.method not in KNOWN_METHODS:
        # Glance: a method it does not know, on a path it does not route.
        code = 501
    if code == 405:
        allowed = _allowed(environ)
        if not allowed:
            code = 404
        else:
            headers["Allow"] = ", ".join(allowed)
    status, hdrs, body = glance_errors.error_response(
        environ, code, headers=headers)
    return flask.Response(body, status=status, headers=hdrs)


def _unexpected_error(exc):
    if is_unavailable(exc):
        # The database is away: a clear 503 that says when to retry, on
        # both faces, never a 500 with a stack trace.
        LOG.warning("Database unavailable during %s %s: %s",
                    flask.request.method, flask.request.path,
                    getattr(exc, "orig", None) or exc)
        return _artifact_error(errors.DatabaseUnavailable())
    if artifact_api.owns(flask.request.path):
        return artifact_api.render_error(exc)
    LOG.exception("Unexpected error handling %s %s", flask.request.method,
                  flask.request.path)
    status, hdrs, body = glance_errors.error_response(
        flask.request.environ, 500,
        explanation="The server has either erred or is incapable of "
                    "performing the requested operation.")
    return flask.Response(body, status=status, headers=hdrs)


def create_app(conf, engine=None):
    """The complete WSGI application for a loaded configuration."""
    engine = engine or build_engine(conf)
    flask_app = create_flask_app(conf, engine)
    notifier.install(engine, conf, catalog=flask_app.extensions[
        glance_common.EXTENSION].metadefs)
    wsgi = auth.wrap(flask_app.wsgi_app, conf)
    features = set(GLARE_FEATURES)
    if config.offered_import_methods(conf):
        features.add("interoperable-import")
    if glare_stores.multi_store(conf):
        features |= MULTI_STORE_FEATURES
    if conf.image_cache_dir:
        features.update(("cache-api", "cache-queue-202", "cache-clean-prune"))
    wsgi = VersionNegotiation(wsgi, conf, features=frozenset(features))
    # As in Glance's pipeline: CORS first (it also answers OPTIONS), then
    # the proxy-header parsing that fixes scheme and host behind a proxy.
    wsgi = HTTPProxyToWSGI(wsgi, conf)
    wsgi = cors.CORS(wsgi, conf)
    wsgi = middleware.Healthcheck(wsgi, db_check=lambda: _ping(engine))
    wsgi = middleware.RequestId(wsgi)
    return wsgi


def _ping(engine):
    with engine.db.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
