"""Authorization for the core: a thin, fast wrapper around oslo.policy.

Each artifact type registers its rules as oslo.policy ``RuleDefault``
objects (the images type uses Glance's rule names, so an operator's Glance
``policy.yaml`` keeps working).  An operator file named by
``[oslo_policy] policy_file`` (and files in ``policy_dirs``) overrides the
defaults, exactly as in any OpenStack service.

Why not call oslo.policy's ``Enforcer.enforce`` with ``use_conf=True`` the
way services usually do?  With ``use_conf`` on, every single call searches
the config directories for the policy file (when there is none) or stats it,
and lists every policy directory.  A list request checks ``get_image`` once
per row, so that is thousands of filesystem calls per request.  Here the
rules are loaded once and the oslo enforcer is frozen (``use_conf=False``);
at most once every ``reload_interval`` seconds one request stats the files,
and a changed file is loaded into a *new* oslo enforcer that is swapped in
whole, so concurrent checks never see a half-loaded rule set.

oslo.policy is also slow per evaluation (it inspects every check's call
signature, ~10 µs a node, ~130 µs for ``get_image``).  Decisions are pure
functions of (rule, credentials, target), and the rows of one list page
mostly share a handful of (owner, visibility, member) combinations, so
decisions are memoised in a bounded dict that is dropped with the rules on
reload.
"""

import logging
import os
import threading
import time

from oslo_policy import opts as oslo_policy_opts
from oslo_policy import policy as oslo_policy

from artifacts import errors

LOG = logging.getLogger(__name__)

#: Seconds between checks of the operator's policy files for changes.
RELOAD_INTERVAL = 5.0

#: Memoised decisions kept per rule set before the memo is emptied.
DECISION_CACHE_SIZE = 10000


class PolicyFileError(ValueError):
    """The operator's policy file cannot be parsed."""


def creds_from_context(context):
    """The credentials dict oslo.policy evaluates rules against.

    Roles are lower-cased (Glance lower-cases them, so ``Admin`` counts).
    An empty project or user id is left out: oslo.policy compares values as
    strings, and a missing id must never equal a missing owner
    (``str(None) == str(None)``).  ``system_scope`` and ``domain_id`` are
    kept when set: from them oslo.policy tells a system- or domain-scoped
    token, which every project-scoped rule refuses (``InvalidScope``, a
    refusal in ``check``), as in Glance.
    """
    if hasattr(context, "policy_creds"):
        creds = dict(context.policy_creds())
    else:
        creds = dict(context)
    creds["roles"] = [str(r).strip().lower() for r in creds.get("roles") or ()
                      if str(r).strip()]
    creds["service_roles"] = [str(r).strip().lower()
                              for r in creds.get("service_roles") or ()
                              if str(r).strip()]
    for key in ("project_id", "user_id", "system_scope", "domain_id"):
        if not creds.get(key):
            creds.pop(key, None)
    return creds


class Enforcer:
    """Checks rules for one process; build once, call from any thread.

    ``conf`` is the service's ConfigOpts (``[oslo_policy]`` options are read
    from it); ``defaults`` is a list of ``oslo_policy.policy.RuleDefault``.
    A malformed operator policy file raises ``PolicyFileError`` here, at
    start, rather than at the first request.
    """

    def __init__(self, conf, defaults, reload_interval=RELOAD_INTERVAL):
        self._conf = conf
        self._defaults = list(defaults)
        self._reload_interval = reload_interval
        self._reload_lock = threading.Lock()
        # Registers [oslo_policy] on a bare ConfigOpts; a no-op otherwise.
        oslo_policy_opts.set_defaults(conf)
        # Stamp before loading so an edit racing the load is seen later.
        self._stamp = self._file_stamp()
        # (oslo enforcer, decision memo): replaced together on reload.
        self._state = (self._build(), {})
        self._next_check = time.monotonic() + reload_interval

    @property
    def rules(self):
        """The effective rules (name -> oslo check); for diagnostics."""
        return self._state[0].rules

    def _build(self):
        """A loaded, frozen oslo.policy enforcer."""
        enforcer = oslo_policy.Enforcer(self._conf, use_conf=True,
                                        overwrite=True)
        # Our defaults are the new secure-RBAC ones with no deprecated
        # aliases; the per-rule "default changed" warnings are noise.
        enforcer.suppress_default_change_warnings = True
        enforcer.register_defaults(self._defaults)
        try:
            enforcer.load_rules()
        except (ValueError, TypeError) as exc:
            raise PolicyFileError(
                "Invalid policy file %s: %s"
                % (enforcer.policy_path or enforcer.policy_file, exc)) from exc
        # Freeze: from now on enforce() never touches the filesystem.
        enforcer.use_conf = False
        return enforcer

    def _file_stamp(self):
        """(path, mtime) of every operator policy file that exists now."""
        opts = self._conf.oslo_policy
        stamp = []
        found = self._conf.find_file(opts.policy_file)
        if found:
            stamp.append((found, _mtime(found)))
        for directory in opts.policy_dirs:
            found = self._conf.find_file(directory)
            if not found or not os.path.isdir(found):
                continue
            stamp.append((found, _mtime(found)))
            for name in sorted(os.listdir(found)):
                path = os.path.join(found, name)
                stamp.append((path, _mtime(path)))
        return tuple(stamp)

    def _maybe_reload(self):
        now = time.monotonic()
        if now < self._next_check:
            return
        # One thread checks; the others keep using the current rules.
        if not self._reload_lock.acquire(blocking=False):
            return
        try:
            self._next_check = now + self._reload_interval
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return
            try:
                new = self._build()
            except PolicyFileError:
                # A typo in a live edit must not lock everybody out: keep
                # serving with the last good rules and say why.
                LOG.exception("Policy file changed but cannot be loaded; "
                              "keeping the previous rules.")
                self._stamp = stamp
                return
            self._state = (new, {})
            self._stamp = stamp
            LOG.info("Policy rules reloaded.")
        finally:
            self._reload_lock.release()

    def check(self, context, rule, target):
        """True if ``context`` may perform ``rule`` on ``target``.

        ``rule`` must be a registered default: an unknown name would silently
        fall back to the ``default`` rule (which allows everything), so a
        typo raises ``oslo_policy.policy.PolicyNotRegistered`` instead.
        """
        self._maybe_reload()
        enforcer, memo = self._state
        if rule not in enforcer.registered_rules:
            raise oslo_policy.PolicyNotRegistered(rule)
        creds = creds_from_context(context)
        key = _freeze(rule, creds, target)
        if key is not None:
            decision = memo.get(key)
            if decision is not None:
                return decision
        try:
            decision = bool(enforcer.enforce(rule, target, creds))
        except oslo_policy.InvalidScope:
            decision = False
        if key is not None:
            if len(memo) >= DECISION_CACHE_SIZE:
                memo.clear()  # crude but bounded; refills in one request
            memo[key] = decision
        return decision

    def enforce(self, context, rule, target):
        """Raise ``errors.Forbidden`` unless ``check`` allows the action."""
        if not self.check(context, rule, target):
            raise errors.Forbidden(
                "You are not authorized to complete %s action." % rule)


def _freeze(rule, creds, target):
    """A hashable memo key, or None when a value is not hashable."""
    try:
        key = (rule, _frozen_items(creds), _frozen_items(target))
        hash(key)
    except TypeError:
        return None
    return key


def _frozen_items(mapping):
    # Keys are unique strings, so sorting never compares the values.
    return tuple(sorted(
        (k, tuple(v) if isinstance(v, list) else v)
        for k, v in mapping.items()))


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return None
