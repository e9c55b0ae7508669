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

.PHONY: venv run db-upgrade test test-fast bench clean nova-venv \
	keystone-venv

# The tool venvs under .cache/ (glance-venv, nova-venv, keystone-venv,
# tempest-venv): $(call tool_venv,VENV,READY,PACKAGES).  READY is a shell
# test of every executable (and import) that the tests and later targets
# use from VENV; when it passes nothing is done.  Otherwise PACKAGES are
# pip-installed into VENV (made if missing), and READY must pass then: a
# half-built venv whose pip still lists a package but has lost its files
# (e.g. bin/keystone-manage) gets every package reinstalled, and a venv
# that stays incomplete fails the target instead of being accepted.
define tool_venv
	@if $(2); then :; else \
	  test -x $(1)/bin/python || $(PYTHON) -m venv $(1); \
	  $(1)/bin/pip install -q --upgrade pip && \
	  $(1)/bin/pip install -q $(3) || exit 1; \
	  if $(2); then :; else \
	    echo "$(1) is incomplete after pip install; reinstalling its" \
	      "packages" >&2; \
	    $(1)/bin/pip install -q --force-reinstall $(3) && { $(2); } || \
	    { echo "$(1) could not be built: remove it and run make $@" \
	      "again" >&2; exit 1; }; fi; fi
endef

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
# Nova's venv (nova-venv, below) is built first, once: about 50 s and
# 400 MB from a warm package index.
test: $(STAMP)
	@$(MAKE) --no-print-directory glance-venv || echo "make test: Glance's \
	venv could not be built; the tests that compare with real Glance skip"
	@$(MAKE) --no-print-directory nova-venv || echo "make test: Nova's \
	venv could not be built; the tests that drive Nova's image layer skip"
	@$(MAKE) --no-print-directory keystone-venv || echo "make test: \
	Keystone's venv could not be built; the tests with a real Keystone skip"
	$(BIN)/python -m pytest -n 2 --dist loadscope -q --durations=25 $(PYTEST_ARGS) tests

# Nova's image layer (nova.image.glance.API) in its own venv, cached under
# .cache/: tests/integration/test_nova_image.py drives it against Glare
# through tests/integration/nova_image_probe.py.  Nova 34 is the release of
# Glance 33's cycle.  Built once (a few minutes; see docs/performance.md),
# then only checked.
NOVA_VENV ?= .cache/nova-venv
NOVA_SPEC ?= nova==34.0.0

# tests/integration/nova_venv.py runs bin/python (nova_image_probe.py).
NOVA_READY = $(NOVA_VENV)/bin/python -c 'import nova.image.glance' \
	2>/dev/null

nova-venv:
	$(call tool_venv,$(NOVA_VENV),$(NOVA_READY),'$(NOVA_SPEC)')

# A real Keystone in its own venv, cached under .cache/, served by gunicorn:
# tests/keystone_server.py starts it for tests/integration/test_keystone.py
# and the Tempest runner.  Keystone 30 is the release of Glance 33's cycle
# (2026.2).  Built once (about a minute from a warm index), then checked.
KEYSTONE_VENV ?= .cache/keystone-venv
KEYSTONE_SPEC ?= keystone==30.0.0

# tests/keystone_server.py runs bin/keystone-manage (db_sync, bootstrap)
# and bin/gunicorn; its _ready() checks the same.
KEYSTONE_READY = test -x $(KEYSTONE_VENV)/bin/keystone-manage && \
	test -x $(KEYSTONE_VENV)/bin/gunicorn && \
	$(KEYSTONE_VENV)/bin/python -c 'import keystone.wsgi' 2>/dev/null

keystone-venv:
	$(call tool_venv,$(KEYSTONE_VENV),$(KEYSTONE_READY),'$(KEYSTONE_SPEC)' gunicorn)

# Unit tests only (no servers, no external databases).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration" $(PYTEST_ARGS) tests

# Benchmarks against a running Glare (see bench/README.md).
bench: $(STAMP)
	$(BIN)/python bench/run.py --url http://$(HOST):$(PORT)

clean:
	rm -rf $(VENV) data .pytest_cache

# ---------------------------------------------------------------------------
# Conformance: the same Glance v2 checks against Glare and a real Glance
# (conformance/, docs/compatibility.md).  Any endpoint:
#   $(BIN)/glare conformance --url http://host:9292 [--server-kind glance]

