"""Per-file read checkpoints, persisted atomically to the state directory.

The pipeline calls :meth:`CheckpointStore.set` only with offsets that every sink has
acknowledged (``shipper.acks.FileAcks``) and :meth:`save` periodically and at shutdown;
the tailer consults :meth:`get` when it opens a file. The file is versioned JSON written
as temp file + fsync + rename (+ directory fsync) in a thread. A missing file means a
fresh start; a corrupt one is kept aside as ``checkpoints.json.corrupt`` and start-up
goes on (with a warning saying so).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from shipper.sources.identity import parse_file_key

VERSION = 1
FILE_NAME = "checkpoints.json"

log = logging.getLogger("shipper.sources")


@dataclass(slots=True)
class CheckpointEntry:
    key: str
    path: str
    dev: int
    ino: int
    fingerprint: str
    offset: int
    updated: float
    retired: float | None = None


class CheckpointStore:
    """Checkpoints by file key (``dev:ino:fingerprint``), kept in ``state_dir``.

    ``clock`` is wall-clock seconds (retired entries are pruned ``retain`` seconds after
    the file was let go, and at most ``max_entries`` are kept, oldest dropped first).
    Call ``await load()`` once at start-up, before the tailer opens files.
    """

    def __init__(self, state_dir: str | os.PathLike[str], clock: Callable[[], float] = time.time,
                 *, retain: float = 3600.0, max_entries: int = 10_000) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._clock = clock
        self._retain = retain
        self._max_entries = max_entries
        self._entries: dict[str, CheckpointEntry] = {}
        self._dirty = False
        self._lock = asyncio.Lock()
        #: see :meth:`rotated_since` (``None`` until loaded or set)
        self.since: float | None = None
        self._failing = False
        #: failed saves since start-up (a full or read-only state directory)
        self.failures = 0

    # -- queries -------------------------------------------------------------------------------

    def get(self, file_key: str) -> int | None:
        """The checkpointed offset of a file, or ``None``."""
        entry = self._entries.get(file_key)
        return entry.offset if entry is not None else None

    def find_by_fingerprint(self, fingerprint: str) -> CheckpointEntry | None:
        """The only entry with this fingerprint (``None`` if none or ambiguous)."""
        matches = [e for e in self._entries.values() if e.fingerprint == fingerprint]
        return matches[0] if len(matches) == 1 else None

    def entries(self) -> list[CheckpointEntry]:
        return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    # -- updates -------------------------------------------------------------------------------

    def set(self, file_key: str, path: str, offset: int) -> None:
        """Record that everything of ``file_key`` before ``offset`` is delivered."""
        identity = parse_file_key(file_key)
        if identity is None:
            raise ValueError(f"not a file key: {file_key!r}")
        entry = self._entries.get(file_key)
        now = self._clock()
        if entry is None:
            self._entries[file_key] = CheckpointEntry(
                file_key, path, identity.dev, identity.ino, identity.fingerprint, offset, now)
        elif entry.offset != offset or entry.path != path:
            entry.offset, entry.path, entry.updated = offset, path, now
        else:
            return
        self._dirty = True

    def retire(self, file_key: str) -> None:
        """The file was let go (rotated away, deleted, truncated): prune it later."""
        entry = self._entries.get(file_key)
        if entry is not None and entry.retired is None:
            entry.retired = self._clock()
            self._dirty = True

    def rotated_since(self, started: float) -> float:
        """Since when rotated files may hold lines no run has read (wall clock).

        A run calls this once at start-up with its own start time. The answer is the
        start of the oldest earlier run whose rotated files may be unfinished, but never
        older than what the retained checkpoints still cover (a file finished before that
        has no entry left and would be read twice). It is persisted with the checkpoints,
        so a run killed before it saved anything still passes it on.
        """
        floor = self._clock() - self._retain + 60.0
        since = started if self.since is None else min(self.since, started)
        self.since = max(since, min(floor, started))
        self._dirty = True
        return self.since

    def remove(self, file_key: str) -> None:
        if self._entries.pop(file_key, None) is not None:
            self._dirty = True

    async def save(self) -> bool:
        """Persist atomically (in a thread) if anything changed since the last save.

        A failed write (full or read-only file system) never raises: it is logged once
        per run of failures, counted in :attr:`failures`, and retried on the next call;
        ``False`` is returned while the checkpoints on disk are behind.
        """
        async with self._lock:
            if not self._dirty:
                return True
            self._prune()
            data = self._serialise()
            try:
                await asyncio.to_thread(_write_atomic, self.path, data)
            except OSError as exc:
                self._save_failed(exc)
                return False
            self._dirty = False
            if self._failing:
                self._failing = False
                log.info("checkpoints saved again", extra={"path": str(self.path)})
            return True

    def _save_failed(self, exc: OSError) -> None:
        self.failures += 1
        if not self._failing:
            self._failing = True
            log.warning("cannot save checkpoints, will retry (lines may be sent again "
                        "after a restart)", extra={"path": str(self.path),
                                                   "error": exc.strerror or str(exc)})

    # -- internals -----------------------------------------------------------------------------

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._entries.items()
                    if e.retired is not None and now - e.retired > self._retain]:
            del self._entries[key]
        excess = len(self._entries) - self._max_entries
        if excess > 0:
            for entry in sorted(self._entries.values(), key=lambda e: e.updated)[:excess]:
                del self._entries[entry.key]

    def _serialise(self) -> bytes:
        files = [asdict(e) for e in self._entries.values()]
        doc: dict[str, Any] = {"version": VERSION, "files": files}
        if self.since is not None:
            doc["since"] = self.since
        return json.dumps(doc, indent=0).encode()

    async def load(self) -> None:
        """Read the checkpoint file (in a thread); missing or corrupt means start empty."""
        await asyncio.to_thread(self.load_sync)

    def load_sync(self) -> None:
        """Blocking :meth:`load` (tools and tests outside an event loop)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read checkpoints, starting without them",
                        extra={"path": str(self.path), "error": exc.strerror})
            return
        try:
            self._entries, self.since = _parse(raw)
        except ValueError as exc:
            self._set_aside(str(exc))

    def _set_aside(self, reason: str) -> None:
        aside = self.path.with_name(FILE_NAME + ".corrupt")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            log.warning("cannot move corrupt checkpoints aside", extra={"error": exc.strerror})
        log.warning("checkpoint file is corrupt, starting without checkpoints",
                    extra={"path": str(self.path), "reason": reason, "kept_as": str(aside)})


def _parse(raw: bytes) -> tuple[dict[str, CheckpointEntry], float | None]:
    """Entries of a checkpoint file (``ValueError`` when it is not a valid one)."""
    try:
        doc: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise ValueError("unknown format or version")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ValueError("no list of files")
    entries: dict[str, CheckpointEntry] = {}
    for item in files:
        entry = _entry(item)
        entries[entry.key] = entry
    since = doc.get("since")
    return entries, since if isinstance(since, (int, float)) and since > 0 else None


def _entry(item: Any) -> CheckpointEntry:
    try:
        entry = CheckpointEntry(**item)
    except TypeError as exc:
        raise ValueError(f"bad entry: {exc}") from None
    if (parse_file_key(entry.key) is None or not isinstance(entry.offset, int)
            or entry.offset < 0 or not isinstance(entry.path, str)):
        raise ValueError(f"bad entry for {entry.path!r}")
    return entry


def _write_atomic(path: Path, data: bytes) -> None:
    """temp file + fsync + rename + directory fsync (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        os.close(fd)
        tmp.unlink(missing_ok=True)  # a partial temp file must not hold the space
        raise
    os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
