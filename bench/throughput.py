"""The main comparison: every system over the same corpus, alternating, several runs each."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpora import Corpus
from bench.errors import BenchError
from bench.procs import Measurement, run_daemon, run_to_exit, warm
from bench.settings import BenchSettings
from bench.systems import System


@dataclass
class Series:
    """All runs of one system on one corpus (``error`` ends the series early)."""

    system: System
    corpus: Corpus
    runs: list[Measurement] = field(default_factory=list)
    error: str | None = None


def fresh_workdir(settings: BenchSettings, name: str) -> Path:
    work = (settings.cache / "runs" / name).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def measure(settings: BenchSettings, system: System, corpus: Corpus) -> Measurement:
    """One run in a fresh directory holding a hard link to the (warmed) corpus file."""
    work = fresh_workdir(settings, system.key)
    source = work / system.input
    os.link(corpus.file(system.input), source)
    warm(source)
    cmd = system.build(source, work)
    try:
        if system.daemon:
            return run_daemon(cmd, work / "stderr.log", corpus.manifest.expected_out,
                              timeout=settings.timeout)
        return run_to_exit(cmd, work / "stderr.log", settings.timeout)
    finally:
        cmd.output.unlink(missing_ok=True)


def run_throughput(settings: BenchSettings, corpora: list[Corpus], systems: list[System],
                   log=print) -> list[Series]:
    """Runs round-robin (run 1 of every system, then run 2, ...), rotating the order."""
    series = [Series(s, c) for c in corpora for s in systems]
    for run in range(settings.runs):
        for corpus in corpora:
            batch = [s for s in series if s.corpus is corpus and s.error is None]
            shift = run % len(batch) if batch else 0
            for item in batch[shift:] + batch[:shift]:
                _one(settings, item, run, log)
    return series


def _one(settings: BenchSettings, item: Series, run: int, log) -> None:
    try:
        m = measure(settings, item.system, item.corpus)
    except BenchError as exc:
        item.error = str(exc)
        log(f"  {item.corpus.name:6} {item.system.key:18} run {run + 1}: FAILED {exc}")
        return
    item.runs.append(m)
    log(f"  {item.corpus.name:6} {item.system.key:18} run {run + 1}: {m.cpu:6.2f} cpu-s "
        f"{m.wall:6.2f} s {m.max_rss_kib / 1024:6.1f} MiB {m.lines_out:,} lines out")
