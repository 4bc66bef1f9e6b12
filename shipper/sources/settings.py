"""The tailer's settings, taken from the top-level configuration once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    #: how long a rotated or deleted file stays open (read to EOF) after it was let go
    rotate_grace: float = 1.0
    #: wake on inotify events when the platform has them (the stat poll always runs)
    use_inotify: bool = True
    max_inotify_watches: int = 4096

    def __post_init__(self) -> None:
        if self.read_chunk_bytes < 1 or self.max_line_bytes < 1:
            raise ValueError("read_chunk_bytes and max_line_bytes must be positive")
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be positive")

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "TailSettings":
        """Build from :class:`shipper.config.Settings` (its top-level fields)."""
        values: dict[str, Any] = dict(
            paths=tuple(settings.paths), exclude=tuple(settings.exclude),
            once=settings.once, poll_interval=float(settings.poll_interval),
            read_chunk_bytes=int(settings.read_chunk_bytes),
            max_line_bytes=int(settings.max_line_bytes),
            drain_on_exit=settings.drain_on_exit,
        )
        values.update(overrides)
        return cls(**values)
