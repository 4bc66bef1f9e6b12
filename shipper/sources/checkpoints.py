"""Per-file read checkpoints, persisted atomically to the state directory.

The pipeline calls :meth:`CheckpointStore.set` only with offsets that every sink has
acknowledged (``shipper.acks.FileAcks``) and :meth:`save` periodically and at shutdown.
The tailer notes a :class:`~shipper.sources.identity.Witness` for every chunk it emits
(:meth:`note`), so each saved offset carries the check of the bytes before it, and asks
for the entries of a device/inode when it opens a file (:meth:`candidates`). The file
(``shipper.sources.checkpoints_format``) is written as temp file + fsync + rename
(+ directory fsync) in a thread.

A missing file means a fresh start. A damaged one never stops the shipper: a file that is
not a checkpoint file at all is moved aside as ``checkpoints.json.corrupt``; bad entries
among good ones are dropped (the good ones kept) and the original is copied aside. Either
way one warning is logged and ``shipper_state_set_aside_total{kind="checkpoints"}``
counts it. :meth:`save` never raises.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from shipper.metrics import Metrics
from shipper.sources.checkpoints_format import (
    CheckpointEntry,
    CorruptCheckpoints,
    parse,
    serialise,
    write_atomic,
)
from shipper.sources.checkpoints_links import Handovers, PendingWitnesses
from shipper.sources.identity import Witness, parse_file_key

FILE_NAME = "checkpoints.json"

log = logging.getLogger("shipper.sources")

__all__ = ["FILE_NAME", "CheckpointEntry", "CheckpointStore"]


class CheckpointStore:
    """Checkpoints by file key (``dev:ino:fingerprint[:gen]``), kept in ``state_dir``.

    ``clock`` is wall-clock seconds (retired entries are pruned ``retain`` seconds after
    the file was let go, and at most ``max_entries`` are kept, oldest dropped first).
    Call ``await load()`` once at start-up, before the tailer opens files.
    """

    def __init__(self, state_dir: str | os.PathLike[str], clock: Callable[[], float] = time.time,
                 *, metrics: Metrics | None = None, retain: float = 3600.0,
                 max_entries: int = 10_000) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._clock = clock
        self._metrics = metrics
        self._retain = retain
        self._max_entries = max_entries
        self._entries: dict[str, CheckpointEntry] = {}
        self._by_ident: dict[tuple[int, int], dict[str, None]] = {}
        self._pending = PendingWitnesses(max_entries)
        self._handovers = Handovers()
        self._changes = 0  # bumped by every change; a save clears only what it wrote
        self._saved = 0
        self._lock = asyncio.Lock()
        #: see :meth:`rotated_since` (``None`` until loaded or set)
        self.since: float | None = None
        self._failing = False
        #: failed saves since start-up (a full or read-only state directory)
        self.failures = 0
        #: the size of the file the last save wrote (the saver paces saves by it)
        self.saved_bytes = 0

    # -- queries -------------------------------------------------------------------------------

    def get(self, file_key: str) -> int | None:
        """The checkpointed offset of a file, or ``None``."""
        entry = self._entries.get(file_key)
        return entry.offset if entry is not None else None

    def entry(self, file_key: str) -> CheckpointEntry | None:
        return self._entries.get(file_key)

    def candidates(self, dev: int, ino: int) -> list[CheckpointEntry]:
        """Entries recorded for this device/inode, highest offset first."""
        keys = self._by_ident.get((dev, ino), {})
        return sorted((self._entries[k] for k in keys), key=lambda e: -e.offset)

    def entries(self) -> list[CheckpointEntry]:
        return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def dirty(self) -> bool:
        return self._changes != self._saved

    # -- updates -------------------------------------------------------------------------------

    def note(self, file_key: str, witness: Witness) -> None:
        """The tailer emitted a chunk of ``file_key`` ending at ``witness.at``."""
        self._pending.note(file_key, witness)

    def set(self, file_key: str, path: str, offset: int) -> None:
        """Record that everything of ``file_key`` before ``offset`` is delivered."""
        identity = parse_file_key(file_key)
        if identity is None:
            raise ValueError(f"not a file key: {file_key!r}")
        entry = self._entries.get(file_key)
        witness = self._pending.take(file_key, offset, entry is None or entry.witness is None)
        if entry is None:
            entry = CheckpointEntry(file_key, path, identity.dev, identity.ino,
                                    identity.fingerprint, offset, self._clock())
            self._add(entry)
        elif entry.offset == offset and entry.path == path and witness is None:
            return
        self._changes += 1
        entry.path, entry.encoded = path, None
        if self._handovers.own_progress(file_key, offset, witness):
            return  # a copy still led by its source
        entry.offset, entry.updated = offset, self._clock()
        if witness is not None:
            entry.witness = witness
        self._handovers.pass_on(entry, self._entries.get)

    def handover(self, source: str, copy_key: str, path: str, witness: Witness) -> None:
        """The tailer reads ``copy_key`` (a byte copy of ``source``, made by copytruncate)
        from ``witness.at``, where it stopped reading the source.

        Lines of the source before that offset that are not yet delivered exist only in
        the copy now, so the copy's checkpoint is the source's delivered offset until the
        source's deliveries reach ``witness.at``; only then does the copy's own progress
        count (deliveries of different files may complete in any order).
        """
        identity = parse_file_key(copy_key)
        if identity is None:
            raise ValueError(f"not a file key: {copy_key!r}")
        entry = CheckpointEntry(copy_key, path, identity.dev, identity.ino,
                                identity.fingerprint, 0, self._clock())
        self._add(entry)
        self._changes += 1
        if witness.at == 0:  # nothing of the source read: the copy stands alone
            return
        self._handovers.add(source, copy_key, witness)
        src = self._entries.get(source)
        if src is not None:
            self._handovers.pass_on(src, self._entries.get)

    def retire(self, file_key: str) -> None:
        """The file was let go (rotated away, deleted, truncated): prune it later."""
        entry = self._entries.get(file_key)
        if entry is not None and entry.retired is None:
            entry.retired, entry.encoded = self._clock(), None
            self._changes += 1

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
        self._changes += 1
        return self.since

    # -- saving --------------------------------------------------------------------------------

    async def save(self) -> bool:
        """Persist atomically (in a thread) if anything changed since the last save.

        Changes made while the write runs stay due for the next save. A failed write
        (full or read-only file system) never raises: it is logged once per run of
        failures, counted (:attr:`failures`, ``shipper_checkpoint_saves_total``) and retried
        on the next call; ``False`` is returned while the checkpoints on disk are behind.
        """
        async with self._lock:
            if not self.dirty:
                return True
            try:
                self._prune()
                written = self._changes
                data = serialise(list(self._entries.values()), self.since)
                await asyncio.to_thread(write_atomic, self.path, data)
            except OSError as exc:
                self._save_failed(exc)
                return False
            except Exception as exc:  # a bug must not stop the save loop: log, count, go on
                log.exception("checkpoint save failed unexpectedly")
                self._save_failed(exc)
                return False
            self._saved, self.saved_bytes = written, len(data)
            self._count_save("ok", len(data))
            if self._failing:
                self._failing = False
                log.info("checkpoints saved again", extra={"path": str(self.path)})
            return True

    def _count_save(self, outcome: str, size: int | None = None) -> None:
        if self._metrics is not None:
            self._metrics.checkpoint_saves_total.labels(outcome=outcome).inc()
            if size is not None:
                self._metrics.checkpoint_bytes.set(size)

    def _save_failed(self, exc: Exception) -> None:
        self.failures += 1
        self._count_save("failed")
        if not self._failing:
            self._failing = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.warning("cannot save checkpoints, will retry (lines may be sent again "
                        "after a restart)", extra={"path": str(self.path), "error": reason})

    # -- loading -------------------------------------------------------------------------------

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
            entries, self.since, problems = parse(raw)
        except CorruptCheckpoints as exc:
            self._set_aside(str(exc), move=True)
            return
        for entry in entries.values():
            self._add(entry)
        if problems:
            self._set_aside(f"{len(problems)} bad entries dropped, first: {problems[0]}",
                            move=False)
            self._changes += 1  # write the good ones back without the bad

    def _set_aside(self, reason: str, *, move: bool) -> None:
        aside = self.path.with_name(FILE_NAME + ".corrupt")
        try:
            if move:
                os.replace(self.path, aside)
            else:
                shutil.copyfile(self.path, aside)
        except OSError as exc:
            log.warning("cannot set the damaged checkpoints aside",
                        extra={"error": exc.strerror, "path": str(aside)})
        if self._metrics is not None:
            self._metrics.state_set_aside_total.labels(kind="checkpoints").inc()
        what = ("checkpoint file is corrupt, starting without checkpoints" if move else
                "checkpoint file has bad entries, starting without them")
        log.warning(what, extra={"path": str(self.path), "reason": reason,
                                 "kept_as": str(aside), "kept": len(self._entries)})

    # -- internals -----------------------------------------------------------------------------

    def _add(self, entry: CheckpointEntry) -> None:
        self._entries[entry.key] = entry
        self._by_ident.setdefault((entry.dev, entry.ino), {})[entry.key] = None

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        keys = self._by_ident.get((entry.dev, entry.ino))
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._by_ident[(entry.dev, entry.ino)]
        self._pending.drop(key)
        self._handovers.drop(key)

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._entries.items()
                    if e.retired is not None and now - e.retired > self._retain]:
            self._drop(key)
        excess = len(self._entries) - self._max_entries
        if excess > 0:
            for entry in sorted(self._entries.values(), key=lambda e: e.updated)[:excess]:
                self._drop(entry.key)

