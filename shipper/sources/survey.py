"""One blocking look at the file system for the tailer (run in a thread).

It globs the configured paths, stats what it finds, and tells for each tracked file
whether it moved away from its path (rename rotation), was deleted (no links left) or
had its content replaced in place (truncation, copytruncate).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from shipper.sources.files import OpenFile
from shipper.sources.globs import PathMatcher

Ident = tuple[int, int]


@dataclass(slots=True)
class Survey:
    #: identity -> path of every matched regular file (first path wins for hard links)
    paths: dict[Ident, str] = field(default_factory=dict)
    #: identity -> (moved, gone, replaced) of every tracked file
    tracked: dict[Ident, tuple[bool, bool, bool]] = field(default_factory=dict)
    #: directories to watch for new files
    dirs: set[str] = field(default_factory=set)
    #: matched paths that could not be stat-ed
    failed: set[str] = field(default_factory=set)


def survey(matcher: PathMatcher, files: dict[Ident, OpenFile]) -> Survey:
    """Glob, stat and check every tracked file (blocking)."""
    out = Survey()
    for path in matcher.scan():
        try:
            st = os.stat(path)
        except OSError:
            out.failed.add(path)
            continue
        out.paths.setdefault((st.st_dev, st.st_ino), path)
        out.dirs.add(os.path.dirname(path) or ".")
    out.dirs |= matcher.watch_dirs()
    for ident, f in list(files.items()):
        if f.fd >= 0:
            out.tracked[ident] = _state_of(f)
    return out


def _state_of(f: OpenFile) -> tuple[bool, bool, bool]:
    try:
        st = os.stat(f.path)
        moved = (st.st_dev, st.st_ino) != f.ident
    except OSError:
        moved = True
    try:
        gone = os.fstat(f.fd).st_nlink == 0
        replaced = f.content_replaced()
    except OSError:
        return moved, True, False
    return moved, gone, replaced
