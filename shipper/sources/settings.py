"""The tailer's settings: what it reads and how, declared once with their defaults.

:class:`TailSettings` holds the top-level keys users have always written (``paths``,
``exclude``, ``poll_interval``, ``read_chunk_bytes``, ``max_line_bytes``, the symbolic
link options, ``once``, ``drain_on_exit``) and the ``sources:`` section
(:class:`SourcesSettings`) with the knobs that were hard-coded before. The top-level
:class:`~shipper.config.Settings` inherits it, so the tailer is given the validated
configuration itself: there is no second copy with defaults of its own.
"""

from __future__ import annotations

import fnmatch

from pydantic import Field, field_validator

from shipper.sources.links import FollowSymlinks
from shipper.units import Duration, Model, Size, compile_regex

DEFAULT_PATHS = ("/var/log/app/**/*.log",)


class SourcesSettings(Model):
    """``sources:``: how files are followed through rotation and when the tailer wakes."""

    #: how long a rotated or deleted file stays open (read to EOF) after it was let go
    rotate_grace: Duration = 1.0
    #: wake on inotify events when the platform has them (the stat poll always runs)
    inotify: bool = True
    #: the stat poll's interval while inotify watches every directory that matters (see
    #: :meth:`~shipper.sources.waking.Waker.covers`): then events wake the tailer for new
    #: lines, new files, rotation and truncation, and the poll only catches what inotify
    #: cannot see (a write through a hard link elsewhere, a file system whose writes come
    #: from another host). ``poll_interval`` when it is smaller; ``poll_interval`` is used
    #: whenever inotify does not cover (off, over the watch cap, a glob with a wildcard
    #: directory, a file with more than one name, a rotated file being read to its end)
    inotify_poll_interval: Duration = Field(2.0, gt=0)
    #: directories watched at most (one watch each); beyond, those wait for the poll
    max_inotify_watches: int = Field(4096, ge=1)
    #: lines per emitted chunk at most (the unit of acknowledgement: what a SIGKILL may
    #: re-send beyond the saved checkpoint, like one stdout batch)
    chunk_max_lines: int = Field(512, ge=1)


class TailSettings(Model):
    """What the tailer reads and how (sizes in bytes, durations in seconds)."""

    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_PATHS))
    exclude: list[str] = []
    once: bool = False
    drain_on_exit: bool = True
    #: symbolic links among the matched files and directories: followed only when they
    #: resolve inside a root (``inside_roots``), ``always``, or ``never``
    follow_symlinks: FollowSymlinks = "inside_roots"
    #: directories links may point into, besides the literal prefixes of ``paths``
    #: (``/var/log/pods`` for ``/var/log/containers/*.log``)
    symlink_roots: list[str] = []
    poll_interval: Duration = Field(0.25, gt=0)
    #: bytes read per round over all files; peak RSS grows with it (1M lines, server on:
    #: 55 MiB at 128 KiB, 71-79 at 256 KiB, 110 at 1 MiB; CPU the same within noise).
    #: A read's bytes object stays under glibc's mmap threshold (1 MiB,
    #: :mod:`shipper.sinks.allocator`) so its memory is reused; a mapped read is faulted
    #: in page by page (~2-2.8 us a 4 KiB page here) and unmapped each time. 124 KiB:
    #: chosen when that threshold was 128 KiB (200k lines: ~31k page faults -> ~24k).
    read_chunk_bytes: Size = Field(126_976, ge=1)
    max_line_bytes: Size = Field(262_144, ge=1)
    sources: SourcesSettings = SourcesSettings()

    @field_validator("paths", "exclude")
    @classmethod
    def _valid_globs(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _check_glob(pattern)
        return value

    @field_validator("symlink_roots")
    @classmethod
    def _absolute_roots(cls, value: list[str]) -> list[str]:
        for root in value:
            if not root.startswith("/") or "\x00" in root or _glob_magic(root):
                raise ValueError(f"symlink root must be an absolute directory, not a glob: "
                                 f"{root!r}")
        return value


def _glob_magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def _check_glob(pattern: str) -> None:
    if not pattern or "\x00" in pattern:
        raise ValueError(f"invalid glob {pattern!r}")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"invalid glob {pattern!r}: unbalanced brackets")
    try:
        compile_regex(fnmatch.translate(pattern.replace("**", "*")))
    except ValueError as exc:
        raise ValueError(f"invalid glob {pattern!r}: {exc}") from None
