"""The benchmark run: corpora, throughput against the peers, scenarios, table and JSON."""

from __future__ import annotations

import os
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from bench import (busy, families, idle, instructions, kernels, latency, manyfiles,
                   sink_instructions, sinks)
from bench.corpora import Corpus, own_corpus, shared_corpus
from bench.errors import BenchError
from bench.procs import Command
from bench.report import (add_ratios, reference_rows, scenario_lines, summarise,
                          throughput_table, write_json)
from bench.settings import BenchSettings, from_env
from bench.systems import baseline_system, peer_systems, shipper_command, shipper_systems
from bench.throughput import fresh_workdir, run_throughput

Log = Callable[[str], None]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def corpora(settings: BenchSettings, log: Log) -> list[Corpus]:
    found = [own_corpus(settings, log)]
    if settings.shared_corpus and (shared := shared_corpus(settings, log)):
        found.append(shared)
    return found


def _guarded(name: str, action: Callable[[], object], log: Log) -> object:
    """Run one scenario; its failure becomes ``{"error": ...}`` instead of ending the run."""
    log(f"scenario {name} ...")
    try:
        return action()
    except BenchError as exc:
        log(f"  {name}: FAILED {exc}")
        return {"error": f"{name}: {exc}"}


def scenarios(settings: BenchSettings, found: list[Corpus], log: Log) -> dict[str, object]:
    """The shipper-only scenarios that were asked for (``BENCH_SCENARIOS``)."""
    own = found[0]
    actions: dict[str, Callable[[], object]] = {
        "kernels": lambda: kernels.run_kernels(found[-1]),
        "latency": lambda: latency.run_latency(settings, *_follow(settings, "latency")),
        "idle": lambda: idle.idle_rss(*_follow(settings, "idle"),
                                      cpu_window=settings.idle_seconds),
        "files": lambda: manyfiles.run_many_files(settings, own, log),
        "busy": lambda: _busy(settings),
        "sinks": lambda: sinks.run_sinks(settings, own, log),
        "families": lambda: families.run_families(min(settings.lines, 20_000)),
        "instructions": lambda: instructions.run_instructions(settings, found[-1], log),
        "sink_instructions": lambda: sink_instructions.run_sink_instructions(settings, own,
                                                                             log),
    }
    return {name: _guarded(name, action, log) for name, action in actions.items()
            if name in settings.scenarios}


def _follow(settings: BenchSettings, name: str) -> tuple[Command, Path]:
    work = fresh_workdir(settings, name)
    return shipper_command(settings, work / "app.log", work, once=False), work / "stderr.log"


def _busy(settings: BenchSettings) -> list[dict[str, object]]:
    work = fresh_workdir(settings, "busy")
    return busy.run_busy(settings, shipper_command(settings, work / "app.log", work,
                                                   once=False), work)


def run(settings: BenchSettings, log: Log = _log) -> dict:
    """The whole benchmark; returns the result that is printed and saved."""
    notes: list[str] = []
    found = corpora(settings, log)
    systems = shipper_systems(settings) + [baseline_system()]
    if not settings.has_shipper:
        notes.append("skipped shipper rows: no shipper CLI (install it or set BENCH_SHIPPER)")
    if settings.peers:
        systems += peer_systems(settings, notes)
    result: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "kernel": platform.release()},
                    "settings": settings.model_dump(mode="json"), "notes": notes}
    if "throughput" in settings.scenarios:
        log(f"throughput: {len(systems)} systems x {len(found)} corpora x {settings.runs} runs")
        rows = [summarise(s) for s in run_throughput(settings, found, systems, log)]
        add_ratios(rows)
        result["throughput"] = rows
        notes.extend(f"lines out mismatch: {r['corpus']} {r['system']} gave "
                     f"{r['lines_out_all']} for {r['expected_out']:,} expected"
                     for r in rows if r.get("lines_match") is False)
    result["reference"] = reference_rows()
    if settings.has_shipper:
        result |= scenarios(settings, found, log)
    return result


def render(result: dict) -> str:
    lines = throughput_table(result.get("throughput", []), result.get("reference", []))
    return "\n".join(lines + [""] + scenario_lines(result))


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)  # unwinds through the cleanup of running systems
    settings = from_env()
    result = run(settings)
    print(render(result), flush=True)
    stamp = result["started"].replace(":", "").replace("-", "")
    path = write_json(result, settings.results, stamp)
    _log(f"results written to {path}")
    return 0
