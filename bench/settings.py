"""Harness settings (from ``BENCH_*`` env) and the pod facts every system adds."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from pydantic import Field

from shipper.units import Model

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
#: the same values as the peer configs (downward-API env for the shipper)
POD_FACTS = {"POD_NAME": "log-shipper-bench-7d9f8c6b5-x2k4q", "POD_NAMESPACE": "batch-jobs",
             "NODE_NAME": "node-a-01"}
SHARED_GENERATOR = REPO.parent / "shared" / "bench" / "gen_corpus.py"
SHARED_README = REPO.parent / "shared" / "bench" / "README.md"


class BenchSettings(Model):
    """Everything a benchmark run may change; see ``from_env`` for the variables."""

    lines: int = Field(1_000_000, ge=100)
    runs: int = Field(3, ge=1)
    cache: Path = BENCH_DIR / ".cache"
    results: Path = BENCH_DIR / "results"
    shipper: list[str] = []
    shipper_args: list[str] = []
    shipper_ref: str | None = None
    peers: bool = True
    shared_corpus: bool = True
    scenarios: frozenset[str] = frozenset({"throughput", "latency", "files", "idle", "sinks",
                                      "families", "kernels", "busy"})
    latency_rate: int = Field(10_000, ge=1)
    latency_seconds: float = Field(10.0, gt=0)
    #: the quiet window idle CPU and wake-ups are measured over (``bench/idle.py``)
    idle_seconds: float = Field(30.0, ge=0)
    files: tuple[int, ...] = (1, 10, 100, 1000)
    #: the fewest rounds (stdout + sink pairs) of each sink in the ``sinks`` scenario
    #: (``bench/sinks.py``: five, for a median the runs' spread cannot move much)
    sink_rounds: int = Field(5, ge=1)
    timeout: float = Field(900.0, gt=0)

    @property
    def has_shipper(self) -> bool:
        return bool(self.shipper)


def default_shipper() -> list[str]:
    """The installed CLI next to this interpreter, if it is there."""
    exe = Path(sys.prefix) / "bin" / "shipper"
    return [str(exe)] if exe.exists() else []


def from_env(env: dict[str, str] | None = None) -> BenchSettings:
    """``BENCH_LINES``, ``BENCH_RUNS``, ``BENCH_CACHE``, ``BENCH_RESULTS_DIR``,
    ``BENCH_SHIPPER`` (command line; default the installed ``shipper``; ``none``: skip it),
    ``BENCH_SHIPPER_ARGS``, ``BENCH_SHIPPER_REF`` (a git commit: benchmark the shipper package
    as committed there, see :mod:`bench.snapshot`), ``BENCH_PEERS`` (0/1), ``BENCH_SHARED`` (0/1),
    ``BENCH_SCENARIOS`` (comma list), ``BENCH_LATENCY_RATE``, ``BENCH_LATENCY_SECONDS``,
    ``BENCH_FILES`` (comma list of file counts), ``BENCH_TIMEOUT``, ``BENCH_IDLE_SECONDS``,
    ``BENCH_SINK_ROUNDS``."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    simple = {"BENCH_LINES": "lines", "BENCH_RUNS": "runs", "BENCH_CACHE": "cache",
              "BENCH_RESULTS_DIR": "results", "BENCH_PEERS": "peers",
              "BENCH_SHARED": "shared_corpus", "BENCH_LATENCY_RATE": "latency_rate",
              "BENCH_LATENCY_SECONDS": "latency_seconds", "BENCH_TIMEOUT": "timeout",
              "BENCH_IDLE_SECONDS": "idle_seconds", "BENCH_SINK_ROUNDS": "sink_rounds"}
    for var, key in simple.items():
        if env.get(var):
            values[key] = env[var].replace("_", "") if key == "lines" else env[var]
    if env.get("BENCH_SCENARIOS"):
        values["scenarios"] = frozenset(s.strip() for s in env["BENCH_SCENARIOS"].split(","))
    if env.get("BENCH_FILES"):
        values["files"] = tuple(int(n) for n in env["BENCH_FILES"].split(","))
    command = env.get("BENCH_SHIPPER", "")
    values["shipper"] = [] if command == "none" else shlex.split(command) or default_shipper()
    if env.get("BENCH_SHIPPER_REF"):
        from bench.snapshot import snapshot_command

        values["shipper"] = snapshot_command(env["BENCH_SHIPPER_REF"],
                                             Path(str(values.get("cache", BENCH_DIR / ".cache"))))
        values["shipper_ref"] = env["BENCH_SHIPPER_REF"]
    values["shipper_args"] = shlex.split(env.get("BENCH_SHIPPER_ARGS", ""))
    return BenchSettings.model_validate(values)
