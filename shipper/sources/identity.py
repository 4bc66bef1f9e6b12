"""File identity: device/inode, a fingerprint of the first bytes, and content witnesses.

The fingerprint covers the first line, or the first :data:`FINGERPRINT_BYTES` bytes when
that line is longer, so it is stable as soon as it is known. It names a file in its key
(``"<dev>:<ino>:<fingerprint>"``, with ``":<n>"`` appended for the n-th other content
generation seen under the same device/inode and first line in one run), but it never
decides alone where reading resumes: a first line is often a start-up banner that every
generation of a log shares.

A :class:`Witness` does: the hash of the :data:`CHECK_BYTES` bytes just before an offset
(fewer at the start of a file), taken from the bytes the tailer actually read, plus the
file size seen then. A file resumes at a checkpoint only if it still holds those exact
bytes before that offset and is not shorter than it was (files only grow; a shorter one
was truncated and rewritten). The same witness tells a byte copy of a file (copytruncate)
from another generation that merely starts with the same line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

FINGERPRINT_BYTES = 256
#: bytes before an offset that a witness covers
CHECK_BYTES = 512


@dataclass(frozen=True, slots=True)
class FileIdentity:
    dev: int
    ino: int
    fingerprint: str
    #: content generation under the same dev/inode and first line (0 for the first one)
    gen: int = 0
    #: ``dev:ino:fingerprint[:gen]``, made once (a file's key is asked for on every chunk)
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = f"{self.dev}:{self.ino}:{self.fingerprint}"
        object.__setattr__(self, "key", f"{base}:{self.gen}" if self.gen else base)

    @property
    def ident(self) -> tuple[int, int]:
        return (self.dev, self.ino)


@dataclass(frozen=True, slots=True)
class Witness:
    """What a file held just before offset ``at`` when it was read (see module doc)."""

    at: int
    check: str
    #: the file's size when it was read (at least ``at``)
    size: int


def parse_file_key(file_key: str) -> FileIdentity | None:
    """The identity encoded in a ``file_key`` (``None`` if it is not one of ours)."""
    parts = file_key.split(":")
    if len(parts) not in (3, 4) or not all(p.isdigit() for p in parts[:2]) or not parts[2]:
        return None
    if len(parts) == 4 and not (parts[3].isdigit() and parts[3] != "0"):
        return None
    gen = int(parts[3]) if len(parts) == 4 else 0
    return FileIdentity(int(parts[0]), int(parts[1]), parts[2], gen)


def fingerprint_of(head: bytes, *, force: bool = False) -> str | None:
    """Fingerprint of a file's first bytes, or ``None`` while it is not yet stable.

    ``head`` is up to :data:`FINGERPRINT_BYTES` bytes from offset 0. It is stable once it
    holds a newline or is full; ``force`` takes whatever there is (final reads).
    """
    head = head[:FINGERPRINT_BYTES]
    newline = head.find(b"\n")
    if newline >= 0:
        head = head[: newline + 1]
    elif len(head) < FINGERPRINT_BYTES and not force:
        return None
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def read_fingerprint(fd: int, *, force: bool = False) -> str | None:
    """Read the head of an open file and fingerprint it (blocking)."""
    return fingerprint_of(os.pread(fd, FINGERPRINT_BYTES, 0), force=force)


def check_of(before: bytes) -> str:
    """The check of the bytes just before an offset (at most :data:`CHECK_BYTES`)."""
    return hashlib.blake2b(before[-CHECK_BYTES:], digest_size=16).hexdigest()


def read_check(fd: int, at: int) -> str | None:
    """The check of the bytes before ``at`` in an open file (``None``: file too short)."""
    start = max(0, at - CHECK_BYTES)
    data = os.pread(fd, at - start, start)
    return check_of(data) if len(data) == at - start else None


def holds(fd: int, size: int, witness: Witness, *, same_file: bool = True) -> bool:
    """Does the open file (now ``size`` bytes) hold what ``witness`` saw? (blocking)

    For the file the witness was taken from (``same_file``) it must also not have shrunk;
    a copy of it only needs the bytes up to ``witness.at``.
    """
    least = witness.size if same_file else witness.at
    return size >= least and read_check(fd, witness.at) == witness.check
