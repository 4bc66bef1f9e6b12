"""The tailer's shutdown point, and its lag while it waits.

When the shipper is stopped, the drain reads every file exactly to the end it had when
the tailer first saw the stop (:class:`StopPoint`): lines written later are left for the
next run, and files created later are not opened. While the tailer waits on a full queue
it keeps the lag gauge true with one ``fstat`` per open file (:func:`refresh_sizes`).
The blocking parts run in threads.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from shipper.sources.files import OpenFile
from shipper.sources.fileset import FileSet
from shipper.sources.globs import PathMatcher

Ident = tuple[int, int]


@dataclass(slots=True)
class Ends:
    """Sizes when the stop was seen: of open files, and of matched files not yet open."""

    open: dict[Ident, int] = field(default_factory=dict)
    new: dict[str, tuple[Ident, int]] = field(default_factory=dict)


def ends_at_stop(matcher: PathMatcher | None, files: list[OpenFile]) -> Ends:
    """The end of every open file and (with a matcher) of every matched file (blocking)."""
    out = Ends()
    for f in files:
        try:
            out.open[f.ident] = os.fstat(f.fd).st_size
        except OSError:
            out.open[f.ident] = f.splitter.offset
    if matcher is None:
        return out
    for path in matcher.scan():
        try:
            st = os.stat(path)
        except OSError:
            continue
        ident = (st.st_dev, st.st_ino)
        if ident not in out.open:
            out.new[path] = (ident, st.st_size)
    return out


def refresh_sizes(files: list[OpenFile]) -> None:
    """Update each open file's known size (never lowered here: see ``content_replaced``)."""
    for f in files:
        if f.fd < 0:
            continue
        try:
            f.size = max(f.size, os.fstat(f.fd).st_size)
        except OSError:
            continue


class StopPoint:
    """The end of every file when the stop was first seen (drain limits)."""

    def __init__(self, files: FileSet, matcher: PathMatcher, drain: bool) -> None:
        self._files = files
        self._matcher = matcher
        self._drain = drain
        self._ends: Ends | None = None

    async def note(self) -> None:
        """Record the ends (once); open files get them as their read limit."""
        if self._ends is not None or not self._drain:
            return
        files = list(self._files)
        self._ends = await asyncio.to_thread(ends_at_stop, self._matcher, files)
        for f in files:
            f.limit = self._ends.open.get(f.ident, f.splitter.offset)

    async def open_the_rest(self) -> None:
        """Open the matched files that existed at the stop but were not open yet."""
        ends = self._ends
        if ends is None or not ends.new:
            return
        for f in await self._files.open(sorted(ends.new)):
            ident, size = ends.new[f.path]
            if f.ident != ident:
                self._files.remove(f)  # replaced after the stop
            else:
                f.limit = size
