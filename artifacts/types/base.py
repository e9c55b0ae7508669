"""Declarations a type plugin is made of: fields, lifecycle, policy names, hooks.

A type is data, not a class hierarchy: ``ArtifactType(name=..., fields={...})``
in one short module under ``artifacts/types/``.  The engine reads the
declaration to validate values, decide which transitions are legal, name the
policy rule of each operation and run the hooks.
"""

import dataclasses
import typing

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
    item_kind: str = "string"     # for list and dict fields

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError("unknown field kind %r" % self.kind)

    @property
    def is_data(self):
        return self.kind in ("blob", "folder")


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

    def field(self, name):
        return self.fields.get(name)

    def data_fields(self):
        return [n for n, f in self.fields.items() if f.is_data]

    def may_move(self, old, new):
        return new in self.transitions.get(old, ())

    def rule(self, operation):
        return self.policy_rules.get(operation, "%s:%s" % (self.name,
                                                           operation))
