"""Request helpers of the Artifact API: version text within what the
database holds, ASCII only."""

import pytest

from artifacts import errors
from artifacts.api.common import parse_version


def test_ascii_versions_parse():
    assert parse_version("1.2.3-rc.1+b5")[:3] == (1, 2, 3)


@pytest.mark.parametrize("text", ["1\u0662.0.0", "\u0661.0.0",
                                  "1.0.0-\u00e9", "1.0.0+\uff11"])
def test_non_ascii_versions_are_400(text):
    with pytest.raises(errors.Invalid, match="ASCII"):
        parse_version(text)


def test_numbers_past_the_column_are_400():
    with pytest.raises(errors.Invalid):
        parse_version("2147483648.0.0")
