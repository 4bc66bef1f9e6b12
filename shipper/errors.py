"""The shipper's small, typed error tree.

Everything the shipper raises on purpose derives from :class:`ShipperError`, so callers
can tell an expected failure (bad config, a sink that said no) from a bug.
"""

from __future__ import annotations


class ShipperError(Exception):
    """Base of every error the shipper raises on purpose."""


class ConfigError(ShipperError):
    """Configuration is invalid; the message names the key and the problem (exit 2)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class SinkError(ShipperError):
    """A sink failed to deliver a batch."""

    def __init__(self, message: str, *, sink: str = "", status: int | None = None) -> None:
        self.sink = sink
        self.status = status
        super().__init__(message)


class RetryableSinkError(SinkError):
    """Delivery may succeed later (408, 429, 5xx, connection errors)."""

    def __init__(
        self, message: str, *, sink: str = "", status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, sink=sink, status=status)


class FatalSinkError(SinkError):
    """Delivery will never succeed for this batch (other 4xx); it goes to the dead letter."""


class PayloadTooLargeError(SinkError):
    """The receiver rejected the batch as too large (413); split and retry the halves."""


class BufferError_(ShipperError):
    """The disk buffer failed (full filesystem, corrupt segment)."""


class BufferFullError(BufferError_):
    """The buffer reached its size cap."""


class SinkStoppedError(SinkError):
    """A sink's worker task ended unexpectedly; the sink accepts no more records.

    ``put`` raises it (and wakes any ``put`` waiting for room) so the pipeline, which
    watches its own tasks, sees the failure instead of waiting forever.
    """


class BatchStopped(ShipperError):
    """A batch stage raised on ``records[index]`` (``error``, also the ``__cause__``): the
    records before it are done and those after it untouched, so a per-record fallback
    resumes at ``index`` (used by a stage that is not safe to re-run, enrichment)."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"stopped at record {index}: {type(error).__name__}")
        self.index = index
        self.error = error
