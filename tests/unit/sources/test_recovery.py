"""Where reading resumes: verified checkpoints, files renamed or copied while stopped,
and copies told from other generations that share a first line."""

from __future__ import annotations

import os
import shutil

from shipper.sources.checkpoints_format import CheckpointEntry
from shipper.sources.copies import Generation, find_copy, is_copy
from shipper.sources.files import OpenFile
from shipper.sources.identity import FileIdentity, Witness, check_of, read_fingerprint
from shipper.sources.links import LinkPolicy
from shipper.sources.recovery import place, recover

BANNER = b"=== app 1.0 starting ===\n"
LINKS = LinkPolicy("always")


def lines(tag: str, count: int) -> bytes:
    return BANNER + b"".join(b"%s line %d\n" % (tag.encode(), i) for i in range(count))


def checkpoint(path, data: bytes, offset: int, *, witness: bool = True,
               gen: int = 0) -> CheckpointEntry:
    """The entry a run that read ``data`` from ``path`` up to ``offset`` left behind."""
    st = os.stat(path)
    fp = read_fingerprint_of(data)
    ident = FileIdentity(st.st_dev, st.st_ino, fp, gen)
    w = Witness(offset, check_of(data[:offset]), len(data)) if witness else None
    return CheckpointEntry(ident.key, str(path), st.st_dev, st.st_ino, fp, offset, 1.0,
                           None, w)


def read_fingerprint_of(data: bytes) -> str:
    from shipper.sources.identity import fingerprint_of

    fp = fingerprint_of(data, force=True)
    assert fp is not None
    return fp


def identified(path) -> OpenFile:
    f = OpenFile.open(str(path), 1 << 20)
    f.head = read_fingerprint(f.fd, force=True)
    return f


