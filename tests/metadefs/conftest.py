"""Fixtures of the metadefs tests: a migrated database per module (each
kind of the matrix), the catalog with Glance's default rules, and the
callers the rules tell apart."""

import pytest

from artifacts.context import RequestContext
from artifacts.policy import Enforcer
from artifacts.types import image_policies
from glare import config
from metadefs import policies
from metadefs.service import Catalog
from tests.conftest import migrated_database, selected_databases


@pytest.fixture(scope="module", params=selected_databases())
def db_engine(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metadefs-%s" % request.param)
    with migrated_database(request.param, tmp) as (_, eng):
        yield eng


def make_enforcer(policy_file="/nonexistent/policy.yaml"):
    conf = config.load(overrides={"oslo_policy.policy_file": policy_file})
    return Enforcer(conf, image_policies.RULES + policies.RULES)


@pytest.fixture(scope="module")
def catalog(db_engine):
    return Catalog(db_engine, make_enforcer())


def ctx(project, *roles):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=roles)


@pytest.fixture
def admin():
    return ctx("pa", "admin", "member", "reader")


@pytest.fixture
def member():
    return ctx("pa", "member", "reader")


@pytest.fixture
def reader():
    return ctx("pa", "reader")


@pytest.fixture
def other():
    """A member of another project."""
    return ctx("pb", "member", "reader")
