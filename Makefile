# One command runs the main job on built-in defaults (`make demo`), one runs the tests (`make test`).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast reliability bench profile lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $$(scripts/find-python.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

## Ship the example logs under examples/ once, printing enriched NDJSON on stdout.
demo: $(STAMP)
	$(VENV)/bin/shipper run --once --path 'examples/logs/**/*.log' \
	  --podinfo-dir examples/podinfo --path-template '{job_id}/{stage}/stage.log' \
	  --env-file examples/pod.env

## The whole test suite (unit, integration, reliability at CI size).
test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m 'not integration and not reliability'

reliability: $(STAMP)
	$(PY) -m pytest -q tests/reliability

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
