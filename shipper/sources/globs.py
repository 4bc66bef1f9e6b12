"""Path discovery: globs with ``**``, excludes, and rotated names left alone.

Compiled once from the settings. :meth:`PathMatcher.scan` is blocking (directory walks)
and is called from a thread. Rotated names (``app.log.1``, ``0.log.20260102-103015``,
``app.log-20260102``, ``*.gz``) are skipped unless the glob itself asks for them, that
is its last segment names such a suffix (``*.gz``, ``*.log.*``).
"""

from __future__ import annotations

import glob
import os
import re

from shipper.sources.links import FollowSymlinks, LinkPolicy
from shipper.sources.walk import walk

_ROTATED = re.compile(
    r"(?:\.(?:gz|bz2|xz|zst|lz4|zip|z|tgz)|\.log[.-][^/]+|\.\d+|[.-]\d{8}(?:[-T_]?\d{4,6})?)$",
    re.IGNORECASE,
)


def translate(pattern: str) -> re.Pattern[str]:
    """Compile a glob (``**`` = any number of directories, ``*`` within one) to a regex."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1:end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def is_rotated_name(path: str) -> bool:
    """Does the file name look like a rotated or compressed log?"""
    return bool(_ROTATED.search(os.path.basename(path)))


def asks_for_rotated(pattern: str) -> bool:
    """Does the glob's last segment itself name a rotation suffix (``*.gz``, ``*.log.*``)?"""
    last = pattern.rstrip("/").rsplit("/", 1)[-1]
    literal = last.replace("*", "").replace("?", "")
    return ".log." in last or ".log-" in last or bool(_ROTATED.search(literal))


class PathMatcher:
    """The compiled ``paths``/``exclude`` globs, resolved under ``root``.

    ``links`` decides which symbolic links the walk follows (see
    :mod:`shipper.sources.links`); by default the roots are the literal directory
    prefixes of the globs (plus ``symlink_roots``).
    """

    def __init__(self, paths: tuple[str, ...], exclude: tuple[str, ...] = (), root: str = "/",
                 *, follow_symlinks: FollowSymlinks = "inside_roots",
                 symlink_roots: tuple[str, ...] = ()) -> None:
        self.patterns = tuple(_under_root(p, root) for p in paths)
        self._rotated_ok = tuple(asks_for_rotated(p) for p in self.patterns)
        self._regexes = tuple(translate(p) for p in self.patterns)
        self._exclude = tuple(translate(_under_root(p, root)) for p in exclude if "/" in p)
        self._exclude_names = tuple(translate(p) for p in exclude if "/" not in p)
        roots = [_literal_prefix(p) for p in self.patterns]
        roots += [_under_root(r, root) for r in symlink_roots]
        self.links = LinkPolicy(follow_symlinks, tuple(dict.fromkeys(roots)))

    def scan(self, refused: dict[str, str] | None = None) -> list[str]:
        """Every regular file matched now, sorted, without excluded or rotated names.

        Links the policy refuses are left out and noted in ``refused`` (path -> reason).
        """
        found: set[str] = set()
        refusals = refused if refused is not None else {}
        for pattern, rotated_ok in zip(self.patterns, self._rotated_ok, strict=True):
            found.update(path for path in walk(pattern, self.links, refusals)
                         if self._kept(path, rotated_ok))
        return sorted(found)

    def excluded(self, path: str) -> bool:
        if not (self._exclude or self._exclude_names):
            return False
        name = os.path.basename(path)
        return any(r.match(path) for r in self._exclude) or any(
            r.match(name) for r in self._exclude_names)

    def _kept(self, path: str, rotated_ok: bool) -> bool:
        """Is ``path``, which a glob (``rotated_ok``: one that asks for rotated names)
        matches, followed: not a rotated name unless the glob asks for one, and no exclude
        takes it? The one filter of :meth:`scan` and :meth:`would_follow`."""
        return (rotated_ok or not is_rotated_name(path)) and not self.excluded(path)

    def would_follow(self, path: str) -> bool:
        """Would a regular file at ``path`` be matched (a glob takes it, and it is
        :meth:`_kept` as :meth:`scan` keeps what it finds)?"""
        return any(regex.match(path) is not None and self._kept(path, ok)
                   for regex, ok in zip(self._regexes, self._rotated_ok, strict=True))

    def leaf_dirs(self) -> set[str]:
        """The existing directories of the globs whose wildcards are in the file name only
        (where a matching name may be made, then renamed, between two looks)."""
        return {os.path.dirname(p) or "." for p in self.patterns
                if _literal_prefix(p) == (os.path.dirname(p) or ".")
                and os.path.isdir(os.path.dirname(p) or ".")}

    def watchable(self) -> bool:
        """Whether watching :meth:`watch_dirs` sees every new match: each glob has its
        wildcards in its last part only, and its directory exists."""
        return all(_literal_prefix(p) == (os.path.dirname(p) or ".")
                   and os.path.isdir(_literal_prefix(p)) for p in self.patterns)

    def watch_dirs(self) -> set[str]:
        """The existing literal directory prefix of every glob (to watch for new files)."""
        dirs: set[str] = set()
        for pattern in self.patterns:
            base = _literal_prefix(pattern)
            if os.path.isdir(base):
                dirs.add(base)
        return dirs


def _under_root(pattern: str, root: str) -> str:
    if root in ("", "/") or not os.path.isabs(pattern):
        return pattern
    return os.path.join(root, pattern.lstrip("/"))


def _literal_prefix(pattern: str) -> str:
    parts = pattern.split("/")
    literal: list[str] = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        literal.append(part)
    prefix = "/".join(literal)
    return prefix or ("/" if pattern.startswith("/") else ".")
