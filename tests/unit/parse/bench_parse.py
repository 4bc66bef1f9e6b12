"""Micro-benchmark of FileParser: prints microseconds per line (not a pytest test).

Usage: .venv/bin/python tests/unit/parse/bench_parse.py [N] [path-to-gen_corpus.py]
Generates N lines with the shared benchmark generator (plain and CRI-wrapped) in a
temporary directory and times ``FileParser.feed`` over them in 4096-line batches.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings

GEN = Path(__file__).resolve().parents[3] / ".." / "shared" / "bench" / "gen_corpus.py"


def _batches(path: Path, size: int = 4096) -> list[list[tuple[int, bytes]]]:
    batches, batch, offset = [], [], 0
    for raw in path.read_bytes().split(b"\n")[:-1]:
        batch.append((offset, raw))
        offset += len(raw) + 1
        if len(batch) == size:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


def bare_loop(path: Path) -> float:
    """µs/line of the bare baseline: orjson for JSON lines, decode for the rest."""
    batches = _batches(path)
    start = time.process_time()
    for batch in batches:
        for _offset, raw in batch:
            if raw[:1] == b"{":
                orjson.loads(raw)
            else:
                raw.decode()
    return (time.process_time() - start) / sum(len(b) for b in batches) * 1e6


def bench(path: Path) -> tuple[float, int, ParseCounts]:
    batches = _batches(path)
    counts = ParseCounts()
    parser = FileParser(str(path), ParseSettings(), counts)
    records = 0
    start = time.process_time()
    for batch in batches:
        records += len(parser.feed(batch))
    records += len(parser.flush(force=True))
    elapsed = time.process_time() - start
    lines = sum(len(b) for b in batches)
    return elapsed / lines * 1e6, records, counts


def main() -> None:
    count = sys.argv[1] if len(sys.argv) > 1 else "100000"
    generator = Path(sys.argv[2]) if len(sys.argv) > 2 else GEN
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(generator), count, tmp], check=True,
                       stdout=subprocess.DEVNULL)
        bare = bare_loop(Path(tmp) / "app.log")
        for name in ("app.log", "app.cri.log"):
            micros, records, counts = bench(Path(tmp) / name)
            print(f"{name}: {micros:.2f} us/line CPU ({micros / bare:.1f}x a bare orjson loop "
                  f"at {bare:.2f} us/line), {records} records, "
                  f"formats={dict(counts.formats)} errors={dict(counts.errors)}")


if __name__ == "__main__":
    main()
