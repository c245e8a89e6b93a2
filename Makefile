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
	@# The worker in the background, gunicorn in front. Ctrl-C reaches both (one process group); on
	@# any exit the worker is stopped and waited for, so nothing outlives `make run` (Ctrl-C is a
	@# normal stop: status 0). A development
	@# machine often runs as root: Celery's warning about it (run production workers as their own
	@# user) is left out here, where it would greet every start.
	@PYTHONWARNINGS="ignore:You're running the worker with superuser privileges" \
	$(VENV)/bin/celery -A registry_site worker --beat --pool=solo --loglevel=INFO \
	    --schedule="$${WHARF_DATA_DIR:-data}/celerybeat-schedule" & \
	worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 0' INT; trap 'exit 143' TERM; \
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
