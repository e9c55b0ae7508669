"""Declarations a type plugin is made of: fields, lifecycle, policy names, hooks.

A type is data, not a class hierarchy: ``ArtifactType(name=..., fields={...})``
in one short module under ``artifacts/types/``.  The engine reads the
declaration to validate values, decide which transitions are legal, name the
policy rule of each operation and run the hooks.
"""

import dataclasses
import re
import typing

from artifacts import errors

KINDS = ("string", "integer", "numeric", "boolean", "list", "dict", "blob",
         "folder", "link", "link_list")
SCALAR_KINDS = ("string", "integer", "numeric", "boolean")


@dataclasses.dataclass(frozen=True)
class Field:
    kind: str
    system: bool = False          # set by the engine only, read-only in APIs
    mutable: bool = True          # may change after activation
    required_on_activate: bool = False
    default: typing.Any = None
    nullable: bool = True
    sortable: bool = False
    filter_ops: tuple = ("eq", "neq", "in")
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    allowed: tuple | None = None
    pattern: str | None = None    # regex a string (or each item) must match
    item_kind: str = "string"     # for list and dict fields
    max_items: int | None = None  # list/dict/link_list length, folder files
    max_size: int | None = None   # bytes: a blob, or a folder's total
    link_type: str | None = None  # link targets must be of this type
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError("unknown field kind %r" % self.kind)

    @property
    def is_data(self):
        return self.kind in ("blob", "folder")

    def validate(self, name, value):
        """Raise Invalid (naming the field and the rule) unless ``value``
        is acceptable for this field; returns the value."""
        if value is None:
            if not self.nullable:
                raise errors.Invalid("Field '%s' may not be null." % name)
            return value
        if self.kind in ("list", "link_list"):
            if not isinstance(value, list):
                raise errors.Invalid("Field '%s' must be a list." % name)
            self._check_count(name, value)
            item = "string" if self.kind == "link_list" else self.item_kind
            for element in value:
                _check_scalar(name, item, element, self)
            return value
        if self.kind == "dict":
            if not isinstance(value, dict):
                raise errors.Invalid("Field '%s' must be an object." % name)
            self._check_count(name, value)
            for key, element in value.items():
                if not isinstance(key, str) or not key or len(key) > 255:
                    raise errors.Invalid("Field '%s' has an invalid key %r "
                                         "(1 to 255 characters)."
                                         % (name, key))
                _check_scalar(name, self.item_kind, element, self)
            return value
        if self.kind == "link":
            _check_scalar(name, "string", value, self)
            return value
        _check_scalar(name, self.kind, value, self)
        return value

    def _check_count(self, name, value):
        if self.max_items is not None and len(value) > self.max_items:
            raise errors.Invalid("Field '%s' has %d items; at most %d are "
                                 "allowed." % (name, len(value),
                                               self.max_items))


_PY_TYPES = {"string": str, "integer": int, "numeric": (int, float),
             "boolean": bool}


def _check_scalar(name, kind, value, field):
    expected = _PY_TYPES[kind]
    if isinstance(value, bool) and kind != "boolean" or \
            not isinstance(value, expected):
        raise errors.Invalid("Field '%s' must be of type %s, not %r."
                             % (name, kind, value))
    if field.allowed is not None and value not in field.allowed:
        raise errors.Invalid("Field '%s' must be one of: %s."
                             % (name, ", ".join(map(str, field.allowed))))
    if kind == "string":
        if field.max_length is not None and len(value) > field.max_length:
            raise errors.Invalid("Field '%s' is longer than %d characters."
                                 % (name, field.max_length))
        if field.pattern is not None and not re.fullmatch(field.pattern,
                                                          value):
            raise errors.Invalid("Field '%s' does not match the pattern %s."
                                 % (name, field.pattern))
    elif kind in ("integer", "numeric"):
        if field.min_value is not None and value < field.min_value:
            raise errors.Invalid("Field '%s' must be at least %s."
                                 % (name, field.min_value))
        if field.max_value is not None and value > field.max_value:
            raise errors.Invalid("Field '%s' must be at most %s."
                                 % (name, field.max_value))


@dataclasses.dataclass(frozen=True)
class DataFlow:
    """How data arriving in one field moves the artifact's status.

    An upload into a field with a flow takes the artifact from its initial
    status to ``via`` (a conditional UPDATE, so one upload wins) and, when
    the data is stored, to ``to``; on failure back to the initial status.
    ``staging``: the data goes to the staging store (data waiting for an
    import), not the type's store, and ``importing`` is the status while
    an import makes it the artifact's data.  ``too_large``: the 413 message
    when the data exceeds the size limit (None: the core's own wording).
    ``checking``: the status while data a client registered by URL is
    read and its digest compared with the one the client expects
    (``artifacts.registration``; None: ``to`` at once).  ``rule``: the
    operation whose policy rule an upload into the field needs (staged
    data is not yet the artifact's: images ask Glance's ``modify_image``
    for it, ``upload_image`` for the image data)."""

    via: str
    to: str
    staging: bool = False
    importing: str | None = None
    too_large: str | None = None
    checking: str | None = None
    rule: str = "upload"


