"""Scale: CPU per line when the same lines are spread over 1, 10, 100, 1000 files."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.corpora import Corpus
from bench.corpus import NOISE
from bench.errors import BenchError
from bench.procs import run_to_exit
from bench.settings import BenchSettings
from bench.systems import shipper_command
from bench.throughput import fresh_workdir

MAX_LINES = 200_000
#: (files, whether the run has a state directory)
Layout = tuple[int, bool]


def split_corpus(corpus: Corpus, files: int, total: int, outdir: Path) -> int:
    """Write the first ``total`` lines of ``app.log`` into ``files`` files in ``outdir``
    (contiguous slices, cached); returns the lines that are not noise."""
    with open(corpus.file("app.log"), "rb") as fh:
        lines = [fh.readline() for _ in range(total)]
    expected = sum(1 for line in lines if not NOISE.search(line))
    if not (outdir / ".done").exists():
        outdir.mkdir(parents=True, exist_ok=True)
        per = -(-total // files)
        for i in range(files):
            (outdir / f"f{i:04d}.log").write_bytes(b"".join(lines[i * per:(i + 1) * per]))
        (outdir / ".done").write_text(str(expected))
    return expected


def run_many_files(settings: BenchSettings, corpus: Corpus, log=print) -> list[dict]:
    """Rounds alternate the file counts (1, 10, 100, 1000, then again), so a machine that
    slows down for a while weighs on every count alike; each count's CPU is the median of
    its runs, and its ratio to the fewest files the median of the rounds' own ratios.

    The fewest and the most files run again with a state directory (``--state-dir``, fresh
    each run: checkpoints saved, witnesses taken, each file placed against the store), as a
    pod runs; those rows say ``checkpoints: true`` and take their ratio to the fewest files
    with checkpoints."""
    total = min(corpus.manifest.lines, MAX_LINES)
    layouts: dict[Layout, tuple[Path, int]] = {}
    for files in settings.files:
        outdir = settings.cache / "files" / f"{corpus.name}-{total}-{files}"
        layouts[(files, False)] = (outdir.resolve(), split_corpus(corpus, files, total, outdir))
    if len(settings.files) > 1:
        for files in (min(settings.files), max(settings.files)):
            layouts[(files, True)] = layouts[(files, False)]
    runs: dict[Layout, list] = {layout: [] for layout in layouts}
    errors: dict[Layout, str] = {}
    for _ in range(settings.runs):
        for layout, (outdir, _expected) in layouts.items():
            if layout not in errors:
                _run_once(settings, outdir, layout, runs, errors, log)
    rows = [_row(layout, total, layouts[layout][1], runs[layout], errors.get(layout), log)
            for layout in layouts]
    return _with_ratios(rows, runs, min(settings.files))


def _run_once(settings: BenchSettings, outdir: Path, layout: Layout, runs: dict[Layout, list],
              errors: dict[Layout, str], log) -> None:
    files, checkpoints = layout
    work = fresh_workdir(settings, f"files-{files}" + ("-state" if checkpoints else ""))
    extra = ("--state-dir", str(work / "state")) if checkpoints else ()
    cmd = shipper_command(settings, outdir / "*.log", work, once=True, extra=extra)
    try:
        runs[layout].append(run_to_exit(cmd, work / "stderr.log", settings.timeout))
    except BenchError as exc:
        log(f"  files {_name(layout)}: FAILED {exc}")
        errors[layout] = str(exc)
        runs[layout].append(None)


def _name(layout: Layout) -> str:
    return f"{layout[0]:5}" + (" +state" if layout[1] else "")


def _row(layout: Layout, total: int, expected: int, runs: list, error: str | None,
         log) -> dict:
    row: dict = {"files": layout[0], "checkpoints": layout[1], "lines": total,
                 "expected_out": expected}
    done = [m for m in runs if m is not None]
    if error is not None or not done:
        return row | {"error": error or "no run"}
    row |= {"cpu_s_per_1m": statistics.median(m.cpu for m in done) * 1e6 / total,
            "peak_rss_mib": statistics.median(m.max_rss_kib / 1024 for m in done),
            "lines_out": int(statistics.median(m.lines_out for m in done)), "runs": len(done)}
    log(f"  files {_name(layout)}: {row['cpu_s_per_1m']:.2f} cpu-s per 1M, "
        f"{row['lines_out']:,}/{expected:,} lines out")
    return row


def _with_ratios(rows: list[dict], runs: dict[Layout, list], base: int) -> list[dict]:
    """Each count's CPU over the fewest files' CPU (with checkpoints too, or not) in the
    same round (median and spread)."""
    for row in rows:
        layout = (row["files"], row["checkpoints"])
        pairs = [(m.cpu, b.cpu) for m, b in zip(runs[layout], runs[(base, layout[1])],
                                                 strict=False)
                 if m is not None and b is not None]
        if "error" not in row and pairs and row["files"] != base:
            ratios = [cpu / base_cpu for cpu, base_cpu in pairs]
            row |= {"base_files": base, "ratio_vs_base": statistics.median(ratios),
                    "ratio_min": min(ratios), "ratio_max": max(ratios)}
    return rows
