# Vouch: `make run` serves the embedded default; `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
export PORT
# make prod: a production-like stack (see the prod target). Its port is PORT when set on the
# command line or in the environment, else 8000.
WEB_CONCURRENCY ?= 2
WORKERS ?= 2
PROD_PORT := $(if $(filter environment command,$(origin PORT)),$(PORT),8000)
export WEB_CONCURRENCY WORKERS

.PHONY: run prod preflight setup deps vendor migrate seed worker test test-unit test-services test-browser lint bench bench-scale browser-deps clean

# `flask hub serve` prints the address and the demo password once the server accepts connections.
run: setup migrate seed
	@$(FLASK) hub serve --port $(PORT)

# The production stack on one machine (Procfile, honcho): gunicorn with WEB_CONCURRENCY workers,
# WORKERS RQ workers and one `rq cron`, on DATABASE_URL (PostgreSQL) and REDIS_URL, after the
# preflight checks and `flask db upgrade`. Ctrl-C (or SIGTERM to honcho) stops everything it started.
prod: export VOUCH_ENV ?= production
# Multi-process metrics only under the stack's gunicorn and workers (make run and the tests keep
# prometheus-client's in-process registry).
prod: export PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/instance/prometheus
prod: setup preflight
	env -u PROMETHEUS_MULTIPROC_DIR $(FLASK) db upgrade
	rm -rf "$(PROMETHEUS_MULTIPROC_DIR)" && mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)"
	exec env PORT=$(PROD_PORT) $(VENV)/bin/honcho --no-colour start --procfile Procfile --app-root . \
	  --concurrency web=1,worker=$(WORKERS),cron=1

# Refuses (exit 1, one line per problem) when SECRET_KEY is unset or PostgreSQL/Redis do not answer.
preflight: deps
	@$(PY) -m hub.preflight

setup: deps vendor

deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# axe-core is copied for the browser tests' page audit only (tests/support/page_audit.py); no page
# loads it.
vendor: static/vendor/.installed

static/vendor/.installed: node_modules/.package-lock.json Makefile
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
	cp node_modules/axe-core/axe.min.js static/vendor/axe.min.js
	touch $@

migrate: deps
	$(FLASK) db upgrade

seed: deps
	$(FLASK) hub seed-demo

# An RQ worker for production-style runs: `REDIS_URL=redis://… DATABASE_URL=… make worker`
# (the worker builds the app from the same environment). Queue names carry the namespace.
worker: deps
	@test -n "$(REDIS_URL)" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0). Without it jobs run in-process and no worker is needed."; exit 1; }
	$(VENV)/bin/rq worker --with-scheduler --worker-class hub.worker.VouchSimpleWorker --url "$(REDIS_URL)" "$(or $(VOUCH_REDIS_NAMESPACE),vouch)-default"

# Debian's Chromium for the browser tier (Playwright cannot download its own browser here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium (apt-get install chromium) to run the browser tests."; fi; \
	fi

# ruff (rules and formatting), import-linter (the package layering) and mypy (types: strict for
# rewards/ and challenges/services/, mypy's defaults elsewhere); their settings are in pyproject.toml.
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy

# The unit tier runs on TEST_WORKERS pytest-xdist workers (auto: one per core; 0: serially), each
# on its own SQLite copy, PostgreSQL database and Redis namespace; work-stealing evens out the
# slow tests. The services and browser tiers run serially after it (real workers, servers, ports).
TEST_WORKERS ?= auto
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist worksteal)

test: setup browser-deps lint
	$(VENV)/bin/pytest -p no:cacheprovider -m "not services and not browser" $(XDIST)
	$(VENV)/bin/pytest -p no:cacheprovider -m "services or browser"

test-unit: setup
	$(VENV)/bin/pytest -m "not services and not browser" $(XDIST)

test-services: setup
	$(VENV)/bin/pytest -m services

test-browser: setup browser-deps
	$(VENV)/bin/pytest -m browser

# wrk (Debian's package) drives the load; PostgreSQL and Redis come from DATABASE_URL / REDIS_URL
# (defaults in bench/run.py: 127.0.0.1, database vouch_bench, Redis db 3).
bench: setup
	@command -v wrk >/dev/null || { if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -qq wrk >/dev/null; else echo "Install wrk (apt-get install wrk) to run the benchmark."; exit 1; fi; }
	$(PY) -m bench.run
	$(PY) -m bench.accounts

# Two gunicorn instances and four RQ workers on one PostgreSQL + Redis: the race cases across
# instances (exact outcomes), throughput of the pair, leaderboards equal the ledger after.
bench-scale: setup
	@command -v wrk >/dev/null || { if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -qq wrk >/dev/null; else echo "Install wrk (apt-get install wrk) to run the benchmark."; exit 1; fi; }
	$(PY) -m bench.scale_out

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