GLANCE_VENV ?= .cache/glance-venv
GLANCE_SPEC ?= glance==33.0.0
CONFORMANCE_RESULTS := .cache/conformance

.PHONY: conformance conformance-glance glance-venv compatibility-doc \
	compatibility-doc-glare \
	compatibility-check

# Glare with its defaults on a fresh SQLite database, then the suite.
conformance: $(STAMP)
	$(BIN)/python -m conformance.run glare -- -q $(PYTEST_ARGS)

# Real Glance in its own venv (cached under .cache/), served by uWSGI.
# The database drivers let it run on PostgreSQL/MariaDB (make bench-glance)
# and boto3 is what glance_store's s3 store needs (the multi-store
# conformance run has an S3 store); Glance's own requirements pull in none
# of them.
# conformance/glance_runner.py runs bin/glance-manage and bin/uwsgi
# (venv_ok() checks them with bin/python).
GLANCE_READY = test -x $(GLANCE_VENV)/bin/glance-manage && \
	test -x $(GLANCE_VENV)/bin/uwsgi && \
	$(GLANCE_VENV)/bin/python -c 'import glance, pymysql, psycopg2, boto3' \
	2>/dev/null

glance-venv:
	$(call tool_venv,$(GLANCE_VENV),$(GLANCE_READY),'$(GLANCE_SPEC)' uwsgi \
	  pymysql psycopg2-binary boto3)

conformance-glance: $(STAMP) glance-venv
	$(BIN)/python -m conformance.run glance --venv $(GLANCE_VENV) \
	  -- -q $(PYTEST_ARGS)

# Run both sides (single-store, then the multi-store checks with
# --multi-store) and regenerate docs/compatibility.md from their results.
# Glare refuses the multi-store configuration until it offers copy-image:
# its multi-store results are then missing (the "-" of the Glare column).
GLARE_MULTI_STORE_XML := $(CONFORMANCE_RESULTS)/glare-multi-store.xml
GLARE_MULTI_STORE_ARG = $$(test -f $(GLARE_MULTI_STORE_XML) && \
	  echo --glare $(GLARE_MULTI_STORE_XML))

compatibility-doc: $(STAMP) glance-venv
	mkdir -p $(CONFORMANCE_RESULTS)
	rm -f $(GLARE_MULTI_STORE_XML)
	$(BIN)/python -m conformance.run glance --venv $(GLANCE_VENV) \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glance.xml
	$(BIN)/python -m conformance.run glance --multi-store \
	  --venv $(GLANCE_VENV) \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glance-multi-store.xml
	$(BIN)/python -m conformance.run glance --cache --venv $(GLANCE_VENV) \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glance-cache.xml
	$(BIN)/python -m conformance.run glance --property-protections \
	  --venv $(GLANCE_VENV) \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glance-protections.xml
	$(BIN)/python -m conformance.run glare \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare.xml
	-$(BIN)/python -m conformance.run glare --multi-store \
	  -- -q --junitxml=$(GLARE_MULTI_STORE_XML)
	$(BIN)/python -m conformance.run glare --cache \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare-cache.xml
	$(BIN)/python -m conformance.run glare --property-protections \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare-protections.xml
	$(BIN)/python -m conformance.report \
	  --glance $(CONFORMANCE_RESULTS)/glance.xml \
	  --glance $(CONFORMANCE_RESULTS)/glance-multi-store.xml \
	  --glance $(CONFORMANCE_RESULTS)/glance-cache.xml \
	  --glance $(CONFORMANCE_RESULTS)/glance-protections.xml \
	  --glare $(CONFORMANCE_RESULTS)/glare.xml $(GLARE_MULTI_STORE_ARG) \
	  --glare $(CONFORMANCE_RESULTS)/glare-cache.xml \
	  --glare $(CONFORMANCE_RESULTS)/glare-protections.xml \
	  --output docs/compatibility.md

# The committed document still lists every check with its current status.
compatibility-check: $(STAMP)
	$(BIN)/python -m conformance.report --check docs/compatibility.md

