# The two commands of the README, plus the browser tests. Works on a fresh machine with
# Python 3.11 and make: the virtualenv is created and filled on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DEV_ENV := APP_ENV=development DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test coverage e2e lint typecheck install bench

# pytest keeps each test module's rewritten asserts as bytecode. Where the environment forbids
# bytecode (PYTHONDONTWRITEBYTECODE=1) every xdist worker rewrites all the test modules on every
# run (5 of its 8 s of collection), so the test commands allow it, with the caches under .venv
# rather than beside the sources.
PYTEST := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(PY) -m pytest

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py setup_schedules
	$(DEV_ENV) $(PY) manage.py demo_data
	$(DEV_ENV) $(PY) manage.py ensure_owner --print-login
	@# The task worker runs beside the web server and stops with it (Ctrl+C).
	trap 'kill 0' INT TERM EXIT; \
	$(DEV_ENV) $(PY) manage.py qcluster & \
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# The test database is migrated once into a template and copied per worker (tests/db_template.py);
# the template is kept between runs until a migration changes (--create-db rebuilds it).
test: install
	$(PYTEST) tests --ignore=tests/e2e -n auto

# The same suite measuring coverage of core/ (at least 85 %): CI runs it on PostgreSQL. The tracer
# makes every test about half as slow again, so the everyday command leaves it out.
coverage: install
	$(PYTEST) tests --ignore=tests/e2e -n auto --cov=core --cov-report=term-missing:skip-covered --cov-fail-under=85

e2e: install
	$(PYTEST) tests/e2e

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# mypy with django-stubs on core/ (configuration and the list of modules not yet clean: pyproject.toml).
typecheck: install
	APP_ENV=test $(PY) -m mypy

# Every admin page on a big center with a year of history (PostgreSQL: DATABASE_URL names the
# server; the center is built once in its own database). bench/README.md gets the results table.
bench: install
	$(PY) bench/pages.py --readme
