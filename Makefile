# Siaga. Both `run` and `test` provision first (scripts/bootstrap.sh is idempotent
# and takes a few seconds when everything is already there).
SHELL := /bin/bash
VENV := .venv
PYTEST_ARGS ?=

.PHONY: bootstrap run test

bootstrap:
	@bash scripts/bootstrap.sh

run: bootstrap
	$(VENV)/bin/siaga run --profile demo

# pytest's own exit code decides: 5 ("no tests collected") fails too.
test: bootstrap
	$(VENV)/bin/pytest -q --durations=15 $(PYTEST_ARGS)
