# Glare developer entry points.  `make run` and `make test` work from a clean
# clone: both create .venv and install what they need first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?=
HOST ?= 127.0.0.1
PORT ?= 9292
PYTEST_ARGS ?=

.PHONY: venv run db-upgrade test test-fast bench clean

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

db-upgrade: $(STAMP)
	mkdir -p data
	$(BIN)/glare $(if $(CONFIG),--config $(CONFIG)) db upgrade

# Embedded default: SQLite (WAL) + filesystem store under ./data, no Keystone.
run: db-upgrade
	@echo "Glare on http://$(HOST):$(PORT) -- try:"
	@echo "  $(BIN)/glance --os-image-url http://$(HOST):$(PORT) --os-auth-token x image-list"
	$(BIN)/glare $(if $(CONFIG),--config $(CONFIG)) serve

# The whole suite: unit tests, then integration tests with real servers and
# real clients on SQLite, PostgreSQL and MariaDB (run in parallel groups).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadscope -q $(PYTEST_ARGS) tests

# Unit tests only (no servers, no external databases).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration" $(PYTEST_ARGS) tests

# Benchmarks against a running Glare (see bench/README.md).
bench: $(STAMP)
	$(BIN)/python bench/run.py --url http://$(HOST):$(PORT)

clean:
	rm -rf $(VENV) data .pytest_cache
