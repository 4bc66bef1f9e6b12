"""One blocking look at the file system for the tailer (run in a thread).

It globs the configured paths, stats what it finds, and tells for each tracked file
whether it moved away from its path (rename rotation), was deleted (no links left) or
had its content replaced in place (truncation, copytruncate). It also lists rotated
siblings of followed files that were never seen (a generation created and rotated away
between two looks) with their first-line fingerprint: the tailer reads them unless they
prove to be byte copies of something it read (:mod:`shipper.sources.copies`).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from shipper.sources.copies import is_rotated_sibling
from shipper.sources.files import OpenFile
from shipper.sources.globs import PathMatcher, is_rotated_name
from shipper.sources.identity import read_fingerprint

Ident = tuple[int, int]
#: seconds a rotated sibling must be left unchanged before it is judged (a copy that is
#: still being written would look like another file)
SETTLE = 2.0


@dataclass(slots=True)
class Survey:
    #: identity -> path of every matched regular file (first path wins for hard links)
    paths: dict[Ident, str] = field(default_factory=dict)
    #: identity -> (moved, gone, replaced) of every tracked file
    tracked: dict[Ident, tuple[bool, bool, bool]] = field(default_factory=dict)
    #: directories to watch for new files
    dirs: set[str] = field(default_factory=set)
    #: some change may not raise an inotify event in ``dirs`` (a file with another name
    #: elsewhere, a glob whose new directories are not watched), or a rotated generation
    #: waits to be left unchanged for ``SETTLE`` seconds: poll as often as before
    blind: bool = False
    #: matched paths that could not be stat-ed
    failed: set[str] = field(default_factory=set)
    #: links the policy refused (path -> reason)
    refused: dict[str, str] = field(default_factory=dict)
    #: rotated generations of followed files never seen: identity -> (path, fingerprint)
    missed: dict[Ident, tuple[str, str]] = field(default_factory=dict)


def survey(matcher: PathMatcher, files: dict[Ident, OpenFile],
           seen: Mapping[Ident, str | None] | None = None, since: float = 0.0) -> Survey:
    """Glob, stat and check every tracked file (blocking).

    With ``seen`` (identities ever tracked, read, or known to be copies, each with the
    fingerprint read under it when known), rotated siblings (``<name>.<suffix>``, not
    compressed, not links) of followed files changed after ``since`` (wall clock) and not
    in ``seen`` are reported in ``missed``; so is one whose identity is in ``seen`` with
    another fingerprint (its inode reused by a new file after the one read was deleted).
    """
    out = Survey()
    for path in matcher.scan(out.refused):
        try:
            st = os.stat(path, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):  # the writes raise events in the target's dir
                st = os.stat(path)
                out.dirs.add(os.path.dirname(os.path.realpath(path)))
        except OSError:
            out.failed.add(path)
            continue
        out.paths.setdefault((st.st_dev, st.st_ino), path)
        out.dirs.add(os.path.dirname(path) or ".")
        out.blind |= st.st_nlink > 1
    out.dirs |= matcher.watch_dirs()
    out.blind |= not matcher.watchable()
    for ident, f in list(files.items()):
        if f.fd >= 0:
            out.tracked[ident] = _state_of(f)
    if seen is not None:
        names = {os.path.basename(p) for p in out.paths.values()}
        names |= {os.path.basename(f.path) for f in files.values()}
        dirs = {os.path.dirname(p) or "." for p in out.paths.values()} | matcher.leaf_dirs()
        known = {**seen, **dict.fromkeys(files)}  # once for the survey, not once a directory
        for directory in dirs:
            _find_missed(directory, names, matcher, known, since, out)
    return out


def _find_missed(directory: str, names: set[str], matcher: PathMatcher,
                 seen: Mapping[Ident, str | None], since: float, out: Survey) -> None:
    """Rotated siblings in ``directory`` of a name followed now, or that the globs would
    follow (made and renamed away between two looks: ``app.log`` written, then renamed
    to ``app.log.1`` before it was seen), changed since ``since`` and never seen."""
    try:
        with os.scandir(directory) as it:
            for item in it:
                base = _base_of(item.name, names) or _glob_base_of(item.name, directory, matcher)
                if base is None or not item.is_file(follow_symlinks=False):
                    continue
                st = item.stat(follow_symlinks=False)
                ident = (st.st_dev, st.st_ino)
                if ident in out.paths or st.st_ctime < since:
                    continue  # followed now, or too old
                read = seen.get(ident, "")  # "": never seen; None: seen, first line unknown
                fingerprint = _fingerprint(item.path, ident) if read else None
                if read is None or (read and fingerprint == read):
                    continue  # the file read under this identity
                if abs(time.time() - st.st_mtime) < SETTLE:
                    out.blind = True  # maybe still being written (copied): look again soon
                    continue
                fingerprint = fingerprint or _fingerprint(item.path, ident)
                if fingerprint is not None:  # never seen, or its inode reused by a new file
                    out.missed[ident] = (item.path, fingerprint)
    except OSError:
        return


def _base_of(name: str, names: set[str]) -> str | None:
    """The followed name ``name`` is a rotated sibling of (``None`` if none)."""
    for base in _bases(name):
        if base in names and is_rotated_sibling(name, base):
            return base
    return None


def _glob_base_of(name: str, directory: str, matcher: PathMatcher) -> str | None:
    """The name in ``directory`` that the globs would follow and ``name``, a rotated name,
    is a rotated sibling of (``None`` if none; a name that does not look rotated costs one
    regex search)."""
    if not is_rotated_name(name):
        return None
    for base in _bases(name):
        if is_rotated_sibling(name, base) and matcher.would_follow(os.path.join(directory, base)):
            return base
    return None


def _bases(name: str) -> Iterator[str]:
    """The prefixes of ``name`` ending before a ``.`` or a ``-`` (the shortest first)."""
    for sep in (".", "-"):
        cut = name.find(sep)
        while cut > 0:
            yield name[:cut]
            cut = name.find(sep, cut + 1)


def _fingerprint(path: str, ident: Ident) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != ident:
            return None
        return read_fingerprint(fd, force=True)
    except OSError:
        return None
    finally:
        os.close(fd)


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
