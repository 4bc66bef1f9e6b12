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
    total = min(corpus.manifest.lines, MAX_LINES)
    rows = []
    for files in settings.files:
        outdir = settings.cache / "files" / f"{corpus.name}-{total}-{files}"
        expected = split_corpus(corpus, files, total, outdir)
        rows.append(_measure_files(settings, outdir.resolve(), files, total, expected, log))
    return rows


def _measure_files(settings: BenchSettings, outdir: Path, files: int, total: int,
                   expected: int, log) -> dict:
    row: dict = {"files": files, "lines": total, "expected_out": expected}
    cpus, outs, rss = [], [], []
    for _ in range(settings.runs):
        work = fresh_workdir(settings, f"files-{files}")
        cmd = shipper_command(settings, outdir / "*.log", work, once=True)
        try:
            m = run_to_exit(cmd, work / "stderr.log", settings.timeout)
        except BenchError as exc:
            log(f"  files {files:5}: FAILED {exc}")
            return row | {"error": str(exc)}
        cpus.append(m.cpu)
        outs.append(m.lines_out)
        rss.append(m.max_rss_kib / 1024)
    row |= {"cpu_s_per_1m": statistics.median(cpus) * 1e6 / total,
            "peak_rss_mib": statistics.median(rss), "lines_out": int(statistics.median(outs))}
    log(f"  files {files:5}: {row['cpu_s_per_1m']:.2f} cpu-s per 1M, "
        f"{row['lines_out']:,}/{expected:,} lines out")
    return row
