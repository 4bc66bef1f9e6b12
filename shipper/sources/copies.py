"""Copies made by copytruncate: finding the rotated byte copy of a file's old content.

copytruncate copies ``app.log`` to a rotated name (``app.log.1``, ``app.log-20260102``)
and then truncates ``app.log`` in place. Lines written after the tailer's last read and
before the truncation exist only in the copy, so when a followed file is truncated the
tailer looks for a rotated sibling that starts with the same first line and holds, before
the offset the tailer had reached, exactly the bytes it read there
(:class:`~shipper.sources.identity.Witness`), and reads that copy from the offset on.

A sibling with the same first line that does not hold those bytes is not a copy (a new
generation with the same start-up banner): it is read from its start. All blocking.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from shipper.sources.files import OpenFile
from shipper.sources.identity import FINGERPRINT_BYTES, Witness, holds, read_fingerprint
from shipper.sources.links import LinkPolicy

Ident = tuple[int, int]
_COMPRESSED = re.compile(r"\.(?:gz|bz2|xz|zst|lz4|zip|z|tgz)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Generation:
    """What the tailer knew of one content generation of a file it read."""

    path: str
    key: str
    fingerprint: str
    #: the witness at the offset reading had reached
    witness: Witness
    #: witnesses of earlier chunk ends (thinned out), oldest first
    history: tuple[Witness, ...] = ()

    @classmethod
    def of(cls, f: OpenFile) -> Generation | None:
        if f.identity is None or f.witness is None:
            return None
        return cls(f.path, f.identity.key, f.identity.fingerprint, f.witness,
                   tuple(f.history))


@dataclass(slots=True)
class CopySearch:
    #: the copy holding lines past the generation's read offset, opened there
    copy: OpenFile | None = None
    #: copies of an earlier state of the generation (nothing unread in them)
    stale: list[Ident] = field(default_factory=list)


def is_rotated_sibling(name: str, base: str) -> bool:
    """``app.log.1`` / ``app.log-20260102`` of ``app.log``, not compressed."""
    return (name.startswith((base + ".", base + "-")) and len(name) > len(base) + 1
            and not _COMPRESSED.search(name))


def copy_candidates(path: str, exclude: set[Ident]) -> list[str]:
    """Rotated siblings of ``path``: regular files (not links), newest change first."""
    directory, base = os.path.split(path)
    found: list[tuple[int, str]] = []
    try:
        with os.scandir(directory or ".") as it:
            for item in it:
                if not is_rotated_sibling(item.name, base):
                    continue
                st = item.stat(follow_symlinks=False)
                if item.is_file(follow_symlinks=False) and (st.st_dev, st.st_ino) not in exclude:
                    found.append((st.st_ctime_ns, item.path))
    except OSError:
        return []
    return [p for _, p in sorted(found, reverse=True)]


def open_sibling(path: str, fingerprint: str, links: LinkPolicy,
                 max_line_bytes: int) -> OpenFile | None:
    """``path`` opened, if its first line has ``fingerprint`` (``None`` otherwise)."""
    try:
        f = OpenFile.open(path, max_line_bytes, links)
    except OSError:
        return None
    try:
        f.head = read_fingerprint(f.fd, force=True)
    except OSError:
        f.head = None
    if f.head != fingerprint:
        f.close()
        return None
    return f


def find_copy(gone: Generation, exclude: set[Ident], links: LinkPolicy,
              max_line_bytes: int) -> CopySearch:
    """The copy of a generation just truncated in place, opened where it has unread
    lines: at the offset reading had reached, or at 0 when not even the first line was
    read past (a first line alone proves nothing; reading it twice is the safe side)."""
    out = CopySearch()
    for path in copy_candidates(gone.path, exclude):
        f = open_sibling(path, gone.fingerprint, links, max_line_bytes)
        if f is None:
            continue
        verdict, offset = _compare(f, [gone])
        if verdict == "tail" and out.copy is None:
            f.seek(offset)
            out.copy = f
            continue
        if verdict == "stale":
            out.stale.append(f.ident)
        f.close()
    return out


def is_copy(path: str, fingerprint: str, generations: Iterable[Generation],
            links: LinkPolicy, max_line_bytes: int) -> bool:
    """Is ``path`` a proven byte copy of one of ``generations`` (same first line, and the
    same bytes before an offset past it)?"""
    f = open_sibling(path, fingerprint, links, max_line_bytes)
    if f is None:
        return False
    try:
        verdict, offset = _compare(f, list(generations))
        return verdict == "stale" or (verdict == "tail" and offset > 0)
    finally:
        f.close()


def _compare(f: OpenFile, generations: list[Generation]) -> tuple[str | None, int]:
    """``("tail", offset)``: holds what was read of a generation and more (read it from
    the read offset, or from 0 when nothing past the first line was read: a first line
    proves nothing); ``("stale", 0)``: holds exactly what was read, or an earlier state
    of it; ``(None, 0)``: not a proven copy of any."""
    try:
        first = first_line_end(f.fd)
        for gen in generations:
            w = gen.witness
            if f.size >= w.at and holds(f.fd, f.size, w, same_file=False):
                if f.size == w.at:
                    return "stale", 0
                return "tail", (w.at if w.at > first else 0)
            earlier = [e for e in gen.history if first < e.at <= f.size][-3:]
            if any(holds(f.fd, f.size, e, same_file=False) for e in reversed(earlier)):
                return "stale", 0
    except OSError:
        return None, 0
    return None, 0


def first_line_end(fd: int) -> int:
    """Offset just past the first line (or the fingerprint window): a witness at or
    before it says no more than the fingerprint does."""
    head = os.pread(fd, FINGERPRINT_BYTES, 0)
    newline = head.find(b"\n")
    return newline + 1 if newline >= 0 else len(head)
