"""File identity: device/inode plus a fingerprint of the file's first bytes.

The fingerprint covers the first line, or the first :data:`FINGERPRINT_BYTES` bytes when
that line is longer, so it is stable as soon as it is known and changes when a reused
inode or a truncated file gets new content. ``file_key`` is ``"<dev>:<ino>:<fingerprint>"``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

FINGERPRINT_BYTES = 256


@dataclass(frozen=True, slots=True)
class FileIdentity:
    dev: int
    ino: int
    fingerprint: str

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}:{self.fingerprint}"


def parse_file_key(file_key: str) -> FileIdentity | None:
    """The identity encoded in a ``file_key`` (``None`` if it is not one of ours)."""
    parts = file_key.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return FileIdentity(int(parts[0]), int(parts[1]), parts[2])


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
