"""The directory walk behind path discovery: ``glob`` semantics, links by policy.

It matches what ``glob.iglob(pattern, recursive=True)`` matches (``**`` is any number of
directories including none; wildcards skip names starting with a dot unless the pattern
segment starts with one) but decides at every symbolic link, file or directory, whether
the :class:`~shipper.sources.links.LinkPolicy` lets it through; refused links are noted
with their reason. Each directory is entered at most once per pattern segment, so link
loops (``ln -s . loop``) cost one visit instead of an exponential walk. Blocking.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterator

from shipper.sources.links import LinkPolicy


def walk(pattern: str, links: LinkPolicy, refused: dict[str, str]) -> Iterator[str]:
    """Paths of the regular files ``pattern`` matches now (unsorted, maybe repeated)."""
    parts = pattern.split("/")
    split = 0
    while split < len(parts) - 1 and not glob.has_magic(parts[split]):
        split += 1
    start = "/".join(parts[:split]) or ("/" if pattern.startswith("/") else ".")
    if not os.path.isdir(start):
        return
    bare = start == "." and not pattern.startswith("./")  # glob yields "a.log", not "./a.log"
    walker = _Walk(links, refused)
    walker.enter(start, 0)  # a link back to the start is a loop too
    for path in walker.files(start, parts[split:], 0):
        yield path[2:] if bare and path.startswith("./") else path


class _Walk:
    def __init__(self, links: LinkPolicy, refused: dict[str, str]) -> None:
        self.links = links
        self.refused = refused
        self.entered: set[tuple[int, int, int]] = set()

    def files(self, directory: str, segments: list[str], i: int) -> Iterator[str]:
        segment, last = segments[i], i == len(segments) - 1
        if segment == "**":
            yield from (self._everything(directory) if last else
                        self._any_depth(directory, segments, i))
        elif not glob.has_magic(segment):
            path = os.path.join(directory, segment)
            if last:
                if self._is(path, file=True):
                    yield path
            elif self._is(path, file=False) and self.enter(path, i + 1):
                yield from self.files(path, segments, i + 1)
        else:
            yield from self._matching(directory, segments, i)

    def _any_depth(self, directory: str, segments: list[str], i: int) -> Iterator[str]:
        yield from self.files(directory, segments, i + 1)
        for entry in self._entries(directory, hidden=False):
            if self._entry_is(entry, file=False) and self.enter(entry.path, i):
                yield from self._any_depth(entry.path, segments, i)

    def _everything(self, directory: str) -> Iterator[str]:
        for entry in self._entries(directory, hidden=False):
            if self._entry_is(entry, file=True):
                yield entry.path
            elif self._entry_is(entry, file=False) and self.enter(entry.path, -1):
                yield from self._everything(entry.path)

    def _matching(self, directory: str, segments: list[str], i: int) -> Iterator[str]:
        segment, last = segments[i], i == len(segments) - 1
        name_re = re.compile(fnmatch.translate(segment))
        for entry in self._entries(directory, hidden=segment.startswith(".")):
            if not name_re.match(entry.name):
                continue
            if last:
                if self._entry_is(entry, file=True):
                    yield entry.path
            elif self._entry_is(entry, file=False) and self.enter(entry.path, i + 1):
                yield from self.files(entry.path, segments, i + 1)

    # -- one step ------------------------------------------------------------------------------

    def _entries(self, directory: str, *, hidden: bool) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(directory) as it:
                return [e for e in it if hidden or not e.name.startswith(".")]
        except OSError:
            return []

    def _entry_is(self, entry: os.DirEntry[str], *, file: bool) -> bool:
        try:
            if entry.is_symlink() and not self._allowed(entry.path):
                return False
            return entry.is_file() if file else entry.is_dir()
        except OSError:
            return False

    def _is(self, path: str, *, file: bool) -> bool:
        if os.path.islink(path) and not self._allowed(path):
            return False
        return os.path.isfile(path) if file else os.path.isdir(path)

    def _allowed(self, path: str) -> bool:
        reason = self.links.refusal(path)
        if reason is not None:
            self.refused[path] = reason
        return reason is None

    def enter(self, path: str, segment: int) -> bool:
        """First visit of this directory for this segment (link loops end here)."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        key = (st.st_dev, st.st_ino, segment)
        if key in self.entered:
            return False
        self.entered.add(key)
        return True

