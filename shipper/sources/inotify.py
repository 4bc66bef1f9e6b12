"""A minimal inotify binding through ctypes (Linux), used only to wake the tailer early.

No new dependency: ``inotify_init1``/``inotify_add_watch`` from libc. Events are drained
without blocking (``IN_NONBLOCK``); the tailer only needs to know *that* something
happened and whether it changed a directory's entries (create, move, delete) so it
re-scans. Where inotify is missing, :meth:`Inotify.create` returns ``None`` and the
stat poll does all the work.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import struct

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

WATCH_MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
              | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
STRUCTURE_MASK = (IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
                  | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW | IN_IGNORED)
_EVENT = struct.Struct("iIII")

log = logging.getLogger("shipper.sources")


class Inotify:
    """An inotify instance watching directories (bounded by ``max_watches``)."""

    def __init__(self, libc: ctypes.CDLL, fd: int, max_watches: int) -> None:
        self._libc = libc
        self._fd = fd
        self._max_watches = max_watches
        self._watches: dict[str, int] = {}
        self._paths: dict[int, str] = {}

    @classmethod
    def create(cls, max_watches: int = 4096) -> Inotify | None:
        """A new instance, or ``None`` when the platform has no inotify."""
        try:  # the C library the process runs with (no ``find_library``: it forks ldconfig)
            libc = ctypes.CDLL(None, use_errno=True)
            init = libc.inotify_init1
        except (OSError, AttributeError):
            return None
        fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.warning("inotify unavailable, polling only",
                        extra={"error": os.strerror(ctypes.get_errno())})
            return None
        return cls(libc, fd, max_watches)

    def fileno(self) -> int:
        return self._fd

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watches)

    def add_dir(self, path: str) -> bool:
        """Watch a directory (idempotent); ``False`` when over the cap or it failed."""
        if path in self._watches:
            return True
        if len(self._watches) >= self._max_watches or self._fd < 0:
            return False
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), WATCH_MASK)
        if wd < 0:
            return False
        self._watches[path] = wd
        self._paths[wd] = path
        return True

    def read_events(self) -> bool:
        """Drain pending events without blocking; ``True`` if directory entries changed."""
        structural = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return structural
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            if not data:
                return structural
            structural |= self._parse(data)

    def _parse(self, data: bytes) -> bool:
        structural = False
        pos = 0
        while pos + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
            pos += _EVENT.size + length
            if mask & STRUCTURE_MASK:
                structural = True
            if mask & IN_IGNORED:
                self._forget(wd)
        return structural

    def _forget(self, wd: int) -> None:
        path = self._paths.pop(wd, None)
        if path is not None:
            self._watches.pop(path, None)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._watches.clear()
            self._paths.clear()
