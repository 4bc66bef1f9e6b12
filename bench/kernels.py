"""Per-kernel cost (``shipper.kernels``): µs per call, pure-Python twin vs compiled.

Inputs come from the corpus: the line splitter gets 64 KiB chunks of the file, the
timestamp prefix every text line, the trailing pairs the text messages that hold an ``=``
(and no quote: the quoted path is a regex in both). Rounds alternate pure and compiled;
the figure is the median round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from bench.corpora import Corpus

ROUNDS = 7
SAMPLE_BYTES = 4 << 20
CHUNK = 64 << 10


def _inputs(path: Path) -> dict[str, list]:
    with open(path, "rb") as fh:
        data = fh.read(SAMPLE_BYTES)
    data = data[: data.rfind(b"\n") + 1]
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    texts = [line for line in data.decode("utf-8", "replace").splitlines()
             if line[:1] != "{"]
    messages = [m for m in (t.split(" ", 2)[-1] for t in texts) if "=" in m and '"' not in m]
    return {"split_lines": [(c, c.rfind(b"\n")) for c in chunks if b"\n" in c],
            "iso_prefix": texts, "trailing_pairs": messages}


def _callers(mod: ModuleType) -> dict[str, Callable[[list], None]]:
    def split(items: list) -> None:
        for chunk, last in items:
            mod.split_lines(chunk, 0, last, 0, 65536, [], set())

    def iso(items: list) -> None:
        fn = mod.iso_prefix
        for text in items:
            fn(text)

    def pairs(items: list) -> None:
        fn = mod.trailing_pairs
        for message in items:
            fn(message)

    return {"split_lines": split, "iso_prefix": iso, "trailing_pairs": pairs}


def _round(call: Callable[[list], None], items: list) -> float:
    start = time.perf_counter()
    call(items)
    return (time.perf_counter() - start) * 1e6 / max(1, len(items))


def run_kernels(corpus: Corpus, file: str = "app.log") -> dict:
    """µs per call of each kernel, both ways, on ``corpus``'s ``file``."""
    from shipper.kernels import pure

    try:
        from shipper.kernels import _compiled
    except ImportError as exc:
        return {"error": f"the compiled kernels are not built ({exc})"}
    inputs = _inputs(corpus.file(file))
    ways = {"pure": _callers(pure), "compiled": _callers(_compiled)}
    rows = []
    for name, items in inputs.items():
        times: dict[str, list[float]] = {"pure": [], "compiled": []}
        for _ in range(ROUNDS):
            for way, callers in ways.items():
                times[way].append(_round(callers[name], items))
        pure_us, compiled_us = (statistics.median(times[w]) for w in ("pure", "compiled"))
        rows.append({"kernel": name, "calls": len(items), "pure_us": pure_us,
                     "compiled_us": compiled_us, "speedup": pure_us / compiled_us})
    return {"corpus": corpus.name, "rows": rows}
