# Fault suite targets (included by the top Makefile). SHIPPER_FAULT_SCALE scales sizes:
# 0.02 (default) is the CI size, 1 the issue's full sizes (long: minutes per test).
FAULT_SCALE ?= 0.02

.PHONY: reliability-full reliability-figures

## The fault suite with every run's figures printed (written/delivered/duplicated/RSS).
reliability-figures: $(STAMP)
	SHIPPER_FAULT_SCALE=$(FAULT_SCALE) $(PY) -m pytest -q -s -rxXs tests/reliability

## The fault suite at the issue's full sizes.
reliability-full: $(STAMP)
	SHIPPER_FAULT_SCALE=1 $(PY) -m pytest -q -s -rxXs tests/reliability
