"""Which symbolic links the tailer follows, and opening files without being tricked.

The log directory is usually writable by the application container, so a link in it
(``app.log -> /var/run/secrets/...``, or a directory link that ``**`` walks through)
could make the shipper read any file it can read. :class:`LinkPolicy` decides:

- ``inside_roots`` (default): a link is followed only when its target resolves inside a
  root: the literal directory prefix of a ``paths`` glob, or a ``symlink_roots`` entry;
- ``never``: no link below a root is followed;
- ``always``: every link is followed (the pre-0.x behaviour; for trusted directories).

:meth:`LinkPolicy.open` resolves the path, checks the resolved path, then opens it one
component at a time from the root with ``O_NOFOLLOW`` (``openat``), so a link swapped in
between the check and the open fails the open instead of being followed. A plain path
below a root is tried first as it is, with ``O_NOFOLLOW`` from the root: with no link on
the way it is the file the check would allow, found without ``realpath``. Every open is
``O_NONBLOCK`` (a FIFO put in place of a log never blocks the reader thread) and only
regular files are kept. All of it is blocking and runs in the tailer's threads.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Literal

FollowSymlinks = Literal["inside_roots", "always", "never"]

OUTSIDE_ROOTS = "symlink-outside-roots"
NOT_FOLLOWED = "symlink-not-followed"

_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_DIR_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY | os.O_NOFOLLOW


class RefusedPath(OSError):
    """A matched path the policy does not let the tailer read (``reason`` says why)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EPERM, f"not read: {reason}", path)
        self.reason = reason


class LinkPolicy:
    """The ``follow_symlinks`` setting with its roots (lexical paths, resolved on use)."""

    def __init__(self, mode: FollowSymlinks = "inside_roots", roots: tuple[str, ...] = ()) -> None:
        self.mode = mode
        self.roots = tuple(os.path.normpath(r) for r in roots)
        self._pinned: list[str] | None = None

    def resolved_roots(self) -> list[str]:
        """The roots with their own links resolved (trusted: they come from the config)."""
        if self._pinned is not None:
            return self._pinned
        return [os.path.realpath(r) for r in self.roots]

    def pinned(self) -> LinkPolicy:
        """This policy with its roots resolved now, once, for a batch of opens (a root is
        otherwise resolved again on every use: an ``lstat`` a component each time)."""
        policy = LinkPolicy(self.mode)
        policy.roots = self.roots
        policy._pinned = self.resolved_roots()
        return policy

    def refusal(self, path: str) -> str | None:
        """Why ``path`` (a link, or a path through one) must not be read; ``None`` if ok."""
        if self.mode == "always":
            return None
        real = os.path.realpath(path)
        if self._beneath(path, real) is not None:
            return None
        return NOT_FOLLOWED if self.mode == "never" else OUTSIDE_ROOTS

    def open(self, path: str) -> int:
        """A descriptor of the regular file at ``path`` (``RefusedPath``, ``OSError``)."""
        return self.open_stat(path)[0]

    def open_stat(self, path: str) -> tuple[int, os.stat_result]:
        """:meth:`open`, with the file's ``fstat`` (:class:`OpenFile` needs it).

        A plain absolute path below a root is first opened from that root as it is, no
        link followed: that succeeds only when no link lies below the root, and is then
        the file the check below allows (``realpath`` costs an ``lstat`` a component). A
        link on the way (``ELOOP``, ``ENOTDIR``) goes through the check as before."""
        if self.mode == "always":
            return _regular(os.open(path, _FLAGS), path)
        fd = self._open_unlinked(path, self.resolved_roots())
        if fd is None:
            # the rare path: the roots as they are now, not as pinned for the batch (a
            # root link repointed since would refuse an allowed link inside it)
            real = os.path.realpath(path)
            anchor = self._beneath(path, real, [os.path.realpath(r) for r in self.roots])
            if anchor is None:
                raise RefusedPath(path, NOT_FOLLOWED if self.mode == "never" else OUTSIDE_ROOTS)
            fd = open_beneath(anchor, os.path.relpath(real, anchor))
        return _regular(fd, path)

    def _open_unlinked(self, path: str, resolved: list[str]) -> int | None:
        """``path`` opened below the first root it lies under lexically, without following
        any link; ``None`` when it is not a plain absolute path below a root, or when a
        link lies on the way (the caller then resolves and checks it)."""
        if path[:1] != "/" or os.path.normpath(path) != path:
            return None  # relative, or ``..``/``.``/``//`` in it: lexical is not real
        for lexical, root in zip(self.roots, resolved, strict=True):
            rest = _below(path, lexical)
            if rest is None or rest == ".":
                continue
            try:
                return open_beneath(root, rest)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    return None
                raise
        return None

    def _beneath(self, path: str, real: str, roots: list[str] | None = None) -> str | None:
        """The resolved root ``real`` lies under, as the policy allows (``None``: refused)."""
        norm = os.path.normpath(path)
        resolved_roots = self.resolved_roots() if roots is None else roots
        for lexical, resolved in zip(self.roots, resolved_roots, strict=True):
            if self.mode == "never":
                rest = _below(norm, lexical)
                if rest is not None and real == os.path.normpath(os.path.join(resolved, rest)):
                    return resolved
            elif _below(real, resolved) is not None:
                return resolved
        return None


def _below(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` when it lies under it (``None`` otherwise)."""
    if root == "/":
        return path.lstrip("/") if path.startswith("/") else None
    if path == root:
        return "."
    if path.startswith(root + os.sep):
        return path[len(root) + 1:]
    return None


def open_beneath(root: str, relative: str) -> int:
    """Open ``root/relative`` without following any link below ``root`` (blocking).

    A file right in ``root`` (the usual case) is opened by its path with ``O_NOFOLLOW``:
    ``root`` is resolved by that open just as by opening ``root`` itself, and the one
    component below it is not followed (two system calls fewer a file)."""
    if os.sep not in relative and relative not in ("", ".", ".."):
        return os.open(root.rstrip(os.sep) + os.sep + relative, _FLAGS | os.O_NOFOLLOW)
    parts = [p for p in relative.split(os.sep) if p not in ("", ".")]
    if not parts or ".." in parts:
        raise OSError(errno.EINVAL, "not a file below its root", os.path.join(root, relative))
    dir_fd = os.open(root, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        return os.open(parts[-1], _FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _regular(fd: int, path: str) -> tuple[int, os.stat_result]:
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd, st
