"""Where the tailer resumes: checkpoint look-ups and files renamed while stopped."""

from __future__ import annotations

import logging
import os
from typing import Protocol, Sequence

from shipper.sources.files import OpenFile
from shipper.sources.identity import read_fingerprint

log = logging.getLogger("shipper.sources")


class CheckpointEntry(Protocol):
    key: str
    path: str
    dev: int
    ino: int
    fingerprint: str
    offset: int


class Checkpoints(Protocol):
    """What the tailer needs from :class:`shipper.buffer.checkpoint.CheckpointStore`."""

    def get(self, file_key: str) -> int | None: ...

    def find_by_fingerprint(self, fingerprint: str) -> CheckpointEntry | None: ...

    def entries(self) -> Sequence[CheckpointEntry]: ...

    def retire(self, file_key: str) -> None: ...

    def rotated_since(self, started: float) -> float: ...


def resume_offset(checkpoints: Checkpoints | None, f: OpenFile,
                  live: dict[tuple[int, int], OpenFile]) -> int:
    """Offset to start reading ``f`` at (0 without a usable checkpoint)."""
    if checkpoints is None or f.identity is None:
        return 0
    offset = checkpoints.get(f.identity.key)
    if offset is None:
        offset = _same_content(checkpoints, f, live)
    if offset is None:
        return 0
    if offset > f.size:
        log.warning("file is shorter than its checkpoint, reading it from the start",
                    extra={"path": f.path, "checkpoint": offset, "size": f.size})
        return 0
    return offset


def _same_content(checkpoints: Checkpoints, f: OpenFile,
                  live: dict[tuple[int, int], OpenFile]) -> int | None:
    """A checkpoint of the same content under another dev/inode (remount, copy)."""
    assert f.identity is not None
    entry = checkpoints.find_by_fingerprint(f.identity.fingerprint)
    if entry is None or (entry.dev, entry.ino) in live:
        return None
    if entry.path == f.path or entry.ino == f.ino:
        return entry.offset
    return None


def find_renamed(entries: Sequence[CheckpointEntry]) -> list[str]:
    """Paths of checkpointed files now under another name in their directory, unfinished.

    Blocking (directory listings); a file is recognised by device/inode and fingerprint.
    """
    found: list[str] = []
    for entry in entries:
        if _still_at_path(entry):
            continue
        path = _look_in_directory(entry)
        if path is not None:
            found.append(path)
    return sorted(set(found))


def _still_at_path(entry: CheckpointEntry) -> bool:
    try:
        st = os.stat(entry.path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (entry.dev, entry.ino)


def _look_in_directory(entry: CheckpointEntry) -> str | None:
    directory = os.path.dirname(entry.path) or "."
    try:
        with os.scandir(directory) as it:
            for item in it:
                st = item.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) == (entry.dev, entry.ino):
                    return item.path if _unfinished(item.path, entry, st.st_size) else None
    except OSError:
        return None
    return None


def _unfinished(path: str, entry: CheckpointEntry, size: int) -> bool:
    if size <= entry.offset:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return read_fingerprint(fd, force=True) == entry.fingerprint
    finally:
        os.close(fd)
