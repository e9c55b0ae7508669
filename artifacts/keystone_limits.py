"""Per-project limits read from Keystone's unified limits (oslo.limit).

With ``[DEFAULT] use_keystone_limits = true`` the limits of some quota
scopes are not Glare's own (overrides and ``[quotas]`` defaults) but
Keystone's: a project limit of the project, else the registered (default)
limit of the service's endpoint, else 0 (oslo.limit's rule: a resource
without a registered limit may not be used at all).  ``KeystoneLimits``
reads them with oslo.limit's ``Enforcer`` and gives them to
``artifacts.quotas.Quotas`` (its ``external``), which then enforces them
like any other limit: under the project's guard, while the bytes stream.
Only the *limits* come from Keystone; usage is always Glare's own SQL.

``resources`` maps a Keystone resource name to the quota scope it limits
and the unit of its value: ``{"image_size_total": ("images",
"stored_bytes", 1048576)}`` (glance_compat gives Glance's four names).

oslo.limit reads its options (``[oslo_limit]``: ``endpoint_id`` or
``endpoint_service_type``/``endpoint_service_name`` with
``endpoint_region_name``/``endpoint_interface``, and keystoneauth's
``auth_type``, ``auth_url``, ``username``... as Glance reads them) from
oslo.config's global ``CONF``, so ``load_global_conf`` parses the same
files into it.  A project's limits are read again after
``cache_seconds`` (a change in Keystone applies within that time; each
read is a few Keystone requests), and Keystone failing is 503, never a
silent "unlimited".
"""

import logging
import threading
import time

from artifacts import errors

LOG = logging.getLogger(__name__)


def load_global_conf(config_files, overrides=None):
    """Parse ``config_files`` into oslo.config's global ``CONF`` with
    oslo.limit's options registered (``overrides``: {"oslo_limit.opt":
    value}, as ``glare.config.load`` takes them), and forget any Keystone
    session oslo.limit made with earlier options."""
    from oslo_config import cfg
    from oslo_limit import limit, opts
    conf = cfg.CONF
    conf(args=[], project="glare", default_config_files=list(config_files),
         default_config_dirs=[])
    opts.register_opts(conf)
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        if group == "oslo_limit":
            try:
                conf.set_override(name, value, group=group)
            except cfg.NoSuchOptError:
                # An auth plugin's option: keystoneauth registers those
                # when it loads the plugin; register it now to set it.
                conf.register_opt(cfg.StrOpt(name), group=group)
                conf.set_override(name, value, group=group)
    limit._SDK_CONNECTION = None
    return conf


class KeystoneLimits:
    """The ``external`` limits of ``artifacts.quotas.Quotas``."""

    source = "keystone"
    where = "Keystone's unified limits ([DEFAULT] use_keystone_limits)"

    def __init__(self, resources, cache_seconds=15.0, enforcer=None):
        self.resources = dict(resources)
        self.managed = {(type_name, name) for type_name, name, _unit
                        in self.resources.values()}
        self.cache_seconds = float(cache_seconds)
        self._enforcer = enforcer or _new_enforcer
        self._cache = {}
        self._lock = threading.Lock()

    def limits(self, project_id):
        """{(type_name, name): limit in the quota's unit, -1 unlimited}."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(project_id)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        found = self._read(project_id)
        with self._lock:
            self._cache[project_id] = (now, found)
            if len(self._cache) > 10000:
                self._cache.clear()
        return found

    def forget(self):
        """Read every project's limits again on next use."""
        with self._lock:
            self._cache.clear()

    def _read(self, project_id):
        names = sorted(self.resources)
        try:
            pairs = self._enforcer().get_project_limits(project_id, names)
        except Exception as exc:  # noqa: BLE001 - oslo.limit, sdk, network
            LOG.error("Could not read the unified limits of project %s "
                      "from Keystone: %s", project_id, exc)
            raise errors.StoreUnavailable(
                "The project's limits could not be read from Keystone; "
                "try again later.") from exc
        found = {}
        for name, value in pairs:
            type_name, quota, unit = self.resources[name]
            value = int(value)
            found[(type_name, quota)] = -1 if value < 0 else value * unit
        return found


def _new_enforcer():
    """An oslo.limit Enforcer (with its caches) for one read: limits
    changed in Keystone are seen by the next read."""
    from oslo_limit import limit

    def no_usage(project_id, resource_names):
        # Never called: Glare only reads limits; usage is its own.
        raise AssertionError("oslo.limit asked Glare for usage")
    return limit.Enforcer(no_usage, cache=True)
