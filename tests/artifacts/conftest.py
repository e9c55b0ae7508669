"""Fixtures of the engine tests: a migrated SQLite database per module and
the policy enforcer with Glance's default image rules."""

import pytest

from artifacts.db import migrate
from artifacts.db.session import make_engine
from artifacts.policy import Enforcer
from artifacts.types import image_policies
from glare import config


@pytest.fixture(scope="module")
def db_engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("engine") / "glare.sqlite"
    eng = make_engine("sqlite:///%s" % path)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def enforcer():
    # Never pick up a stray policy.yaml from the machine's config dirs.
    conf = config.load(overrides={
        "oslo_policy.policy_file": "/nonexistent/policy.yaml"})
    return Enforcer(conf, image_policies.RULES)
