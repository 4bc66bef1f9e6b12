"""A bare single-threaded Python + orjson loop: the floor any Python shipper stands on.

The same work as the peers and no more (no tailing state, no format detection, no
normalisation, no redaction): read big chunks, split lines, drop noise with one regex,
parse JSON lines with orjson (else keep the raw line as ``message``), add the pod facts
from ``POD_NAME``/``POD_NAMESPACE``/``NODE_NAME``, write NDJSON to stdout.

It takes the shipper's command line (``run [--once] --path FILE ...``), so it also stands
in for the shipper (``BENCH_SHIPPER="python -m bench.baseline"``) to test the harness
before the real CLI is there. Without ``--once`` it follows the files until SIGTERM.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import signal
import sys
import time

import orjson

NOISE = re.compile(rb"GET /health|GET /api/v1/jobs/\S+ 200|User authenticated")


def _facts() -> dict[str, str]:
    return {"pod": os.environ.get("POD_NAME", ""),
            "namespace": os.environ.get("POD_NAMESPACE", ""),
            "node": os.environ.get("NODE_NAME", "")}


def convert(lines: list[bytes], facts: dict[str, str]) -> bytes:
    """NDJSON for the lines that are not noise."""
    out = []
    for line in lines:
        if NOISE.search(line):
            continue
        record = None
        if line[:1] == b"{":
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
        if not isinstance(record, dict):
            record = {"message": line.decode("utf-8", "replace")}
        record.update(facts)
        out.append(orjson.dumps(record))
    return b"\n".join(out) + b"\n" if out else b""


def pump(fd: int, tail: bytes, facts: dict[str, str], chunk: int = 1 << 20) -> tuple[bytes, bool]:
    """Read one chunk, write the converted complete lines; returns (rest, got_data)."""
    block = os.read(fd, chunk)
    if not block:
        return tail, False
    block = tail + block
    cut = block.rfind(b"\n") + 1
    if cut:
        sys.stdout.buffer.write(convert(block[:cut - 1].split(b"\n"), facts))
    return block[cut:], True


def ship_once(path: str, facts: dict[str, str]) -> None:
    fd, tail, got = os.open(path, os.O_RDONLY), b"", True
    while got:
        tail, got = pump(fd, tail, facts)
    os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.baseline")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--path", required=True)
    args, _ = parser.parse_known_args(argv)
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    facts = _facts()
    paths = sorted(glob.glob(args.path)) or [args.path]
    if args.once:
        for path in paths:
            ship_once(path, facts)
        sys.stdout.buffer.flush()
        return 0
    follow = [[os.open(path, os.O_RDONLY), b""] for path in paths]
    while not stop:
        busy = False
        for state in follow:
            state[1], got = pump(state[0], state[1], facts)
            busy |= got
        if not busy:
            sys.stdout.buffer.flush()
            time.sleep(0.01)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
