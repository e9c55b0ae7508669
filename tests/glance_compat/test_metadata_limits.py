"""Per-value and per-image size limits of image properties."""

import pytest

from artifacts import errors
from glance_compat import metadata_limits as limits


def test_value_sizes_count_utf8_bytes_and_json_for_non_strings():
    assert limits.value_bytes("abc") == 3
    assert limits.value_bytes("\u00e9") == 2
    assert limits.value_bytes(["a", 1]) == len('["a", 1]')
    assert limits.total_bytes({"k": "vv", "\u00e9": 5}) == 1 + 2 + 2 + 1


def test_value_at_the_limit_is_accepted_and_one_more_byte_is_400():
    limits.check_value("p", "x" * limits.MAX_VALUE_BYTES)
    with pytest.raises(errors.Invalid) as info:
        limits.check_value("p", "x" * (limits.MAX_VALUE_BYTES - 1) + "\u00e9")
    assert info.value.status == 400
    assert "property 'p'" in info.value.message
    assert str(limits.MAX_VALUE_BYTES) in info.value.message


def test_total_over_budget_is_413_only_when_it_grows():
    big = {"p%d" % i: "x" * 60000 for i in range(18)}
    assert limits.total_bytes(big) > limits.MAX_TOTAL_BYTES
    with pytest.raises(errors.RequestTooLarge) as info:
        limits.check_total(big)
    assert info.value.status == 413
    # Already over (stored before the limit): trimming is still allowed.
    before = limits.total_bytes(big)
    del big["p0"]
    limits.check_total(big, before)
    limits.check_total({"a": "b"})
