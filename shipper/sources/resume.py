"""The tailer's decisions about where files start, on the event loop.

:class:`Resumer` places every newly identified file (a verified checkpoint, or 0 under a
fresh key), finishes at start-up what earlier runs left (files renamed any number of
times, copies of files copytruncated while the shipper was down), picks up the
copytruncate copy of a file truncated while followed, and tells missed rotated
generations from copies. The blocking parts (:mod:`~shipper.sources.recovery`,
:mod:`~shipper.sources.copies`) run in threads on snapshots of the checkpoint store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Container
from functools import partial

from shipper.sources.copies import Generation, find_copy, is_copy
from shipper.sources.files import IDENTIFIED, OpenFile
from shipper.sources.fileset import FileSet
from shipper.sources.globs import PathMatcher
from shipper.sources.identity import FileIdentity
from shipper.sources.reads import Outcome, drain_step
from shipper.sources.recovery import CheckpointEntry, Checkpoints, place, recover
from shipper.sources.survey import Survey

log = logging.getLogger("shipper.sources")


class Resumer:
    """Where files start reading (see the module docstring)."""

    def __init__(self, checkpoints: Checkpoints | None, files: FileSet,
                 clock: Callable[[], float], max_line_bytes: int) -> None:
        self._checkpoints = checkpoints
        self._files = files
        self._clock = clock
        self._max_line_bytes = max_line_bytes

    async def start(self, matcher: PathMatcher, since: float) -> float:
        """Finish what earlier runs left; the wall-clock time rotated files are new since."""
        store = self._checkpoints
        if store is None:
            return since
        since = store.rotated_since(since)
        entries = list(store.entries())
        self._files.seed(((e.dev, e.ino), e.fingerprint) for e in entries)
        matched = set(await asyncio.to_thread(matcher.scan))
        found = await asyncio.to_thread(recover, entries, matched, self._files.links,
                                        self._max_line_bytes)
        now = self._clock()
        for key in found.done:
            store.retire(key)
        for f in found.resumed:
            if self._files.adopt(f):
                f.let_go_at = now
                log.info("resuming an unfinished file under its new name",
                         extra={"path": f.path, "offset": f.splitter.offset})
        for source, f in found.copies:
            if self._files.adopt(f) and f.witness is not None and f.key is not None:
                f.let_go_at = now
                store.handover(source, f.key, f.path, f.witness)
                log.info("reading the copy of a file copytruncated while stopped",
                         extra={"path": f.path, "offset": f.splitter.offset})
        return since

    async def place(self, f: OpenFile,
                    then: Callable[[], Outcome] | None = None) -> Outcome | None:
        """``f`` has its first line: choose its identity and offset (a thread verifies).
        ``then`` (the next read, say) runs in the same thread once ``f`` is placed; what
        it returned, or ``None`` (placing failed, or no ``then``)."""
        store = self._checkpoints
        candidates = list(store.candidates(f.dev, f.ino)) if store is not None else []
        try:
            entry, after = await asyncio.to_thread(_place_then, f, candidates,
                                                   self._files.key_taken, then)
        except OSError as exc:
            f.head = None  # identify again on the next read
            log.warning("cannot read file", extra={"path": f.path, "error": str(exc)})
            return None
        self._files.identified(f)
        if entry is not None and entry.offset:
            log.info("resuming file at its checkpoint",
                     extra={"path": f.path, "offset": entry.offset})
        elif any(e.fingerprint == f.head for e in candidates):
            log.info("file does not hold its checkpoint (new content), reading it from "
                     "the start", extra={"path": f.path, "size": f.size})
        return after

    def first_step(self, nbytes: int, skip: Container[tuple[int, int]],
                   ) -> Callable[[OpenFile], Outcome]:
        """The first drain step of a file, for the thread that opens it (``--once``): its
        size and first line, and, unless its identity is in ``skip`` (read under another
        name: not drained), its placement (a new key, from 0; :meth:`place` would do the
        same) and the read that follows. A file whose device/inode has checkpoints is left
        to :meth:`place` on the loop (it verifies them). ``skip`` is only changed on the
        loop, while no step runs; the device/inodes with checkpoints are taken now: those
        added later are files of this run, in ``skip`` by then."""
        store = self._checkpoints
        stored = None if store is None else frozenset((e.dev, e.ino) for e in store.entries())
        return partial(_first_read, nbytes=nbytes, taken=self._files.key_taken, skip=skip,
                       stored=stored)

    async def take_copy(self, gone: Generation) -> None:
        """``gone`` was truncated in place: read its copytruncate copy past its end."""
        self._files.gone.append(gone)
        found = await asyncio.to_thread(find_copy, gone, self._files.read_before(),
                                        self._files.links, self._max_line_bytes)
        self._files.mark_copies(found.stale)
        copy = found.copy
        if copy is None:
            return
        copy.identity = self._fresh_identity(copy, gone.fingerprint)
        if not self._files.adopt(copy):
            return
        copy.let_go_at = self._clock()
        if self._checkpoints is not None and copy.witness is not None:
            self._checkpoints.handover(gone.key, copy.identity.key, copy.path, copy.witness)
        log.info("reading the rest of a copytruncate copy",
                 extra={"path": copy.path, "offset": copy.splitter.offset})

    async def missed(self, found: Survey) -> list[str]:
        """Paths of the missed rotated generations to read (copies of known files are not)."""
        read: list[str] = []
        suspects: list[tuple[tuple[int, int], str, str]] = []
        for ident, (path, fingerprint) in sorted(found.missed.items(), key=lambda i: i[1][0]):
            if self._files.knows(fingerprint):
                suspects.append((ident, path, fingerprint))
            else:
                read.append(path)
        if suspects:
            known = self._generations({fp for _, _, fp in suspects})
            verdicts = await asyncio.to_thread(self._copies, suspects, known)
            judged = list(zip(suspects, verdicts, strict=True))
            self._files.mark_copies(ident for (ident, _, _), copy in judged if copy)
            read += [path for (_, path, _), copy in judged if not copy]
        return read

    def _copies(self, suspects: list[tuple[tuple[int, int], str, str]],
                known: dict[str, list[Generation]]) -> list[bool]:
        links, limit = self._files.links, self._max_line_bytes
        return [is_copy(path, fp, known.get(fp, []), links, limit) for _, path, fp in suspects]

    def _generations(self, fingerprints: set[str]) -> dict[str, list[Generation]]:
        """Every generation known with one of these first lines (open, gone, checkpointed)."""
        out: dict[str, list[Generation]] = {}
        gens = [Generation.of(f) for f in self._files if f.head in fingerprints]
        gens += [g for g in self._files.gone if g.fingerprint in fingerprints]
        if self._checkpoints is not None:
            gens += [Generation(e.path, e.key, e.fingerprint, e.witness)
                     for e in self._checkpoints.entries()
                     if e.fingerprint in fingerprints and e.witness is not None]
        for gen in gens:
            if gen is not None:
                out.setdefault(gen.fingerprint, []).append(gen)
        return out

    def _fresh_identity(self, f: OpenFile, fingerprint: str) -> FileIdentity:
        gen = 0
        while self._taken(FileIdentity(f.dev, f.ino, fingerprint, gen).key):
            gen += 1
        return FileIdentity(f.dev, f.ino, fingerprint, gen)

    def _taken(self, key: str) -> bool:
        store = self._checkpoints
        return self._files.key_taken(key) or (store is not None and store.entry(key) is not None)


def _place_then(f: OpenFile, candidates: list[CheckpointEntry], taken: Callable[[str], bool],
                then: Callable[[], Outcome] | None,
                ) -> tuple[CheckpointEntry | None, Outcome | None]:
    """:func:`~shipper.sources.recovery.place`, then ``then`` (blocking)."""
    entry = place(f, candidates, taken)
    return entry, None if then is None else then()


def _first_read(f: OpenFile, nbytes: int, taken: Callable[[str], bool],
                skip: Container[tuple[int, int]],
                stored: Container[tuple[int, int]] | None) -> Outcome:
    """See :meth:`Resumer.first_step` (blocking). ``stored``: the device/inodes with
    checkpoints (``None``: no checkpoint store). A file among them takes its usual first
    step (:func:`~shipper.sources.reads.drain_step`, then :meth:`Resumer.place`); a
    placement that fails is left to :meth:`Resumer.place` too, which tries again and
    reports a failure. The drain limit and the size the placement goes by are the file's
    size when it was opened, just now (two ``fstat`` calls fewer), and its first line is
    identified from its first read (:meth:`~shipper.sources.files.OpenFile.read_head`:
    one ``pread`` fewer). Without a store it takes no witnesses (it is read once and let
    go, and nothing keeps them); with one it does, as after :meth:`Resumer.place`."""
    if stored is None:
        f.witnessing = False
    elif f.ident in stored:
        return drain_step(f, nbytes)
    if f.limit is None:
        f.limit = f.size
    try:
        data, asked = f.read_head(nbytes)
    except OSError as exc:
        return exc
    if f.ident in skip:
        return IDENTIFIED
    try:
        place(f, (), taken, sized=True)
    except OSError:
        return IDENTIFIED
    try:
        return f.took(data, asked, final=True)
    except OSError as exc:
        return exc


def process_started() -> float:
    """Wall-clock time this process started (Linux ``/proc``; else now).

    Rotated files renamed after it may hold lines no run has read. Taken from the
    process start rather than from when the tailer is built, since imports can take
    seconds on a loaded node and a file rotated meanwhile must still be found.
    """
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as fh:
            boot = next(int(row.split()[1]) for row in fh if row.startswith(b"btime "))
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()
    return min(started, time.time())
