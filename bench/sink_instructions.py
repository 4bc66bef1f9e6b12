"""Each HTTP sink's instructions against stdout's: the ``sinks`` row in a count a busy
machine does not move.

The ``sinks`` scenario divides CPU seconds, and on a shared 2-core box single runs move by
±5% a minute, so one run's five pairs spread by 0.2 around a target whose margin is a few
hundredths. Here each sink's ``shipper run --once`` runs under cachegrind (see
:mod:`bench.instructions`: the same command line, string hash seed 0) over the first
``lines`` lines of the own corpus and over an empty file, with the config file the
``sinks`` scenario gives it (:func:`bench.sinks.sink_command`) and the loopback receiver
(:mod:`bench.receiver`) for the HTTP sinks. A row has the sink's start-up, its whole run,
its instructions per line (``(run - empty) / lines``) and those two over stdout's. The
receiver's record count is kept: a sink whose receiver got other than the lines
stdout wrote is marked ``complete: false``.

Instructions are not time: a line's cache misses and memory traffic cost more than their
count says, and the Loki sink moves the most bytes a line (2026-12-05: 1.23x stdout in
instructions a line, ~1.3x in CPU seconds). Read the two side by side; neither replaces
the other. Opt-in (``BENCH_SCENARIOS=sink_instructions``, part of ``make bench-ir``);
needs ``valgrind``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.corpora import Corpus
from bench.instructions import MAX_LINES, count_command, head
from bench.report import sink_instruction_line
from bench.settings import BenchSettings
from bench.sinks import SINKS, Receiver, sink_command
from bench.throughput import fresh_workdir


def run_sink_instructions(settings: BenchSettings, corpus: Corpus, log=print,
                          sinks: tuple[str, ...] = tuple(SINKS)) -> list[dict] | dict:
    """Start-up, whole-run and per-line instructions of stdout and of each of ``sinks``."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed (apt-get install valgrind)"}
    work = fresh_workdir(settings, "sink-instructions")
    data, empty = work / "app.log", work / "empty.log"
    lines = head(corpus.file("app.log"), min(corpus.manifest.lines, MAX_LINES), data)
    empty.write_bytes(b"")
    counts = {sink: _counts(settings, sink, (empty, data), work)
              for sink in ("stdout", *sinks)}
    rows = sink_rows(counts, lines)
    for row in rows:
        log("  " + sink_instruction_line(row))
    return rows


def _counts(settings: BenchSettings, sink: str, paths: tuple[Path, Path],
            work: Path) -> tuple[int, int, int | None]:
    """(empty run, data run, records out of the data run: the lines stdout wrote, the
    records the receiver got) of one sink."""
    got: list[int] = []
    records = None
    for path in paths:
        run_dir = work / f"{sink}-{path.stem}"
        run_dir.mkdir()
        if sink == "stdout":
            out = run_dir / "out.ndjson"
            got.append(count_command(settings, sink_command(settings, sink, None, path, run_dir),
                                     out))
            records = out.read_bytes().count(b"\n")
            continue
        with Receiver() as receiver:
            got.append(count_command(settings, sink_command(settings, sink, receiver.port,
                                                            path, run_dir)))
        records = receiver.stats.get("records")
    return got[0], got[1], records


def sink_rows(counts: dict[str, tuple[int, int, int | None]], lines: int) -> list[dict]:
    """One row a sink from its (empty run, data run, records out) counts, ``lines`` lines
    in; stdout's row first, the others with their ratios to it and whether their receiver
    got every record stdout wrote."""
    empty, run, shipped = counts["stdout"]
    base = (run - empty) / lines
    rows = []
    for sink, (startup, total, records) in counts.items():
        per_line = (total - startup) / lines
        row: dict = {"sink": sink, "lines": lines, "startup_instructions": startup,
                     "run_instructions": total, "per_line": per_line, "records": records}
        if sink != "stdout":
            row |= {"per_line_vs_stdout": per_line / base, "run_vs_stdout": total / run,
                    "complete": records == shipped}
        rows.append(row)
    return rows
