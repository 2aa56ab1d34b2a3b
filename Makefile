# Vitrine — developer commands. `make help` lists them.

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
RUFF := $(VENV)/bin/ruff
MYPY := $(VENV)/bin/mypy
LINT_IMPORTS := $(VENV)/bin/lint-imports --no-logo
PYTEST := $(VENV)/bin/pytest
MANAGE := $(PYTHON) manage.py
# Settings used by `make test` for `check` and `makemigrations --check` (pytest reads pyproject).
TEST_SETTINGS := marketplace.settings.test
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist; each worker has its own test database, browser and
# localstripe); tests sharing one outside resource name it with `xdist_group`. PYTEST_WORKERS=0:
# one process, as when debugging.
PYTEST_WORKERS ?= auto
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadgroup

# `make run`: the dev site talks to a local fake Stripe (localstripe) with dummy test keys.
LOCALSTRIPE_PORT ?= 8420
LOCALSTRIPE_ARGS ?=  # e.g. --fresh to discard the saved localstripe state
RUN_ADDR ?= 127.0.0.1:8000
LOCAL_WEBHOOK_SECRET := whsec_vitrine_local
STRIPE_ENV := STRIPE_API_BASE=http://127.0.0.1:$(LOCALSTRIPE_PORT) \
	STRIPE_SECRET_KEY=sk_test_vitrine_local \
	STRIPE_PUBLISHABLE_KEY=pk_test_vitrine_local \
	STRIPE_WEBHOOK_SECRET=$(LOCAL_WEBHOOK_SECRET)

.DEFAULT_GOAL := help
.PHONY: help venv run demo test lint format bench bench-load bench-profile clean backup-check

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-13s %s\n", $$1, $$2}'

$(PYTHON):
	python3 -m venv $(VENV)

# Re-install only when a requirements file is newer than the stamp.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PYTHON)
	$(PIP) install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create .venv and install requirements-dev.txt (when changed)

run: venv ## Migrate, load demo data, start localstripe and the dev server on 127.0.0.1:8000
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	@$(PYTHON) scripts/localstripe_server.py --port $(LOCALSTRIPE_PORT) $(LOCALSTRIPE_ARGS) \
		--webhook-url http://$(RUN_ADDR)/stripe/webhook/ \
		--webhook-secret $(LOCAL_WEBHOOK_SECRET) & ls_pid=$$!; \
	trap 'kill $$ls_pid 2>/dev/null; wait $$ls_pid 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(STRIPE_ENV) $(MANAGE) runserver $(RUN_ADDR)

demo: venv ## Migrate and load the demo data (shops, designers, items, logins)
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo

test: venv ## Lint, Django checks, migration check, mypy, import layers, then pytest (all must pass)
	$(RUFF) check .
	$(RUFF) format --check .
	DJANGO_SETTINGS_MODULE=$(TEST_SETTINGS) $(MANAGE) check
	DJANGO_SETTINGS_MODULE=$(TEST_SETTINGS) $(MANAGE) makemigrations --check --dry-run
	$(MYPY)
	$(LINT_IMPORTS)
	@DJANGO_SETTINGS_MODULE=$(TEST_SETTINGS) $(PYTEST) $(PYTEST_XDIST) $(PYTEST_ARGS) || { rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing" >&2; fi; \
		exit $$rc; }

lint: venv ## ruff check + ruff format --check + mypy + lint-imports + pip-audit (advisories, report only)
	$(RUFF) check .
	$(RUFF) format --check .
	$(MYPY)
	$(LINT_IMPORTS)
	@echo "lint: pip-audit of the installed dependencies (report only; PIP_AUDIT_STRICT=1 fails on advisories)"
	@$(VENV)/bin/pip-audit --progress-spinner off --desc; rc=$$?; \
	if [ $$rc -ne 0 ]; then \
		echo "lint: pip-audit exit $$rc: advisories listed above, or the advisory service is unreachable" >&2; \
		if [ "$(PIP_AUDIT_STRICT)" = "1" ]; then exit $$rc; fi; \
	fi

format: venv ## Format with ruff and apply ruff's safe fixes
	$(RUFF) format .
	$(RUFF) check --fix .

bench: venv ## CPU per page as a ratio to a bare Django app (bench/run.py; BENCH_* env, README)
	$(PYTHON) bench/run.py

bench-load: venv ## A busy site for 2 minutes: shoppers, publishes and sales (bench/load.py)
	$(PYTHON) bench/load.py

bench-profile: venv ## CPU and calls per page in-process, with BENCH_PROFILE_TOP=N the costliest functions
	$(PYTHON) bench/profile_pages.py

backup-check: venv ## Dump DATABASE_URL (PostgreSQL), restore to a scratch db, migrate --check, smoke
	bash scripts/backup_check.sh

clean: ## Remove caches, screenshots and collected static files (keeps .venv and db.sqlite3)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .import_linter_cache e2e/screenshots staticfiles
