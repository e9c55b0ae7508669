"""Size limits of an image's properties (Image API).

Glance keeps a property value in a TEXT column: on MySQL, its usual
database, a value over 65535 bytes is refused by the database (a 500).
Glare stores longer text, so without a limit one image could carry
megabytes of metadata that every list page then loads.  Two limits:

* ``MAX_VALUE_BYTES`` per property value (UTF-8; non-strings as JSON):
  400 naming the property;
* ``MAX_TOTAL_BYTES`` for all properties of one image (names and values):
  413, like Glance's other per-image limits.  Only a change that makes the
  total grow past it is refused, so an image already over the budget can
  still be trimmed.

These are module constants until ``[glare] image_property_value_max_bytes``
and ``image_properties_max_bytes`` exist in glare/config.py.
"""

import json

from artifacts import errors

MAX_VALUE_BYTES = 65535
MAX_TOTAL_BYTES = 1024 * 1024


def value_bytes(value):
    """The stored size of one value, in bytes."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(json.dumps(value).encode("utf-8"))


def total_bytes(properties):
    return sum(len(name.encode("utf-8")) + value_bytes(value)
               for name, value in properties.items())


def check_value(name, value):
    size = value_bytes(value)
    if size > MAX_VALUE_BYTES:
        raise errors.Invalid("The value of property '%s' is %d bytes long; "
                             "a property value may be at most %d bytes."
                             % (name[:255], size, MAX_VALUE_BYTES))


def check_total(properties, before=0):
    """413 when ``properties`` exceed the budget and grew from ``before``
    (the total they had before the change)."""
    size = total_bytes(properties)
    if size > MAX_TOTAL_BYTES and size > before:
        raise errors.RequestTooLarge(
            "The properties of this image would take %d bytes; an image's "
            "properties may take at most %d bytes in all." % (
                size, MAX_TOTAL_BYTES))
