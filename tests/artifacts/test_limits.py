"""Per-artifact limits (artifacts/limits.py): counts of properties and
tags, and the size of each property value and of all of them."""

import pytest

from artifacts import errors, limits
from artifacts.types.images import IMAGES
from artifacts.types.tosca import VNF_PACKAGES

LIMITS = limits.Limits(max_properties=3, max_tags=2, max_property_bytes=100,
                       max_metadata_bytes=1000)


def art(properties=None, tags=()):
    return {"properties": dict(properties or {}), "tags": set(tags)}


def test_value_sizes_count_utf8_bytes_and_json_for_non_strings():
    assert limits.value_bytes("abc") == 3
    assert limits.value_bytes("\u00e9") == 2
    assert limits.value_bytes(["a", 1]) == len('["a", 1]')
    assert limits.metadata_bytes({"k": "vv", "\u00e9": 5}) == 1 + 2 + 2 + 1


def test_a_value_at_the_limit_is_accepted_one_more_byte_is_400():
    limits.check_artifact(LIMITS, IMAGES, art({"p": "x" * 100}))
    with pytest.raises(errors.Invalid) as info:
        limits.check_artifact(LIMITS, IMAGES, art({"p": "x" * 99 + "\u00e9"}))
    assert info.value.status == 400
    assert "property 'p'" in info.value.message
    assert "at most 100 bytes" in info.value.message


def test_declared_fields_of_any_type_are_measured_too():
    with pytest.raises(errors.Invalid):
        limits.check_artifact(LIMITS, VNF_PACKAGES,
                              art({"description": "d" * 101}))


def test_the_total_is_413_only_when_it_grows():
    big = {"p%d" % i: "x" * 90 for i in range(12)}
    loose = limits.Limits(max_property_bytes=100, max_metadata_bytes=1000)
    with pytest.raises(errors.RequestTooLarge) as info:
        limits.check_artifact(loose, IMAGES, art(big))
    assert info.value.status == 413
    # Stored before the limit: trimming it is still allowed.
    smaller = dict(big)
    del smaller["p0"]
    limits.check_artifact(loose, IMAGES, art(smaller), old=art(big))


def test_unchanged_old_values_are_not_measured_again():
    old = art({"p": "x" * 500})
    limits.check_artifact(limits.Limits(max_property_bytes=100), IMAGES,
                          art({"p": "x" * 500, "q": "y"}), old=old)


def test_counts_use_glance_wording():
    with pytest.raises(errors.QuotaExceeded) as info:
        limits.check_artifact(LIMITS, IMAGES, art({"a": "1", "b": "2",
                                                   "c": "3", "d": "4"}))
    assert info.value.message == ("The limit has been exceeded on the "
                                  "number of allowed image properties. "
                                  "Attempted: 4, Maximum: 3")
    with pytest.raises(errors.QuotaExceeded):
        limits.check_artifact(LIMITS, IMAGES, art(tags=("a", "b", "c")))
