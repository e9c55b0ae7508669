"""The database every test module here runs on: a fresh one of each kind of
the matrix, its schema built by the migrations (never ``create_all``),
shared by the module's tests."""

import pytest

from tests.conftest import migrated_database, selected_databases


@pytest.fixture(scope="module", params=selected_databases())
def engine(request, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("db-%s" % kind)
    with migrated_database(kind, tmp) as (_, eng):
        yield eng
