"""OpenFile: witnesses of what was read, read limits, replaced content; chunk parts; a
hop of several reads (a drain's, a follow round's)."""

from __future__ import annotations

import os

import pytest

from shipper.sources.files import IDENTIFIED, Chunk, OpenFile
from shipper.sources.identity import FileIdentity, Witness, check_of, read_fingerprint
from shipper.sources.reads import drain_steps, read_some, split_chunk

DATA = b"".join(b"line number %d of the file\n" % i for i in range(400))


def opened(path, offset: int = 0) -> OpenFile:
    f = OpenFile.open(str(path), 1 << 20)
    f.head = read_fingerprint(f.fd, force=True)
    f.identity = FileIdentity(f.dev, f.ino, f.head)
    f.seek(offset)
    return f


def read_all(f: OpenFile, nbytes: int) -> list[Chunk]:
    chunks = []
    while True:
        got = f.read(nbytes, final=False)
        if not isinstance(got, Chunk):
            return chunks
        chunks.append(got)
        if got.eof and not got.lines:
            return chunks


@pytest.mark.parametrize("nbytes", [7, 100, 513, 4096, 1 << 20])
def test_every_witness_is_the_check_of_the_bytes_read_before_it(tmp_path, nbytes):
    """Whatever the read size, each chunk's witnesses (its last line start, its end)
    hash exactly the bytes the file holds before those offsets."""
    path = tmp_path / "a.log"
    path.write_bytes(DATA)
    f = opened(path)
    try:
        witnesses = [w for c in read_all(f, nbytes) for w in c.witnesses]
    finally:
        f.close()
    assert witnesses and witnesses[-1].at == len(DATA)
    for w in witnesses:
        assert w.check == check_of(DATA[:w.at]) and w.size >= w.at


def test_seek_loads_the_bytes_before_the_offset(tmp_path):
    """After a resume at an offset, the first chunk's witness still covers the bytes
    before it (the tail is loaded from the file)."""
    path = tmp_path / "a.log"
    path.write_bytes(DATA)
    start = DATA.index(b"line number 300")
    f = opened(path, start)
    try:
        assert f.witness == Witness(start, check_of(DATA[:start]), len(DATA))
        chunk = f.read(40, final=False)
    finally:
        f.close()
    assert isinstance(chunk, Chunk) and chunk.lines[0][1] == b"line number 300 of the file"
    end = chunk.end_offset
    assert chunk.witnesses[-1] == Witness(end, check_of(DATA[:end]), len(DATA))


def test_read_stops_at_the_limit_and_flushes_the_last_line(tmp_path):
    """With a limit (the end seen at stop), nothing past it is read; a line cut by it
    comes out as it is."""
    path = tmp_path / "a.log"
    path.write_bytes(DATA)
    f = opened(path)
    f.limit = DATA.index(b"line number 10 ") + 6
    try:
        lines = [line for c in read_all(f, 64) for _, line in c.lines]
    finally:
        f.close()
    assert lines[-1] == b"line n" and len(lines) == 11


def test_replaced_content_is_seen_even_with_the_same_first_line(tmp_path):
    """Truncated and written again past the read offset, starting with the same first
    line (a banner): other bytes before the read offset tell it; unchanged, nothing."""
    path = tmp_path / "a.log"
    banner = b"=== starting ===\n"
    path.write_bytes(banner + DATA)
    f = opened(path)
    try:
        read_all(f, 1 << 20)
        assert not f.content_replaced()
        with open(path, "r+b") as fh:
            fh.truncate(0)
            fh.write(banner + DATA.replace(b"line", b"LINE") + b"more\n")
        assert f.content_replaced()
    finally:
        f.close()


def test_shrinking_file_is_replaced(tmp_path):
    """A file smaller than it was seen (but still past the read offset) was truncated."""
    path = tmp_path / "a.log"
    path.write_bytes(DATA)
    f = opened(path)
    try:
        f.read(100, final=False)
        os.truncate(path, len(DATA) // 2)
        assert f.content_replaced()
    finally:
        f.close()


def test_split_chunk_parts_end_where_the_next_part_starts():
    """Parts of at most N lines; each ends at the next part's first offset; the last
    keeps the chunk's end, eof and witnesses; cut lines stay with their part."""
    lines = [(i * 10, b"x" * 9) for i in range(7)]
    w = Witness(70, "0" * 32, 70)
    chunk = Chunk("1:2:ab", "/a", lines, frozenset({10, 60}), 70, True, (w,))
    parts = split_chunk(chunk, 3)
    assert [len(p.lines) for p in parts] == [3, 3, 1]
    assert [p.end_offset for p in parts] == [30, 60, 70]
    assert [p.eof for p in parts] == [False, False, True]
    assert [p.truncated for p in parts] == [frozenset({10}), frozenset(), frozenset({60})]
    assert parts[-1].witnesses == (w,) and parts[0].witnesses == ()
    assert split_chunk(chunk, 7) == [chunk]


def test_drain_steps_read_chunks_until_the_limit_or_another_outcome(tmp_path):
    """One hop's ``drain_steps``: at most ``most`` outcomes, in order, each read going on
    where the last ended; a hop ends early at the chunk that reaches the file's size (its
    end when first sized; its cut last line flushed), and a file not identified yet gives
    ``IDENTIFIED`` alone."""
    path = tmp_path / "a.log"
    path.write_bytes(DATA[:250])
    f = opened(path)
    try:
        first = drain_steps(f, 100, 2)
        rest = drain_steps(f, 100, 4)
    finally:
        f.close()
    assert [type(c) for c in first + rest] == [Chunk] * 3
    assert [c.eof for c in first + rest] == [False, False, True]
    lines = [line for c in first + rest for _, line in c.lines]
    assert b"\n".join(lines) == DATA[:250] and len(lines) == 10  # the cut line too
    fresh = OpenFile.open(str(path), 1 << 20)
    try:
        assert drain_steps(fresh, 100, 4) == [IDENTIFIED] and fresh.limit == 250
    finally:
        fresh.close()


def test_read_some_takes_a_chunk_of_each_file_then_more_of_the_full_ones(tmp_path):
    """A follow round's ``read_some`` (chunks of 100 bytes, a budget of 500): a chunk of
    each file in turn, then another of each whose chunk was full, until 500 bytes were
    read; a file that gave less than a chunk (its end) is not read again. Each file's
    lines come whole and in order."""
    sizes = {"a": 350, "b": 50, "c": 250}
    files = []
    for name, size in sizes.items():
        (tmp_path / f"{name}.log").write_bytes(DATA[:size])
        files.append(opened(tmp_path / f"{name}.log"))
    try:
        out = read_some(files, 100, 500)
    finally:
        for f in files:
            f.close()
    names = [os.path.basename(f.path)[0] for f, _ in out]
    assert names == ["a", "b", "c", "a", "c", "a"]
    assert all(isinstance(result, Chunk) for _, result in out)
    for name in "ac":
        data = b"".join(line + b"\n" for f, c in out if f.path.endswith(f"{name}.log")
                        for _, line in c.lines)
        assert DATA.startswith(data) and len(data) > 100 * names.count(name) - 28
