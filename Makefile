# Taskhall — the two commands are `make run` and `make test`; everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint fmt package admin bench load clean venv routes

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

## Benchmarks (not part of `make test`): 10,000 published tasks and 1,000 workers on a local moto server, every hot
## route's DynamoDB operations, read amplification and latency against a bare GetItem, `import app` against
## `import boto3`, and the contention races at full size. Ends with one `BENCH ...` line. See docs/capacity.md.
bench: $(STAMP)
	$(BIN)/python -m tests.bench.bench

## Load (not in CI): locust, headless and bounded (LOAD_USERS=50 LOAD_RATE=10 LOAD_TIME=60s), against a local stack
## it starts and seeds on loopback. locust lives in its own venv (.venv-load, requirements-load.txt).
LOAD_VENV := .venv-load
$(LOAD_VENV)/.installed: requirements-load.txt
	@test -x $(LOAD_VENV)/bin/python || $(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install --quiet -r requirements-load.txt
	@touch $@

load: $(STAMP) $(LOAD_VENV)/.installed
	LOCUST=$(LOAD_VENV)/bin/locust $(BIN)/python -m tests.load.run

## Deployable template for a stage (STAGE=dev|prod): build/$(STAGE)/sam.json + deployment.zip, then cfn-lint.
## Needs the network (chalice fetches Lambda wheels); deploy with `sam deploy` or `aws cloudformation deploy`.
package: $(STAMP)
	$(BIN)/python -m infra.policy --check
	@mkdir -p build
	$(BIN)/python -m infra.template $(STAGE) > build/merge-$(STAGE).json
	rm -rf build/$(STAGE)
	set -o pipefail; AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-cn-north-1} $(BIN)/chalice package --stage $(STAGE) \
		--merge-template build/merge-$(STAGE).json build/$(STAGE) 2>&1 | tee build/package-$(STAGE).log
	@# chalice only warns when a dependency has no wheel for the Lambda runtime and ships the package without it.
	@! grep -A8 "Could not install dependencies" build/package-$(STAGE).log
	$(BIN)/cfn-lint --regions $${AWS_DEFAULT_REGION:-cn-north-1} -- build/$(STAGE)/sam.json
	@echo "build/$(STAGE)/sam.json: cfn-lint clean"

## Regenerate chalicelib/handlers/route_table.py (what app.py mounts) after adding, moving or removing a route.
routes: $(STAMP)
	$(BIN)/python -m scripts.route_table

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

fmt: $(STAMP)
	$(BIN)/python -m ruff format .
	$(BIN)/python -m ruff check --fix .

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis .local

## Desk staff, created only from here: make admin PHONE=13800000000 PASSWORD=… [ROLE=admin|reviewer|finance]
## Targets the stage the environment points at; with nothing set, the running local stack (`make run`).
admin: $(STAMP)
	@PHONE="$(PHONE)" PASSWORD="$(PASSWORD)" ROLE="$(ROLE)" $(BIN)/python -m devstack.admin