# Only Glare changed: rerun Glare, keep the Glance column of the document.
compatibility-doc-glare: $(STAMP)
	mkdir -p $(CONFORMANCE_RESULTS)
	rm -f $(GLARE_MULTI_STORE_XML)
	$(BIN)/python -m conformance.run glare \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare.xml
	-$(BIN)/python -m conformance.run glare --multi-store \
	  -- -q --junitxml=$(GLARE_MULTI_STORE_XML)
	$(BIN)/python -m conformance.run glare --cache \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare-cache.xml
	$(BIN)/python -m conformance.run glare --property-protections \
	  -- -q --junitxml=$(CONFORMANCE_RESULTS)/glare-protections.xml
	$(BIN)/python -m conformance.report --keep-glance \
	  --glare $(CONFORMANCE_RESULTS)/glare.xml $(GLARE_MULTI_STORE_ARG) \
	  --glare $(CONFORMANCE_RESULTS)/glare-cache.xml \
	  --glare $(CONFORMANCE_RESULTS)/glare-protections.xml \
	  --output docs/compatibility.md

# ---------------------------------------------------------------------------
# Performance against real Glance (bench/compare.py, docs/performance.md):
# for each database kind, a fresh database + real Glance (uWSGI) + bench/run.py,
# then a fresh database + Glare + the same bench/run.py, BENCH_REPEAT times
# alternating; prints medians, ratios and targets.  Every run's JSON goes to
# .cache/bench/.  E.g.  make bench-glance BENCH_DB=sqlite,mysql BENCH_REPEAT=3

BENCH_DB ?= sqlite
BENCH_REPEAT ?= 1
BENCH_SIZE ?= 1G
BENCH_ARGS ?=

.PHONY: bench-glance bench-load
# 64 clients x 60 s of mixed work beside 64 stalled connections, on each
# database of LOAD_DB (bench/README.md); LOAD_ARGS e.g. --duration 10.
LOAD_DB ?= sqlite,postgresql,mysql
bench-load: $(STAMP)
	$(BIN)/python bench/load.py --db $(LOAD_DB) $(LOAD_ARGS)

bench-glance: $(STAMP) glance-venv
	$(BIN)/python bench/compare.py --db $(BENCH_DB) --repeat $(BENCH_REPEAT) \
	  --size $(BENCH_SIZE) --glance-venv $(GLANCE_VENV) \
	  --out .cache/bench $(if $(BENCH_ARGS),-- $(BENCH_ARGS))

# ---------------------------------------------------------------------------
# Fuzz the Artifact API: start Glare on a fresh SQLite database, seed a few
# artifacts, and run schemathesis on /artifacts/openapi.json checking for
# 5xx only (tests/integration/artifact_fuzz.py; a CI-sized run is part of
# make test).  Against a running Glare:  make fuzz FUZZ_URL=http://host:9292
# More cases:  make fuzz FUZZ_EXAMPLES=200 FUZZ_ARGS="--seed 1"

FUZZ_URL ?=
FUZZ_EXAMPLES ?= 20
FUZZ_ARGS ?=

.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m tests.integration.artifact_fuzz \
	  $(if $(FUZZ_URL),--url $(FUZZ_URL)) --max-examples $(FUZZ_EXAMPLES) \
	  $(if $(FUZZ_ARGS),-- $(FUZZ_ARGS))

# ---------------------------------------------------------------------------
# Tempest's image API tests (tempest.api.image: admin and non-admin,
# metadefs, tasks, cache) against Glare, then against a real Glance 33, each
# registered in a real Keystone (conformance/tempest/run.py, docs/tempest.md).
# Results per test in .cache/tempest/<kind>.json.  Not part of make test
# (about 10 minutes per server).  TEMPEST_ARGS="--regex ..." narrows it.
TEMPEST_VENV ?= .cache/tempest-venv
TEMPEST_SPEC ?= tempest==47.0.0
TEMPEST_ARGS ?=

.PHONY: tempest tempest-venv
# conformance/tempest/run.py runs bin/tempest, bin/stestr and
# bin/subunit2csv.
TEMPEST_READY = test -x $(TEMPEST_VENV)/bin/tempest && \
	test -x $(TEMPEST_VENV)/bin/stestr && \
	test -x $(TEMPEST_VENV)/bin/subunit2csv

tempest-venv:
	$(call tool_venv,$(TEMPEST_VENV),$(TEMPEST_READY),'$(TEMPEST_SPEC)')

tempest: $(STAMP) keystone-venv tempest-venv glance-venv
	-$(BIN)/python -m conformance.tempest.run glare $(TEMPEST_ARGS)
	-$(BIN)/python -m conformance.tempest.run glance $(TEMPEST_ARGS)
	$(BIN)/python -m conformance.tempest.report .cache/tempest/glare.json \
	  .cache/tempest/glance.json
