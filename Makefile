# NASOVCF Clinic. Needs only Python 3.11+ and make: everything else installs into .venv.
#   make run    install, migrate, create the first admin, serve at http://127.0.0.1:8000
#   make test   install, check migrations, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# XStatic-Bootstrap builds from an sdist that needs setuptools < 81 (see build-constraints.txt).
export PIP_CONSTRAINT := $(CURDIR)/build-constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench install migrate clean

$(VENV)/.installed: requirements.txt build-constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py ensure_admin
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "NASOVCF Clinic at http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(VENV)/bin/gunicorn --config gunicorn.conf.py nasovcf_site.wsgi:application

test: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/static

# The benchmark: pages at 1,000, 10,000 and 50,000 demo patients; writes bench/report.md.
bench: install
	$(PY) manage.py bench
