"""Which files a follow-mode read round reads: every open file, or only the warm ones.

A round is one thread hop that reads the tailer's files in turn until ``read_chunk_bytes``
were read. Reading every open file each round made one busy file among 1,000 quiet ones
cost 40% of a core (5% alone, ~10k lines/s in writes every 10 ms): each write woke a round
that read the end of all 999 quiet files (a syscall and a few Python calls each) to get a
few lines of the busy one.

A file whose read found something (lines, a partial read, a new identity, a truncation)
is *warm* for ``poll_interval`` after. While some file is warm, rounds read the warm
files only, and every file once a ``poll_interval`` (a *full* round); with none warm
(nothing busy: the old behaviour), and after a scan (new files), a round reads every file.
A quiet file's new lines therefore wait at most ``poll_interval`` while other files keep
the tailer busy, which is what the stat poll promises without inotify.
"""

from __future__ import annotations

from collections.abc import Callable

from shipper.sources.files import OpenFile
from shipper.sources.fileset import FileSet

Ident = tuple[int, int]


class ReadRounds:
    """The order of each round's reads (rotated by one a round, so a budget that ends a
    round early does not starve the files at its end) and which files are warm."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self._interval = interval
        self._clock = clock
        #: identity -> (file, warm until)
        self._warm: dict[Ident, tuple[OpenFile, float]] = {}
        self._full_at = float("-inf")
        self._turn = 0
        #: whether the round :meth:`order` gave last reads every file
        self.full = True

    def order(self, files: FileSet) -> list[OpenFile]:
        """The files the next round reads, in turn: the warm ones, or every one when a
        full round is due or none is warm."""
        now = self._clock()
        chosen = self._warm_files(files, now)
        self.full = not chosen or now >= self._full_at
        if self.full:
            self._full_at = now + self._interval
            chosen = list(files)
        if not chosen:
            return chosen
        self._turn = (self._turn + 1) % len(chosen)
        return chosen[self._turn:] + chosen[:self._turn]

    def found(self, f: OpenFile, anything: bool) -> None:
        """What ``f``'s read found this round: anything keeps it warm for an interval."""
        if anything:
            self._warm[f.ident] = (f, self._clock() + self._interval)

    def look_everywhere(self) -> None:
        """The next round reads every file (after a scan: new files are read at once)."""
        self._full_at = float("-inf")

    def sleep_at_most(self, seconds: float) -> float:
        """How long the tailer may sleep after a round found nothing: until the next
        full round while a file is warm (a quiet file's lines wait no longer)."""
        now = self._clock()
        if not any(until > now for _, until in self._warm.values()):
            return seconds
        return max(0.0, min(seconds, self._full_at - now))

    def _warm_files(self, files: FileSet, now: float) -> list[OpenFile]:
        self._warm = {ident: entry for ident, entry in self._warm.items()
                      if entry[1] > now and ident in files}  # cooled down, or let go
        return [f for f, _ in self._warm.values()]
