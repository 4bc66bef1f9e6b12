"""The tailer's settings, taken from the top-level configuration once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipper.sources.links import FollowSymlinks


@dataclass(frozen=True, slots=True)
class TailSettings:
    """What the tailer reads and how (sizes in bytes, durations in seconds)."""

    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    once: bool = False
    poll_interval: float = 0.25
    read_chunk_bytes: int = 1_048_576
    max_line_bytes: int = 262_144
    drain_on_exit: bool = True
    #: lines per emitted chunk at most (the unit of acknowledgement: what a SIGKILL may
    #: re-send beyond the saved checkpoint, like one stdout batch)
    chunk_max_lines: int = 512
    #: how long a rotated or deleted file stays open (read to EOF) after it was let go
    rotate_grace: float = 1.0
    #: wake on inotify events when the platform has them (the stat poll always runs)
    use_inotify: bool = True
    max_inotify_watches: int = 4096
    #: which symbolic links are followed (see :mod:`shipper.sources.links`)
    follow_symlinks: FollowSymlinks = "inside_roots"
    #: directories links may point into besides the literal prefixes of ``paths``
    symlink_roots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.read_chunk_bytes < 1 or self.max_line_bytes < 1 or self.chunk_max_lines < 1:
            raise ValueError("read_chunk_bytes and max_line_bytes must be positive")
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if self.follow_symlinks not in ("inside_roots", "always", "never"):
            raise ValueError("follow_symlinks must be inside_roots, always or never")

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> TailSettings:
        """Build from :class:`shipper.config.Settings` (its top-level fields)."""
        values: dict[str, Any] = {
            "paths": tuple(settings.paths), "exclude": tuple(settings.exclude),
            "once": settings.once, "poll_interval": float(settings.poll_interval),
            "read_chunk_bytes": int(settings.read_chunk_bytes),
            "max_line_bytes": int(settings.max_line_bytes),
            "drain_on_exit": settings.drain_on_exit,
            "follow_symlinks": settings.follow_symlinks,
            "symlink_roots": tuple(settings.symlink_roots),
        }
        values.update(overrides)
        return cls(**values)
