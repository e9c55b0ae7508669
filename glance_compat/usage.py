"""Glance's unified-limits names over Glare's quotas, and ``/v2/info/usage``.

Glance 33 knows four per-project limits, enforced only with ``[DEFAULT]
use_keystone_limits`` (read from Keystone with oslo.limit).  Glare maps
them onto its own quotas of the ``images`` type (``artifacts.quotas``):

=======================  ==========================  =====
Glance                   Glare quota (type images)   unit
=======================  ==========================  =====
image_size_total         stored_bytes                MiB
image_stage_total        staged_bytes                MiB
image_count_total        artifact_count              1
image_count_uploading    uploading_count             1
=======================  ==========================  =====

So the same limits come either from Glare (an admin's overrides through
``PUT /artifacts/quotas`` with ``type_name`` ``images``, or ``[quotas]
type_<name> = images:N`` defaults, in bytes) or, with
``use_keystone_limits``, from Keystone (``KeystoneLimits`` with this
mapping; Glare's own values for those four scopes are then not used).
Either way the core enforces them, and a refusal on the Glance face is
Glance's 413 with Glance's words and units (``glance_message``).
"""

from artifacts import keystone_limits as ks_limits
from artifacts import quotas
from artifacts.db.session import read

MiB = 1024 * 1024
TYPE = "images"

# Glance's name -> (type, Glare quota, unit of Glance's values)
NAMES = {
    "image_size_total": (TYPE, "stored_bytes", MiB),
    "image_stage_total": (TYPE, "staged_bytes", MiB),
    "image_count_total": (TYPE, "artifact_count", 1),
    "image_count_uploading": (TYPE, "uploading_count", 1),
}
_BY_QUOTA = {(t, q): (name, unit) for name, (t, q, unit) in NAMES.items()}

LIMIT_EXCEEDED = ("The request returned a 413 Request Entity Too Large. This "
                  "generally means that rate limiting or a quota threshold "
                  "was breached.\n\nThe response body:\n%s")


def keystone_limits(conf):
    """The ``external`` limits of the engine's quotas with
    ``use_keystone_limits``: Glance's four names read from Keystone."""
    try:
        import oslo_limit  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "[DEFAULT] use_keystone_limits = true needs oslo.limit "
            "(pip install 'glare[keystone]').") from None
    ks_limits.load_global_conf(conf.config_file or [])
    return ks_limits.KeystoneLimits(
        NAMES, cache_seconds=conf.glare.keystone_limits_cache_seconds)


def glance_message(breach):
    """Glance's 413 text for a core quota ``Breach`` of one of the four
    limits (None for any other quota: the core's own words stand).
    Sizes are whole MiB, rounded down, as Glance counts them."""
    if breach is None:
        return None
    found = _BY_QUOTA.get((breach.type_name, breach.name))
    if found is None:
        return None
    name, unit = found
    return LIMIT_EXCEEDED % (
        "Project %s is over a limit for [Resource %s is over limit of %d "
        "due to current usage %d and delta %d]" % (
            breach.project_id, name, _in_units(breach.limit, unit),
            breach.used // unit, breach.requested // unit))


def _in_units(value, unit):
    return value if value < 0 else value // unit


def usage(engine, project_id):
    """``{"usage": {name: {"limit", "usage"}}}`` for ``/v2/info/usage``.

    With Keystone limits, the four names always (as Glance).  Without
    them Glance answers ``{"usage": {}}``; Glare answers the same unless
    one of the four is limited for the project (an override or a default
    other than -1), and then reports all four, -1 being unlimited.
    Limits and usage are those of the ``images`` scope (a project-wide
    quota over all types is not shown here; ``/artifacts/quotas/usage``
    shows it)."""
    if not project_id:
        return {"usage": {}}
    found = {}

    def run(conn):
        limits = {(limit.type_name, limit.name): limit for limit in
                  engine.quotas.effective(conn, project_id, [TYPE])}
        chosen = {name: limits[(t, q)] for name, (t, q, _u) in NAMES.items()}
        external = engine.quotas.external is not None
        if not external and all(limit.value == quotas.UNLIMITED
                                for limit in chosen.values()):
            return
        used = engine.quotas.used(conn, project_id, sorted(
            {q for _t, q, _u in NAMES.values()}))
        for name, (t, q, unit) in NAMES.items():
            found[name] = {"limit": _in_units(chosen[name].value, unit),
                           "usage": used[q].get(t, 0) // unit}
    read(engine.db, run)
    return {"usage": found}
