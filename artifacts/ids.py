"""Artifact ids: canonical UUIDs, one rule for every face and the engine."""

import uuid


def is_canonical_uuid(value):
    """True only for a UUID written exactly as ``str(uuid.UUID(...))``
    writes it: lowercase hex in 8-4-4-4-12 groups, nothing before or after.

    Parsed and compared rather than matched with a pattern: a pattern
    ending in ``$`` also matches before a trailing newline, and
    ``uuid.UUID`` alone also takes braces, ``urn:uuid:``, no dashes and
    surrounding whitespace.  Uppercase is refused too (Glance's schema
    would store it as given, which makes the same image two different ids
    on PostgreSQL and SQLite but one on MariaDB).
    """
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
