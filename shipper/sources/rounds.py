"""Which files a follow-mode read round reads: every open file, or only the warm ones.

A round is one thread hop that reads the tailer's files in turn until a few chunks' bytes
were read (:func:`~shipper.sources.reads.read_some`). Reading every open file each round
made one busy file among 1,000 quiet ones cost 40% of a core (5% alone, ~10k lines/s in
writes every 10 ms): each write woke a round that read the end of all 999 quiet files (a
syscall and a few Python calls each) to get a few lines of the busy one.

A file whose read found something (lines, a partial read, a new identity, a truncation)
is *warm* for ``poll_interval`` after. While some file is warm, rounds read the warm files
only, and every file in a *full pass* once a ``poll_interval``; with none warm (nothing
busy: the old behaviour), and after a scan (new files), every round is a full pass. A pass
reads the files it has not reached first, the warm ones after them, and goes on over the
next rounds until it has read every file: a budget that the warm files would take cannot
keep a quiet file from its turn. So a quiet file's new lines wait at most about
``poll_interval`` while other files keep the tailer busy, which is what the stat poll
promises without inotify.
"""

from __future__ import annotations

from collections.abc import Callable

from shipper.sources.files import OpenFile
from shipper.sources.fileset import FileSet

Ident = tuple[int, int]


class ReadRounds:
    """The order of each round's reads (each part rotated by one a round, so a budget that
    ends a round early does not always cut the same files) and which files are warm."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self._interval = interval
        self._clock = clock
        #: identity -> (file, warm until)
        self._warm: dict[Ident, tuple[OpenFile, float]] = {}
        #: the files of the pass under way not read yet
        self._unread: dict[Ident, OpenFile] = {}
        self._pass_at = float("-inf")
        self._turn = 0

    @property
    def full(self) -> bool:
        """Whether a pass over every file is under way (rounds read more than the warm)."""
        return bool(self._unread)

    def order(self, files: FileSet) -> list[OpenFile]:
        """The files the next round reads: the pass's unread ones, if a pass is under way
        (one starts once a ``poll_interval``, or when none is warm), then the warm ones."""
        now = self._clock()
        warm = self._warm_files(files, now)
        if not self._unread and (now >= self._pass_at or not warm):
            self._pass_at = now + self._interval
            self._unread = {f.ident: f for f in files if f.fd >= 0}
        self._turn += 1
        self._unread = {i: f for i, f in self._unread.items()
                        if files.get(i) is f and f.fd >= 0}  # forget files let go
        unread = [f for i, f in self._unread.items() if i not in self._warm]  # warm: below
        return _rotated(unread, self._turn) + _rotated(warm, self._turn)

    def found(self, f: OpenFile, anything: bool) -> None:
        """What ``f``'s read found this round: anything keeps it warm for an interval."""
        self._unread.pop(f.ident, None)
        if anything:
            self._warm[f.ident] = (f, self._clock() + self._interval)

    def look_everywhere(self) -> None:
        """The next round starts a new pass over every file (after a scan: new files are
        read at once)."""
        self._pass_at = float("-inf")
        self._unread = {}

    def sleep_at_most(self, seconds: float) -> float:
        """How long the tailer may sleep after a round found nothing: not while a pass is
        under way; until the next pass while a file is warm (a quiet file's lines wait no
        longer)."""
        if self._unread:
            return 0.0
        now = self._clock()
        if not any(until > now for _, until in self._warm.values()):
            return seconds
        return max(0.0, min(seconds, self._pass_at - now))

    def _warm_files(self, files: FileSet, now: float) -> list[OpenFile]:
        self._warm = {ident: entry for ident, entry in self._warm.items()
                      if entry[1] > now and files.get(ident) is entry[0]}  # cooled, let go
        return [f for f, _ in self._warm.values() if f.fd >= 0]


def _rotated(files: list[OpenFile], turn: int) -> list[OpenFile]:
    if len(files) < 2:
        return files
    cut = turn % len(files)
    return files[cut:] + files[:cut]
