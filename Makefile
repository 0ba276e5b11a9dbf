# Taskhall — the two commands are `make run` and `make test`; everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint fmt package admin bench load clean venv

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## The local product: moto server + resources from infra/ + chalice local on :8000 + the pump. Ctrl-C stops all.
run: $(STAMP)
	$(BIN)/python -m devstack.run

## The whole suite, on moto, no network.
test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

fmt: $(STAMP)
	$(BIN)/python -m ruff format .
	$(BIN)/python -m ruff check --fix .

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis .local
