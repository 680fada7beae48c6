# `make run` starts Hondana; `make test` runs the whole test suite. Both create the
# virtualenv and install what they need first.
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: run test lint bench check-faults check-production clean-data

$(VENV)/.runtime: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12+ not found" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py hondana_init
	HOST=$(HOST) PORT=$(PORT) $(PY) manage.py serve

test: $(VENV)/.dev
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

bench: $(VENV)/.dev
	$(PY) -m bench

# Only the tests that cause faults for real (they are part of `make test` too):
# killed brokers, workers and uploads, a full disk, cut database connections.
check-faults: $(VENV)/.dev
	$(PY) -m pytest -n 2 tests/faults tests/jobs/test_job_faults.py tests/jobs/test_broker_stress.py \
		tests/jobs/test_serve_supervision.py tests/reading/test_pagecache_delete.py tests/reading/test_reader_descriptors.py

# A fresh virtualenv from requirements.txt alone, PostgreSQL, a private Redis and the
# Procfile's release, web and worker lines: upload one archive and wait for its cover.
check-production:
	scripts/ci-production

clean-data:
	rm -rf .test-data
