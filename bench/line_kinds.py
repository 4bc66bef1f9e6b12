"""The bench corpus split by line kind, to weigh each kind's cost a line.

``python -m bench.line_kinds CORPUS OUTDIR [LINES]`` classifies the lines of a plain
corpus (``/tmp/perf/app.log``) by their layout, prints each kind's count and share, and
writes ``OUTDIR/<kind>.log``: the kind's lines repeated in corpus order up to ``LINES``
(20,000), the file an instruction count (``ir.sh``-style: ``(run - empty) / lines``) takes.
A kind's cost times its share says where a cut pays most (helper ``parsek``, issue 14).
The kinds are layouts, not the parser's own routes: a line the parser takes another way
(held, declined) is still counted by its look.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_ISO = re.compile(rb"\d{4}-\d\d-\d\dT[\d:.]+Z(\t| (\S+) (\S+))")
_ACCESS = re.compile(rb"\d+\.\d+\.\d+\.\d+ - ")
_PYLOG = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")
_METHODS = (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD")


def kind(line: bytes) -> str:
    """The layout of one line (without its newline)."""
    if line.startswith(b'{"level"'):
        return "json_zap"
    if line.startswith(b"{"):
        return "json_structlog" if line.startswith(b'{"timestamp"') else "json_other"
    if _ACCESS.match(line):
        return "access"
    if _PYLOG.match(line):
        return "python_logging"
    found = _ISO.match(line)
    if found is None:
        return "uvicorn" if line.startswith(b"INFO:") else "other"
    if found.group(1) == b"\t":
        return "zap_console"
    if found.group(3) in _METHODS:
        return "iso_request"  # "ISO LEVEL GET /path 200 12ms"
    if found.group(2) in _METHODS:
        return "iso_bare_request"  # "ISO GET /health 200", held by the text joiner
    return "iso_text_kv" if b"=" in line else "iso_text"


def split(lines: list[bytes]) -> dict[str, list[bytes]]:
    """The lines by kind, each kind's in corpus order."""
    kinds: dict[str, list[bytes]] = {}
    for line in lines:
        kinds.setdefault(kind(line), []).append(line)
    return kinds


def main(argv: list[str]) -> int:
    corpus, out = Path(argv[0]), Path(argv[1])
    size = int(argv[2]) if len(argv) > 2 else 20_000
    lines = corpus.read_bytes().splitlines()
    kinds = split(lines)
    out.mkdir(parents=True, exist_ok=True)
    counts = Counter({name: len(found) for name, found in kinds.items()})
    for name, count in counts.most_common():
        found = kinds[name]
        repeated = (found * (size // len(found) + 1))[:size]
        (out / f"{name}.log").write_bytes(b"\n".join(repeated) + b"\n")
        print(f"{name:18} {count:8d} {100 * count / len(lines):5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