# Hook points that judge (or derive files from) the bytes of an upload.
# Data registered as an external URL never passes through them, so a field
# they check cannot take one (``ArtifactType.checks_data``).
DATA_CHECK_POINTS = ("upload_filter", "post_upload", "blob_uploaded")


def checks_fields(*names):
    """Declare the data fields a data hook looks at (the hook still gets
    called for every field and ignores the others).  A hook without the
    declaration is taken to check every data field of its type."""
    def mark(hook):
        hook.checks_fields = frozenset(names)
        return hook
    return mark


# The digests the core computes for every blob unless a type asks for
# others; "configured" stands for the operator's hashing algorithm
# (Glance's ``hashing_algorithm``, the ``os_hash_value`` of images).
DEFAULT_DIGESTS = ("md5", "sha1", "sha256")


@dataclasses.dataclass
class ArtifactType:
    name: str
    fields: dict
    statuses: tuple
    initial_status: str
    # status -> statuses it may move to
    transitions: dict
    active_status: str = "active"
    default_visibility: str = "private"
    # statuses that lists never show (the artifact stays readable by id)
    unlisted_statuses: tuple = ()
    # free-form string properties besides the declared fields
    extra_properties: bool = False
    # operation -> policy rule name (see artifacts/policy.py)
    policy_rules: dict = dataclasses.field(default_factory=dict)
    policy_defaults: list = dataclasses.field(default_factory=list)
    # hook point -> list of callables (see artifacts/hooks.py)
    hooks: dict = dataclasses.field(default_factory=dict)
    # how messages name one artifact of this type ("image")
    noun: str = "artifact"

    # (type, owner, name, version) is unique, by a database constraint
    versioned: bool = False
    # store id from configuration; None: the default store
    store: str | None = None
    description: str = ""
    # field name -> DataFlow, for fields whose data moves the status (the
    # field may be undeclared: images' "staging" is no user-visible field)
    data_flows: dict = dataclasses.field(default_factory=dict)
    digests: tuple = DEFAULT_DIGESTS
    # A property naming the task (artifacts.tasks) that holds the
    # artifact's data operations (images: Glance's os_glance_import_task):
    # while that task is live, no other task on the artifact is created.
    task_lock: str | None = None

    def field(self, name):
        return self.fields.get(name)

    def data_fields(self):
        return [n for n, f in self.fields.items() if f.is_data]

    def checks_data(self, field):
        """Whether a data hook of this type judges the bytes of ``field``
        (see ``DATA_CHECK_POINTS``)."""
        for point in DATA_CHECK_POINTS:
            for hook in self.hooks.get(point, ()):
                names = getattr(hook, "checks_fields", None)
                if names is None or field in names:
                    return True
        return False

    def may_move(self, old, new):
        return new in self.transitions.get(old, ())

    def rule(self, operation):
        return self.policy_rules.get(operation, "%s:%s" % (self.name,
                                                           operation))


# The lifecycle every artifact type has unless it declares its own (images
# keep Glance's): drafted → active ⇄ deactivated; deletion is not a status
# users set but an operation.
GENERIC_STATUSES = ("drafted", "active", "deactivated", "deleted")
GENERIC_TRANSITIONS = {
    "drafted": {"active", "deleted"},
    "active": {"deactivated", "deleted"},
    "deactivated": {"active", "deleted"},
    "deleted": set(),
}


def artifact_type(name, fields, **kwargs):
    """A type with the generic lifecycle, policy rules ``artifact:<op>``
    and unique versions: what a new type plugin normally wants."""
    kwargs.setdefault("statuses", GENERIC_STATUSES)
    kwargs.setdefault("initial_status", "drafted")
    kwargs.setdefault("transitions", GENERIC_TRANSITIONS)
    kwargs.setdefault("default_visibility", "private")
    kwargs.setdefault("versioned", True)
    kwargs.setdefault("noun", name.rstrip("s").replace("_", " "))
    kwargs.setdefault("policy_rules", {
        op: "artifact:%s" % op for op in GENERIC_OPERATIONS})
    return ArtifactType(name=name, fields=fields, **kwargs)


GENERIC_OPERATIONS = (
    "create", "list", "get", "update", "delete", "upload", "download",
    "activate", "deactivate", "reactivate", "publicize", "communitize",
    "add_member", "delete_member", "get_member", "get_members",
    "modify_member")
