# Siaga. Both `run` and `test` provision first (scripts/bootstrap.sh is idempotent
# and takes a few seconds when everything is already there).
SHELL := /bin/bash
VENV := .venv
PYTEST_ARGS ?=

.PHONY: bootstrap run test lint lock

bootstrap:
	@bash scripts/bootstrap.sh

# The ports first: a second `make run` stops at once, naming what holds them, before bootstrap.
run:
	@python3 app/portcheck.py
	@bash scripts/bootstrap.sh
	$(VENV)/bin/siaga run --profile demo

# Lint, format and type check first (seconds), then pytest; pytest's own exit code decides:
# 5 ("no tests collected") fails too.
test: bootstrap lint
	$(VENV)/bin/pytest -q --durations=15 $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Pins every dependency (with hashes) from pyproject.toml; bootstrap installs from the lock.
lock:
	$(VENV)/bin/uv pip compile pyproject.toml --extra sip --extra test --python-version 3.11 \
		--generate-hashes -o requirements.lock
