"""One blocking look at the file system for the tailer (run in a thread).

It globs the configured paths, stats what it finds, and tells for each tracked file
whether it moved away from its path (rename rotation), was deleted (no links left) or
had its content replaced in place (truncation, copytruncate).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from shipper.sources.files import OpenFile
from shipper.sources.globs import PathMatcher
from shipper.sources.identity import read_fingerprint

Ident = tuple[int, int]
_COMPRESSED = re.compile(r"\.(?:gz|bz2|xz|zst|lz4|zip|z|tgz)$", re.IGNORECASE)


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
    #: rotated generations of followed files that were never seen (created and rotated
    #: away between two looks), by identity
    missed: dict[Ident, str] = field(default_factory=dict)


def survey(matcher: PathMatcher, files: dict[Ident, OpenFile],
           seen: "set[Ident] | None" = None, since: float = 0.0,
           fingerprints: "set[str] | None" = None) -> Survey:
    """Glob, stat and check every tracked file (blocking).

    With ``seen`` (identities ever tracked), rotated siblings (``<name>.<suffix>``, not
    compressed) of followed files that were renamed after ``since`` (wall clock) and never
    seen are reported in ``missed``: a generation written and rotated between two looks.
    A sibling whose first bytes match a file already read (a copytruncate copy) is not.
    """
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
    if seen is not None:
        names = {os.path.basename(p) for p in out.paths.values()}
        names |= {os.path.basename(f.path) for f in files.values()}
        for directory in {os.path.dirname(p) or "." for p in out.paths.values()}:
            _find_missed(directory, names, seen, since, out, fingerprints or set())
    return out


def _find_missed(directory: str, names: set[str], seen: set[Ident], since: float,
                 out: Survey, fingerprints: set[str]) -> None:
    try:
        with os.scandir(directory) as it:
            for item in it:
                base, dot, _suffix = item.name.rpartition(".")
                if not dot or base not in names or _COMPRESSED.search(item.name):
                    continue
                st = item.stat(follow_symlinks=False)
                ident = (st.st_dev, st.st_ino)
                if (ident not in seen and ident not in out.paths and st.st_ctime >= since
                        and not _copy_of_seen(item.path, fingerprints)):
                    out.missed[ident] = item.path
    except OSError:
        return


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


def _copy_of_seen(path: str, fingerprints: set[str]) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        return read_fingerprint(fd, force=True) in fingerprints
    finally:
        os.close(fd)
