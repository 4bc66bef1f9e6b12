"""Blocking reads of open files, run by the tailer in a worker thread."""

from __future__ import annotations

import os

from shipper.sources.files import Chunk, OpenFile

Outcome = Chunk | str | OSError


def read_some(files: list[OpenFile], budget: int) -> list[tuple[OpenFile, Outcome]]:
    """One chunk from each file in turn until ``budget`` bytes were read."""
    out: list[tuple[OpenFile, Outcome]] = []
    used = 0
    for f in files:
        if f.fd < 0:
            continue
        before = f.bytes_read
        try:
            out.append((f, f.read(budget, final=False)))
        except OSError as exc:
            out.append((f, exc))
        used += f.bytes_read - before
        if used >= budget:
            break
    return out


def read_one(f: OpenFile, nbytes: int) -> Outcome:
    """The next chunk of ``f`` including a last line without newline (draining)."""
    try:
        return f.read(nbytes, final=True)
    except OSError as exc:
        return exc


def size_of(f: OpenFile) -> int:
    """Current size of the open file (0 if it cannot be stat-ed)."""
    try:
        return os.fstat(f.fd).st_size
    except OSError:
        return 0
