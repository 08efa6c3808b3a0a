# NASOVCF Clinic. Needs only Python 3.11+ and make: everything else installs into .venv.
#   make run    install, migrate, create the first admin, serve at http://127.0.0.1:8000, with the
#               background worker (manage.py db_worker: the cohort import) beside gunicorn
#   make test   install, check migrations, run the whole test suite
#   make lint   install, then ruff (lint and format check) and mypy --strict on the pure core
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# XStatic-Bootstrap builds from an sdist that needs setuptools < 81 (see build-constraints.txt).
export PIP_CONSTRAINT := $(CURDIR)/build-constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# make test runs the suite in two halves (tests/parts.py): everything but the browser and server
# tests under xdist, then those one at a time. PYTEST_ARGS narrows both halves, and a half it
# leaves empty is not an error (pytest's exit 5); with no PYTEST_ARGS (as in CI) it is.
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
NONE_SELECTED_OK = $(if $(strip $(PYTEST_ARGS)),|| [ $$? -eq 5 ])

.PHONY: run test lint bench install migrate clean

$(VENV)/.installed: requirements.txt build-constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

# The background worker (manage.py db_worker) runs the tasks the app queues in its database; it
# stops when gunicorn does: on Ctrl-C at once (a task it was running is marked failed), on a TERM
# to make or gunicorn exiting by itself after finishing the task it is running. gunicorn runs in
# the background and the shell waits on it, so the trap runs at once (a shell defers a trap until
# a foreground command ends). Every queue; --no-reload, as the worker's default follows DEBUG.
run: migrate
	$(PY) manage.py ensure_admin
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "NASOVCF Clinic at http://127.0.0.1:8000 with its background worker (Ctrl-C stops both)"
	trap 'kill -TERM $$web 2>/dev/null' INT TERM; \
	$(PY) manage.py db_worker --no-reload --queue-name='*' & worker=$$!; \
	$(VENV)/bin/gunicorn --config gunicorn.conf.py nasovcf_site.wsgi:application & web=$$!; \
	wait $$web; status=$$?; wait $$web; kill -TERM $$worker 2>/dev/null; wait $$worker; exit $$status

test: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -p tests.parts --part parallel -n $(PYTEST_WORKERS) $(PYTEST_ARGS) $(NONE_SELECTED_OK)
	$(PY) -m pytest -p tests.parts --part serial $(PYTEST_ARGS) -n 0 $(NONE_SELECTED_OK)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) staticfiles

# The benchmark: pages at 1,000, 10,000 and 50,000 demo patients (bench/report.md), the import
# of 50,000 fractures with three visits each (bench/import.md), and a 3000 x 3000 16-bit film's
# upload and opening for measuring (bench/films.md), and every page in English and in Chinese
# (bench/languages.md).
bench: install
	$(PY) manage.py bench
	$(PY) manage.py bench_import
	$(PY) manage.py bench_films
	$(PY) manage.py bench_languages
