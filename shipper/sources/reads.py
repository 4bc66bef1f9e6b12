"""Blocking reads of open files, run by the tailer in a worker thread."""

from __future__ import annotations

import os

from shipper.sources.files import Chunk, OpenFile

Outcome = Chunk | str | OSError

#: chunks one read hop (a drain's, a follow round's) takes while the sinks keep up
HOP_CHUNKS = 4
#: bytes buffered in a sink from which it counts as behind (:func:`hop_chunks`)
READ_AHEAD_MAX_BUFFERED = 2 << 20


def read_some(files: list[OpenFile], nbytes: int,
              budget: int) -> list[tuple[OpenFile, Outcome]]:
    """A chunk of at most ``nbytes`` from each file in turn, then another from each whose
    chunk was full (more may be waiting), and so on, until ``budget`` bytes were read.
    A file's outcomes are in the order read; a file stops at anything but a full chunk."""
    out: list[tuple[OpenFile, Outcome]] = []
    used, turn = 0, files
    while turn:
        more: list[OpenFile] = []
        for f in turn:
            if f.fd < 0:
                continue
            before = f.bytes_read
            try:
                result: Outcome = f.read(nbytes, final=False)
            except OSError as exc:
                result = exc
            out.append((f, result))
            used += (got := f.bytes_read - before)
            if used >= budget:
                return out
            if got >= nbytes and isinstance(result, Chunk):
                more.append(f)
        turn = more
    return out


def read_one(f: OpenFile, nbytes: int) -> Outcome:
    """The next chunk of ``f`` including a last line without newline (draining)."""
    try:
        return f.read(nbytes, final=True)
    except OSError as exc:
        return exc


def drain_step(f: OpenFile, nbytes: int) -> Outcome:
    """:func:`read_one` for a drain; the first step also sets ``f.limit`` to the file's
    size now (one thread hop for both)."""
    if f.limit is None:
        f.limit = size_of(f)
    return read_one(f, nbytes)


def hop_chunks(sinks_buffered: int) -> int:
    """Chunks the next read hop takes (a drain's, or a follow round's budget), given the
    most bytes a sink holds buffered: :data:`HOP_CHUNKS` while every sink keeps up (fewer
    thread hops and turns of the event loop: 1M lines to stdout -5 to -7% CPU), else one,
    so that each chunk is followed by a turn of the loop for the sinks (reading ahead of
    network sinks only grew their buffers: +25-35 MiB peak at 200k lines, no less CPU)."""
    return 1 if sinks_buffered >= READ_AHEAD_MAX_BUFFERED else HOP_CHUNKS


def drain_steps(f: OpenFile, nbytes: int, most: int) -> list[Outcome]:
    """Up to ``most`` :func:`drain_step` outcomes of ``f`` in one hop, in order: every one
    but the last is a chunk that did not reach the file's limit (the last may be
    anything: the limit's chunk, ``IDENTIFIED``, an error ...)."""
    out = [drain_step(f, nbytes)]
    while len(out) < most and isinstance(last := out[-1], Chunk) and not last.eof:
        out.append(drain_step(f, nbytes))
    return out


def size_of(f: OpenFile) -> int:
    """Current size of the open file (0 if it cannot be stat-ed)."""
    try:
        return os.fstat(f.fd).st_size
    except OSError:
        return 0


def split_chunk(chunk: Chunk, max_lines: int) -> list[Chunk]:
    """``chunk`` as parts of at most ``max_lines`` lines, each ending where the next
    part's first line starts: the unit of acknowledgement, so a SIGKILL re-sends at
    most one part beyond what the checkpoint saved. Witnesses stay with the last part."""
    lines = chunk.lines
    if len(lines) <= max_lines:
        return [chunk]
    parts: list[Chunk] = []
    for start in range(0, len(lines), max_lines):
        stop = start + max_lines
        if stop >= len(lines):
            cut = frozenset(o for o in chunk.truncated if o >= lines[start][0])
            parts.append(Chunk(chunk.file_key, chunk.path, lines[start:], cut,
                               chunk.end_offset, chunk.eof, chunk.witnesses))
            break
        end = lines[stop][0]
        cut = frozenset(o for o in chunk.truncated if lines[start][0] <= o < end)
        parts.append(Chunk(chunk.file_key, chunk.path, lines[start:stop], cut, end, False))
    return parts
