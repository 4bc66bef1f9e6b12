"""Where reading resumes: checkpoint verification, and unfinished files found at start-up.

A checkpoint is trusted only for the file it was taken from, proven by what the file
still holds (:mod:`shipper.sources.identity`): the same device/inode and first line, not
shorter than it was, and the same bytes before the checkpointed offset. Any doubt means
reading from the start (duplicates at worst, never a loss). Entries written by version 1
of the checkpoint file have no witness: they are trusted on the same device/inode with
the same first line when the file is at least as long as the offset.

Every function here is blocking (``pread``, directory listings) and runs in a thread; the
store is only touched on the event loop, which passes snapshots of its entries in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shipper.sources.copies import copy_candidates, first_line_end, open_sibling
from shipper.sources.files import OpenFile
from shipper.sources.identity import (
    FileIdentity,
    Witness,
    holds,
    parse_file_key,
    read_fingerprint,
)
from shipper.sources.links import LinkPolicy

log = logging.getLogger("shipper.sources")

Ident = tuple[int, int]


class CheckpointEntry(Protocol):
    key: str
    path: str
    dev: int
    ino: int
    fingerprint: str
    offset: int
    witness: Witness | None


class Checkpoints(Protocol):
    """What the tailer needs from :class:`shipper.sources.checkpoints.CheckpointStore`."""

    def entry(self, file_key: str) -> CheckpointEntry | None: ...

    def candidates(self, dev: int, ino: int) -> Sequence[CheckpointEntry]: ...

    def entries(self) -> Sequence[CheckpointEntry]: ...

    def note(self, file_key: str, witness: Witness) -> None: ...

    def handover(self, source: str, copy_key: str, path: str, witness: Witness) -> None: ...

    def retire(self, file_key: str) -> None: ...

    def rotated_since(self, started: float) -> float: ...


def place(f: OpenFile, candidates: Sequence[CheckpointEntry],
          taken: Callable[[str], bool], *, sized: bool = False) -> CheckpointEntry | None:
    """Give an identified file its identity and starting offset (blocking).

    ``candidates`` are the checkpoints of its device/inode; the first one the file still
    holds decides the offset and keeps its key. Otherwise the file is a new generation:
    read from 0 under a key no checkpoint and no file of this run uses. ``sized``: with
    no candidates, ``f.size`` was just taken (by the open), so no ``fstat`` is needed.
    """
    assert f.head is not None
    if sized and not candidates:
        size = f.size
    else:
        size = os.fstat(f.fd).st_size
        f.size = max(f.size, size)
    for entry in candidates:
        if entry.fingerprint == f.head and not taken(entry.key) and verify(f.fd, size, entry):
            identity = parse_file_key(entry.key)
            if identity is not None:
                f.identity = identity
                f.seek(entry.offset)
                return entry
    identity = FileIdentity(f.dev, f.ino, f.head)
    while taken(identity.key) or any(e.key == identity.key for e in candidates):
        identity = FileIdentity(f.dev, f.ino, f.head, identity.gen + 1)
    f.identity = identity
    f.seek(0)
    return None


def verify(fd: int, size: int, entry: CheckpointEntry) -> bool:
    """Does the open file (its first line already matched) hold this checkpoint's content?"""
    if size < entry.offset:
        return False
    if entry.witness is None:
        return True  # version 1 entry: same device/inode and first line, long enough
    return holds(fd, size, entry.witness)


@dataclass(slots=True)
class Recovery:
    """What start-up found besides the files the globs match (see :func:`recover`)."""

    #: unfinished checkpointed files under a name no glob matches, opened at the checkpoint
    resumed: list[OpenFile] = field(default_factory=list)
    #: (source key, copy): rotated byte copies of replaced files, opened at the checkpoint
    copies: list[tuple[str, OpenFile]] = field(default_factory=list)
    #: keys of checkpointed files whose content was replaced while the shipper was down,
    #: or that are finished under a name no glob matches: nothing left to read
    done: list[str] = field(default_factory=list)


def recover(entries: Sequence[CheckpointEntry], matched: set[str], links: LinkPolicy,
            max_line_bytes: int) -> Recovery:
    """Unfinished checkpointed files that no glob matches now (blocking, at start-up).

    A checkpointed file is found by device/inode in its directory under any name (renamed
    once or many times); if it still holds its checkpoint and has more to read, it is
    resumed. A checkpointed file whose content was replaced while the shipper was down
    (copytruncate) is finished from the rotated byte copy that holds its checkpoint.
    """
    where = _locate(entries)
    owned = {(e.dev, e.ino) for e in entries}
    out = Recovery()
    for entry in entries:
        path = where.get((entry.dev, entry.ino))
        state = _check(entry, path, links, max_line_bytes) if path else None
        if isinstance(state, OpenFile):
            if path in matched or state.size <= entry.offset:
                state.close()  # followed by the glob scan, or finished
                if path not in matched:
                    out.done.append(entry.key)
            else:
                out.resumed.append(state)
            continue
        if state is None and path:
            out.done.append(entry.key)
        if state is None and entry.witness is not None:
            copy = _copy_of(entry, owned, links, max_line_bytes)
            if copy is not None:
                out.copies.append((entry.key, copy))
                owned.add(copy.ident)
    return out


def _locate(entries: Sequence[CheckpointEntry]) -> dict[Ident, str]:
    """Where each checkpointed device/inode is now, looked up in its directory."""
    wanted = {(e.dev, e.ino) for e in entries}
    dirs: set[str] = set()
    for entry in entries:
        dirs.add(os.path.dirname(entry.path) or ".")
        dirs.add(os.path.dirname(os.path.realpath(entry.path)) or ".")
    found: dict[Ident, str] = {}
    for directory in sorted(dirs):
        try:
            with os.scandir(directory) as it:
                for item in it:
                    st = item.stat(follow_symlinks=False)
                    ident = (st.st_dev, st.st_ino)
                    if ident in wanted and item.is_file(follow_symlinks=False):
                        found.setdefault(ident, item.path)
        except OSError:
            continue
    return found


def _check(entry: CheckpointEntry, path: str, links: LinkPolicy,
           max_line_bytes: int) -> OpenFile | bool | None:
    """The file opened at its checkpoint if it holds it; ``None`` if its content was
    replaced; ``False`` if it could not be looked at (no decision)."""
    try:
        f = OpenFile.open(path, max_line_bytes, links)
    except OSError:
        return False
    try:
        if f.ident != (entry.dev, entry.ino):
            f.close()
            return False
        f.head = read_fingerprint(f.fd, force=True)
        if f.head != entry.fingerprint or not verify(f.fd, f.size, entry):
            f.close()
            return None
        identity = parse_file_key(entry.key)
        assert identity is not None
        f.identity = identity
        f.seek(entry.offset)
        return f
    except OSError:
        f.close()
        return False


def _copy_of(entry: CheckpointEntry, owned: set[Ident], links: LinkPolicy,
             max_line_bytes: int) -> OpenFile | None:
    """A rotated byte copy of ``entry``'s file holding its checkpoint, opened there."""
    assert entry.witness is not None
    for path in copy_candidates(entry.path, exclude=owned):
        f = open_sibling(path, entry.fingerprint, links, max_line_bytes)
        if f is None:
            continue
        try:
            proof = entry.witness.at > first_line_end(f.fd)
            if proof and f.size > entry.offset and holds(f.fd, f.size, entry.witness,
                                                         same_file=False):
                f.identity = FileIdentity(f.dev, f.ino, entry.fingerprint)
                f.seek(entry.offset)
                return f
        except OSError:
            pass
        f.close()
    return None
