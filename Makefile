# One command runs the main job on built-in defaults (`make demo`), one runs the tests (`make test`).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: venv demo test test-fast lint reliability bench bench-tiny profile clean

# setup.py, the .pyx and its .pxi files: an edit rebuilds the compiled kernels (shipper/kernels)
$(STAMP): pyproject.toml setup.py shipper/kernels/_compiled.pyx $(wildcard shipper/kernels/*.pxi)
	@test -x $(PY) || $$(scripts/find-python.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP) $(RUN_STAMP)

venv: $(STAMP)

# `make demo` needs only the runtime dependencies; its chatter goes to stderr so stdout
# holds nothing but records.
$(RUN_STAMP): pyproject.toml setup.py shipper/kernels/_compiled.pyx $(wildcard shipper/kernels/*.pxi)
	@test -x $(PY) || $$(scripts/find-python.sh) -m venv $(VENV) >&2
	@$(PY) -m pip install -q --upgrade pip >&2
	@$(PY) -m pip install -q -e . >&2
	@touch $(RUN_STAMP)

## Ship the example logs under examples/ once, printing enriched NDJSON on stdout.
DEMO_ENV := POD_NAME=demo-worker-7d9f8 POD_NAMESPACE=demo POD_UID=0b7c3c1e-0000-4000-8000-000000000001 \
  NODE_NAME=kind-worker POD_IP=10.244.0.10 CONTAINER_NAME=app JOB_COMPLETION_INDEX=0
demo: $(RUN_STAMP)
	@env $(DEMO_ENV) $(VENV)/bin/shipper run --once --path 'examples/logs/**/*.log' \
	  --podinfo-dir examples/podinfo --path-template '{job_id}/{stage}/stage.log'

## The whole test suite (unit, integration, reliability at CI size), then the parse and
## sources unit tests again on the pure-Python kernels (SHIPPER_PURE=1; the timestamp-rule
## tests call no kernel and are not repeated).
PURE_TESTS := tests/unit/parse tests/unit/sources --ignore=tests/unit/parse/test_timestamp_validity.py
test: $(STAMP)
	$(PY) -m pytest -q
	SHIPPER_PURE=1 $(PY) -m pytest -q $(PURE_TESTS)

## ruff (pyproject [tool.ruff]) and mypy --strict with the pydantic plugin ([tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check shipper
	$(VENV)/bin/mypy

test-fast: $(STAMP)
	$(PY) -m pytest -q -m 'not integration and not reliability'

reliability: $(STAMP)
	$(PY) -m pytest -q tests/reliability

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
-include mk/*.mk
