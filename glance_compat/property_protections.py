"""Glance's property protections: who may create, read, update and delete
which extra image properties.

``[DEFAULT] property_protection_file`` names an INI file whose sections are
regular expressions over property names and whose options ``create``,
``read``, ``update`` and ``delete`` say who may do each (all four are
required in every section).  ``property_protection_rule_format`` says how:

``roles``     a comma-separated list of roles (the caller's roles and
              service roles, case-insensitive), ``@`` for everybody, ``!``
              for nobody (``@`` and ``!`` together is an error);
``policies``  the name of ONE rule of the policy file (``rule:<name>``,
              registered here as ``<section>:<operation>``); ``@`` and
              ``!`` mean the same as above.

As in Glance: the first section (in file order) whose expression
*matches anywhere in* a name (``re.search``) decides; a property no
section matches, or an operation left empty, is refused to everybody;
``os_glance*`` names are reserved for the server, so the operator's
sections of that name are dropped and ``[os_glance.*]`` with ``@``
everywhere is put first.  A file that cannot be read or holds a bad rule
stops the server at start (``ProtectionFileError``).

Only Glance's extra properties are protected, never the image's own
attributes (name, visibility, disk_format, ...).  The views apply the rules
(``glance_compat/images.py``, ``patch.py``, ``tasks.py``): a refused create
or change is
Glance's 403 "Attribute '<name>' is reserved.", a property the caller may
not read is left out of every image shown and is to that caller a property
that does not exist (replace/remove: 409).  Unlike Glance, a PATCH or an
import keeps the properties its author could not read (Glance's save drops
them).
"""

import configparser
import io
import logging
import re

from oslo_policy import policy

from artifacts import errors

LOG = logging.getLogger(__name__)

OPERATIONS = ("create", "read", "update", "delete")
FORMATS = ("roles", "policies")
EVERYBODY, NOBODY = "@", "!"
RESERVED_SECTION = "os_glance.*"


class ProtectionFileError(ValueError):
    """The property protection file cannot be used (the message says why)."""


def reserved(name):
    """Glance's 403 for a property operation the rules refuse."""
    return errors.Forbidden("Attribute '%s' is reserved." % name)


class PropertyRules:
    """The loaded rules: ``[(compiled expression, section name, {operation:
    tuple of roles or a one-item tuple with the policy rule})]``."""

    def __init__(self, sections, rule_format):
        self.sections = sections
        self.rule_format = rule_format

    @classmethod
    def load(cls, path, rule_format="roles"):
        rule_format = (rule_format or "roles").lower()
        if rule_format not in FORMATS:
            raise ProtectionFileError(
                "Invalid value '%s' for property_protection_rule_format: "
                "the permitted values are 'roles' and 'policies'."
                % rule_format)
        parser = configparser.ConfigParser()
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f, source=path)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise ProtectionFileError(
                "Cannot read the property protection file %s: %s"
                % (path, exc)) from exc
        return cls(_sections(_with_reserved_first(parser), rule_format),
                   rule_format)

    def policy_rules(self):
        """The ``<section>:<operation>`` rules of the policies format, to
        register with the enforcer (none for the roles format)."""
        if self.rule_format != "policies":
            return []
        return [policy.RuleDefault(
                    name="%s:%s" % (name, op), check_str="rule:%s" % perm[0],
                    description="Property protection of [%s] %s."
                                % (name, op))
                for _, name, perms in self.sections
                for op, perm in perms.items()
                if perm and perm[0] not in (EVERYBODY, NOBODY)]

    def allowed(self, enforcer, ctx, name, operation):
        """True if ``ctx`` may do ``operation`` on the property ``name``."""
        for pattern, section, perms in self.sections:
            if pattern.search(str(name)):
                break
        else:
            return False
        perm = perms.get(operation) or ()
        if not perm or NOBODY in perm:
            return False
        if EVERYBODY in perm:
            return True
        if self.rule_format == "policies":
            return enforcer.check(ctx, "%s:%s" % (section, operation), {})
        roles = {str(r).strip().lower() for r in
                 tuple(ctx.roles) + tuple(ctx.service_roles or ())}
        return bool(roles & {r.lower() for r in perm})

    def guard(self, enforcer, ctx):
        """The rules for one caller (decisions remembered per name)."""
        return Guard(self, enforcer, ctx)


class Guard:
    """``can(name, operation)`` and ``readable(properties)`` for one
    caller; ``None`` rules (no protection file) allow everything."""

    def __init__(self, rules, enforcer, ctx):
        self._rules, self._enforcer, self._ctx = rules, enforcer, ctx
        self._memo = {}

    def can(self, name, operation):
        if self._rules is None:
            return True
        key = (name, operation)
        if key not in self._memo:
            self._memo[key] = self._rules.allowed(self._enforcer, self._ctx,
                                                  name, operation)
        return self._memo[key]

    def readable(self, properties):
        """``properties`` without the extra properties the caller may not
        read (the image's own attributes are always kept)."""
        if self._rules is None:
            return properties
        from glance_compat.patch import BASE
        return {k: v for k, v in properties.items()
                if k in BASE or self.can(k, "read")}


def _with_reserved_first(parser):
    """The operator's sections without any ``os_glance*`` one, after the
    server's ``[os_glance.*]`` (everything allowed)."""
    text = io.StringIO()
    for name in parser.sections():
        if name.startswith("os_glance"):
            parser.remove_section(name)
    parser.write(text)
    merged = configparser.ConfigParser()
    merged.read_dict({RESERVED_SECTION: {op: EVERYBODY for op in OPERATIONS}})
    merged.read_string(text.getvalue())
    return merged


def _sections(parser, rule_format):
    sections = []
    for name in parser.sections():
        try:
            pattern = re.compile(name)
        except re.error as exc:
            raise ProtectionFileError(
                "Malformed property protection rule [%s]: %s" % (name, exc))
        perms = {}
        for op in OPERATIONS:
            try:
                value = parser.get(name, op)
            except configparser.NoOptionError:
                raise ProtectionFileError(
                    "Property protection rule [%s] has no '%s' operation; "
                    "every section needs create, read, update and delete."
                    % (name, op))
            except configparser.Error as exc:
                raise ProtectionFileError(
                    "Property protection rule [%s] %s: %s" % (name, op, exc))
            perms[op] = _permissions(name, op, value, rule_format)
        sections.append((pattern, name, perms))
    return sections


def _permissions(section, op, value, rule_format):
    if not value:
        LOG.warning("Property protection [%s] %s is empty: nobody may do "
                    "it.", section, op)
        return ()
    if rule_format == "policies":
        if "," in value:
            raise ProtectionFileError(
                "Property protection [%s] %s = %s: one policy per "
                "operation (combine them in the policy file)."
                % (section, op, value))
        return (value,)
    roles = tuple(r.strip() for r in value.split(","))
    if EVERYBODY in roles and NOBODY in roles:
        raise ProtectionFileError(
            "Malformed property protection rule [%s] %s = %s: '@' and '!' "
            "are mutually exclusive." % (section, op, value))
    return roles


def for_request():
    """The ``Guard`` of the current Image API request's caller."""
    from glance_compat.common import context, services
    svc = services()
    return Guard(svc.settings.property_rules, svc.engine.enforcer,
                 context())


def check_create(guard, properties):
    """Glance's 403 for the first extra property among ``properties``
    (names; the image's own attributes are never protected) that
    ``guard`` may not create: an image's create and a legacy import
    task's ``image_properties``."""
    from glance_compat.patch import BASE
    for name in properties:
        if name not in BASE and not guard.can(name, "create"):
            raise reserved(name)
