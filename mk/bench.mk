# Benchmarks (bench/): `make bench` (1M lines, 3 runs, peers installed via apt-get when
# missing), `make bench-tiny` (2,000 lines, 1 run, shipper only), `make profile` (cProfile
# of `shipper run --once` over 200k lines). BENCH_* variables: see bench/settings.py.
.PHONY: bench bench-tiny bench-ir profile

BENCH_LINES ?= 1000000
BENCH_RUNS ?= 3

## The benchmark table against rsyslog and syslog-ng; JSON history in bench/results/.
## The package's byte-code is compiled first, as the image does at build time (Dockerfile):
## a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise measure the compiler at every
## start-up and ~1.5-2 MiB more idle memory than a pod has.
bench: $(STAMP)
	$(PY) -m compileall -q shipper
	BENCH_LINES=$(BENCH_LINES) BENCH_RUNS=$(BENCH_RUNS) $(PY) -m bench

## The harness end to end at a tiny size (proves it works; figures mean nothing).
bench-tiny: $(STAMP)
	BENCH_LINES=2000 BENCH_RUNS=1 BENCH_PEERS=0 BENCH_SHARED=0 BENCH_LATENCY_SECONDS=1 \
	  BENCH_FILES=1,10 BENCH_RESULTS_DIR=bench/.cache/results $(PY) -m bench

## Instructions per line and at start-up under cachegrind (needs valgrind): figures a busy
## machine does not move, for comparing commits (BENCH_SHIPPER_REF=<commit> for the other),
## and each HTTP sink's against stdout's (bench/sink_instructions.py).
bench-ir: $(STAMP)
	$(PY) -m compileall -q shipper
	BENCH_LINES=$${BENCH_LINES:-20000} BENCH_RUNS=1 BENCH_PEERS=0 BENCH_SHARED=$${BENCH_SHARED:-1} \
	  BENCH_SCENARIOS=instructions,sink_instructions $(PY) -m bench

## Where the CPU goes: top functions by cumulative and own time, .prof under bench/.cache,
## plus a py-spy flame graph (bench/.cache/profile/shipper.svg) when py-spy installs.
profile: $(STAMP)
	@$(PY) -m pip install -q py-spy || echo "py-spy unavailable: cProfile only"
	BENCH_PYSPY=1 $(PY) -m bench.profile
