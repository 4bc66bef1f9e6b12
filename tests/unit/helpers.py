"""Helpers shared by unit tests of several packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from shipper.record import Record
from shipper.stages import Stage

ROOT = Path(__file__).resolve().parents[2]
#: the shared corpus beside the project (never copied into the repo); absent on a bare clone
PUBLIC_CORPUS = ROOT.parent / "shared" / "corpus"
BENCH_GENERATOR = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
GOLDEN = ROOT / "tests" / "golden" / "parse"
#: whether ``../shared`` is here: without it the corpus tests run on the golden files alone
SHARED_HERE = PUBLIC_CORPUS.is_dir() and BENCH_GENERATOR.exists()


def enough_lines(with_shared: int, golden_only: int) -> int:
    """The fewest lines a corpus test must have read: ``with_shared`` beside the shared
    corpus, ``golden_only`` (the repo's golden files) on a clone without it."""
    return with_shared if SHARED_HERE else golden_only


def corpus_lines(tmp: Path, bench_lines: int = 3000) -> list[bytes]:
    """Every line of the public corpus's inputs, of the parser golden files, and the first
    ``bench_lines`` of a generated bench corpus (``app.log`` written into ``tmp``), as bytes:
    the lines the kernels are held to their references on. The shared parts are skipped
    where ``../shared`` is absent."""
    lines: list[bytes] = []
    for path in sorted(PUBLIC_CORPUS.glob("*/input/**/*.log")):
        lines += path.read_bytes().splitlines()
    for path in sorted(GOLDEN.glob("*.jsonl")):
        for case in path.read_text(encoding="utf-8").splitlines():
            lines += [line.encode("utf-8", "surrogateescape")
                      for line in orjson.loads(case)["lines"]]
    if BENCH_GENERATOR.exists():
        subprocess.run([sys.executable, str(BENCH_GENERATOR), str(bench_lines), str(tmp)],
                       check=True, capture_output=True, timeout=120)
        lines += (tmp / "app.log").read_bytes().splitlines()
    return lines


def run_stages(stages: list[Stage], record: Record) -> Record | None:
    """Apply stages in order, one record; stop at the first that drops it."""
    for stage in stages:
        out = stage(record)
        if out is None:
            return None
        record = out
    return record


def rec(fields: dict[str, Any], raw: str | None = None) -> Record:
    """A record of these fields with ``raw`` beside it (as ``FileParser`` makes them)."""
    record = Record(fields)
    record.raw = raw
    return record


def encode_outcome(twin: Any, records: list[Any]) -> Any:
    """What an ``ndjson_records`` twin gives for ``records`` (bytes and end offsets) or the
    exception it raises (type and text): compared between the compiled kernel and its twin."""
    try:
        data, ends = twin(records, str)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc), str(exc)
    return data, ends.tolist()