def test_place_resumes_only_where_the_file_still_holds_its_checkpoint(tmp_path):
    """Same inode and banner but other content (inode reuse): offset 0 under a fresh
    key; the same content grown on: the checkpoint, under its own key."""
    path = tmp_path / "app.log"
    old = lines("old", 100)
    path.write_bytes(old)
    entry = checkpoint(path, old, len(old) // 2)
    with open(path, "r+b") as fh:  # same inode, same first line, other lines
        fh.write(lines("new", 120))
    f = identified(path)
    try:
        assert place(f, [entry], lambda key: False) is None
        assert f.splitter.offset == 0 and f.identity.key == entry.key + ":1"
    finally:
        f.close()
    path.write_bytes(old + b"more\n")
    f = identified(path)
    try:
        assert place(f, [entry], lambda key: False) is entry
        assert f.splitter.offset == entry.offset and f.identity.key == entry.key
    finally:
        f.close()


def test_place_version_1_entry_trusts_inode_and_first_line_when_long_enough(tmp_path):
    """An entry without a witness (checkpoint file version 1) resumes on the same inode
    with the same first line if the file is not shorter than the offset."""
    path = tmp_path / "app.log"
    data = lines("a", 50)
    path.write_bytes(data)
    entry = checkpoint(path, data, 300, witness=False)
    f = identified(path)
    try:
        assert place(f, [entry], lambda key: False) is entry and f.splitter.offset == 300
    finally:
        f.close()
    short = checkpoint(path, data, len(data) + 10, witness=False)
    f = identified(path)
    try:
        assert place(f, [short], lambda key: False) is None and f.splitter.offset == 0
    finally:
        f.close()


def test_file_renamed_twice_is_found_under_its_last_name(tmp_path):
    """app.log -> app.log.1 -> app.log.2 while stopped: found by inode and resumed at
    its checkpoint; a finished one is not reopened but reported done."""
    data = lines("k", 200)
    (tmp_path / "app.log").write_bytes(data)
    entry = checkpoint(tmp_path / "app.log", data, 1000)
    (tmp_path / "done.log").write_bytes(data[:500])
    finished = checkpoint(tmp_path / "done.log", data[:500], 500)
    os.rename(tmp_path / "app.log", tmp_path / "app.log.1")
    os.rename(tmp_path / "app.log.1", tmp_path / "app.log.2")
    os.rename(tmp_path / "done.log", tmp_path / "done.log.1")
    found = recover([entry, finished], set(), LINKS, 1 << 20)
    try:
        assert [(f.path, f.splitter.offset) for f in found.resumed] == [
            (str(tmp_path / "app.log.2"), 1000)]
        assert found.resumed[0].identity.key == entry.key
        assert found.done == [finished.key] and found.copies == []
    finally:
        for f in found.resumed:
            f.close()


def test_copy_of_a_file_copytruncated_while_stopped_is_read_from_the_checkpoint(tmp_path):
    """app.log read to offset N, then copied to app.log.1 and truncated: the copy holds
    the bytes before N, so it is opened there; a same-banner sibling that does not is
    left alone."""
    path = tmp_path / "app.log"
    data = lines("c", 300)
    path.write_bytes(data)
    entry = checkpoint(path, data, 2000)
    (tmp_path / "app.log.2").write_bytes(lines("other", 300))  # same banner, not a copy
    shutil.copyfile(path, tmp_path / "app.log.1")
    with open(path, "r+b") as fh:
        fh.truncate(0)
        fh.write(lines("after", 10))
    found = recover([entry], {str(path)}, LINKS, 1 << 20)
    try:
        assert found.done == [entry.key]
        assert [(src, f.path, f.splitter.offset) for src, f in found.copies] == [
            (entry.key, str(tmp_path / "app.log.1"), 2000)]
    finally:
        for _, f in found.copies:
            f.close()


def generation_of(path, data: bytes, upto: int, history: tuple[int, ...] = ()) -> Generation:
    fp = read_fingerprint_of(data)
    w = Witness(upto, check_of(data[:upto]), upto)
    return Generation(str(path), "1:2:" + fp, fp, w,
                      tuple(Witness(a, check_of(data[:a]), a) for a in history))


def test_find_copy_reads_the_tail_of_a_copy_and_knows_stale_ones(tmp_path):
    """A truncated generation read up to N: its copy holding more is opened at N; a copy
    of an earlier state (smaller) is stale; another file with the same banner is not a
    copy; with nothing read past the first line, the copy is read from 0."""
    data = lines("g", 300)
    gone = generation_of(tmp_path / "app.log", data, 3000, history=(1000, 2000))
    (tmp_path / "app.log.1").write_bytes(data)
    (tmp_path / "app.log.2").write_bytes(data[:2500])
    (tmp_path / "app.log.3").write_bytes(lines("x", 300))
    found = find_copy(gone, set(), LINKS, 1 << 20)
    try:
        assert found.copy is not None and found.copy.path == str(tmp_path / "app.log.1")
        assert found.copy.splitter.offset == 3000
        stale = {os.stat(tmp_path / "app.log.2").st_ino}
        assert {ino for _, ino in found.stale} == stale
    finally:
        if found.copy is not None:
            found.copy.close()
    early = generation_of(tmp_path / "app.log", data, len(BANNER))
    found = find_copy(early, {(os.stat(tmp_path / "app.log.3").st_dev,
                               os.stat(tmp_path / "app.log.3").st_ino)}, LINKS, 1 << 20)
    try:
        assert found.copy is not None and found.copy.splitter.offset == 0
    finally:
        if found.copy is not None:
            found.copy.close()


def test_is_copy_needs_more_than_the_first_line(tmp_path):
    """A sibling is a copy only if it holds bytes past the first line that were read; a
    new generation with the same banner is not."""
    data = lines("g", 300)
    gen = generation_of(tmp_path / "app.log", data, 3000)
    (tmp_path / "copy").write_bytes(data[:3500])
    (tmp_path / "banner").write_bytes(lines("other", 300))
    fp = read_fingerprint_of(data)
    assert is_copy(str(tmp_path / "copy"), fp, [gen], LINKS, 1 << 20)
    assert not is_copy(str(tmp_path / "banner"), fp, [gen], LINKS, 1 << 20)
    weak = generation_of(tmp_path / "app.log", data, len(BANNER))
    assert not is_copy(str(tmp_path / "copy"), fp, [weak], LINKS, 1 << 20)
