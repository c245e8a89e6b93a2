# Wharf: `make run` starts the registry and its worker; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint typecheck pytest migrate bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

migrate: $(RUN_STAMP)
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0

run: migrate
	@echo "Wharf on http://$${WHARF_LISTEN:-127.0.0.1:8000} (data in $${WHARF_DATA_DIR:-./data})"
	$(VENV)/bin/celery -A registry_site worker --beat --pool=solo --loglevel=INFO \
	    --schedule="$${WHARF_DATA_DIR:-data}/celerybeat-schedule" & \
	trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy .

pytest: $(DEV_STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(DEV_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
