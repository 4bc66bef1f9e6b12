"""Parse cost per layout family: µs per line through ``FileParser`` against the JSON path.

The lines are the golden cases (``tests/golden/parse/*.jsonl``) that one format recognises
without repairs, cycled to ``lines`` lines per format (a multi-line case stays whole), fed
in 4,096-line batches like the tailer does. In-process, CPU time, best of ``repeats``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import orjson

from bench.settings import REPO
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings

GOLDEN = REPO / "tests" / "golden" / "parse"
_BATCH = 4096


def _case_format(lines: list[str]) -> str | None:
    """The one format that recognises every line of the case, without repairs."""
    counts = ParseCounts()
    parser = FileParser("/bench/app.log", ParseSettings(), counts, clock=lambda: 1.767e9)
    parser.feed(_numbered(lines))
    parser.flush(force=True)
    if counts.errors or len(counts.formats) != 1:
        return None
    return next(iter(counts.formats))


def _numbered(lines: list[str]) -> list[tuple[int, bytes]]:
    out, offset = [], 0
    for line in lines:
        raw = line.encode()
        out.append((offset, raw))
        offset += len(raw) + 1
    return out


def golden_lines(golden: Path = GOLDEN) -> dict[str, list[str]]:
    """Lines per format, from every golden case a single format recognises."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(golden.glob("*.jsonl")):
        for text in path.read_text(encoding="utf-8").splitlines():
            case = orjson.loads(text)
            if case.get("runtime", "auto") != "auto":
                continue
            fmt = _case_format(case["lines"])
            if fmt is not None:
                found[fmt].extend(case["lines"])
    return dict(found)


def cost_per_line(lines: list[str], total: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` CPU µs per physical line over ``total`` cycled lines."""
    cycled = (lines * (total // len(lines) + 1))[:total]
    batches = [_numbered(cycled[i:i + _BATCH]) for i in range(0, total, _BATCH)]
    best = float("inf")
    for _ in range(repeats):
        parser = FileParser("/bench/app.log", ParseSettings(), ParseCounts(),
                            clock=lambda: 1.767e9)
        start = time.process_time()
        for batch in batches:
            parser.feed(batch)
        parser.flush(force=True)
        best = min(best, time.process_time() - start)
    return best * 1e6 / total


def run_families(total: int = 20_000) -> list[dict[str, object]]:
    """One row per format: µs/line and the ratio to the JSON path (the issue's bound: 2×)."""
    per_format = golden_lines()
    costs = {fmt: cost_per_line(lines, total) for fmt, lines in sorted(per_format.items())}
    json_cost = costs.get("json")
    return [{"format": fmt, "golden_lines": len(per_format[fmt]), "us_per_line": cost,
             "ratio_vs_json": cost / json_cost if json_cost else None}
            for fmt, cost in costs.items()]
