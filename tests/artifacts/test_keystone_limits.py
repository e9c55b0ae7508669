"""KeystoneLimits: project and registered limits read through oslo.limit
from a Keystone whose /v3 API is played by requests-mock (password auth,
endpoint lookup, /v3/limits/model, /v3/registered_limits, /v3/limits)."""

import time

import pytest

pytest.importorskip("oslo_limit")
requests_mock = pytest.importorskip("requests_mock")

from artifacts import errors, keystone_limits  # noqa: E402
from glance_compat import usage as glance_usage  # noqa: E402
from tests.keystone_fake import (KEYSTONE, OSLO_LIMIT,  # noqa: E402
                                 FakeKeystone, forget_session)

MiB = 1024 * 1024


@pytest.fixture
def keystone(tmp_path):
    conf = tmp_path / "glare.conf"
    conf.write_text(OSLO_LIMIT)
    keystone_limits.load_global_conf([str(conf)])
    with requests_mock.Mocker() as mock:
        yield FakeKeystone(mock)
    forget_session()


def test_project_limit_wins_over_registered_limit_in_quota_units(keystone):
    keystone.registered = {"image_size_total": 5, "image_stage_total": 7,
                           "image_count_total": 10,
                           "image_count_uploading": -1}
    keystone.project = {("p1", "image_size_total"): 2}
    limits = keystone_limits.KeystoneLimits(glance_usage.NAMES)
    assert limits.limits("p1") == {
        ("images", "stored_bytes"): 2 * MiB,
        ("images", "staged_bytes"): 7 * MiB,
        ("images", "artifact_count"): 10,
        ("images", "uploading_count"): -1,
    }
    # Another project has only the registered defaults.
    assert limits.limits("p2")[("images", "stored_bytes")] == 5 * MiB


def test_a_limit_not_registered_allows_nothing(keystone):
    """oslo.limit's rule: no registered limit is a limit of 0."""
    keystone.registered = {"image_count_total": 3}
    limits = keystone_limits.KeystoneLimits(glance_usage.NAMES)
    found = limits.limits("p1")
    assert found[("images", "artifact_count")] == 3
    assert found[("images", "stored_bytes")] == 0
    assert found[("images", "uploading_count")] == 0


def test_limits_are_read_again_after_the_cache_time(keystone):
    keystone.registered = {"image_count_total": 3}
    limits = keystone_limits.KeystoneLimits(glance_usage.NAMES,
                                            cache_seconds=0.3)
    assert limits.limits("p1")[("images", "artifact_count")] == 3
    reads = keystone.reads
    keystone.project = {("p1", "image_count_total"): 9}
    assert limits.limits("p1")[("images", "artifact_count")] == 3
    assert keystone.reads == reads          # cached
    time.sleep(0.35)
    assert limits.limits("p1")[("images", "artifact_count")] == 9
    assert keystone.reads > reads


def test_keystone_refusing_glare_is_503_not_unlimited(keystone):
    keystone.mock.post(KEYSTONE + "/v3/auth/tokens", status_code=401,
                       json={"error": {"code": 401,
                                       "message": "bad password"}})
    limits = keystone_limits.KeystoneLimits(glance_usage.NAMES)
    with pytest.raises(errors.StoreUnavailable) as caught:
        limits.limits("p1")
    assert caught.value.status == 503
    assert "Keystone" in caught.value.message
