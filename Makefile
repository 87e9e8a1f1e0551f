# One entry point for people and CI. `make run` and `make test` set everything up from a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
PYTEST_ARGS ?=
# Test processes (pytest-xdist): most e2e and fault tests wait on servers of their own, so one per
# core keeps both busy. A whole file goes to one process (its module fixtures start once).
PYTEST_WORKERS ?= auto
SCENARIO ?=
# Pinned installs (docs/client-package.md): CI, `make run` and the Dockerfile install these, never
# a fresh resolution. `make lock` rewrites them from pyproject.toml, keeping the pins it can;
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed versions.
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
LOCK_ARGS ?=
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet \
	--custom-compile-command 'make lock' $(LOCK_ARGS)

.PHONY: run test lint proto proto-check typecheck pytest bench migrate token clean venv lock \
	client-wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## Re-pin requirements.lock (runtime + dev) and requirements-runtime.lock (the image's subset,
## the same versions) after a pyproject.toml dependency change; commit both.
lock: $(BIN)/python
	test -x $(BIN)/uv || $(BIN)/pip install --quiet uv
	$(UV_COMPILE) --extra dev -o $(LOCK)
	$(UV_COMPILE) --constraint $(LOCK) -o $(RUNTIME_LOCK)

run: $(STAMP)
	$(BIN)/campaign-service serve

migrate: $(STAMP)
	$(BIN)/campaign-service migrate

token: $(STAMP)
	$(BIN)/campaign-service token --org $${ORG:-org-dev} --role $${ROLE:-admin}

## The client distribution, campaign-service-api (generated/ only), as a wheel in dist/.
CLIENT_DIST ?= dist
client-wheel: $(STAMP)
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir $(CLIENT_DIST) clients/python

## Regenerate generated/ from protos/ (commit the result).
proto: $(STAMP)
	$(BIN)/python scripts/gen_protos.py generated

## Fail when generated/ does not match protos/.
proto-check: $(STAMP)
	$(BIN)/python scripts/gen_protos.py --check generated

lint: $(STAMP) proto-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/buf lint
	$(BIN)/buf format --exit-code --diff
	$(MAKE) typecheck

typecheck: $(STAMP)
	MYPYPATH=generated $(BIN)/mypy --strict domain
	MYPYPATH=generated $(BIN)/mypy adapters server

pytest: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint pytest

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench $(SCENARIO)

clean:
	rm -rf $(VENV) .campaign .pytest_cache .mypy_cache .ruff_cache
