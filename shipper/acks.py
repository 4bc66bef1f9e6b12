"""Delivery acknowledgements: how checkpoints learn that records are safe.

The pipeline wraps the records that came from one read chunk of one file in an
envelope with an :class:`AckToken`. Each sink calls :meth:`AckToken.done` once every
record of the envelope is delivered (or safely in its disk buffer); when all sinks have,
the token is complete and the file's checkpoint may advance to ``end_offset`` — but only
over a contiguous prefix of complete tokens (see :class:`FileAcks`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class AckToken:
    """Completion of one envelope across ``pending`` sinks."""

    file_key: str
    end_offset: int
    pending: int
    records: int = 0
    on_complete: Callable[[AckToken], None] | None = None

    def done(self) -> None:
        """One sink finished this envelope (delivered or durably buffered)."""
        self.pending -= 1
        if self.pending == 0 and self.on_complete is not None:
            self.on_complete(self)

    @property
    def complete(self) -> bool:
        return self.pending <= 0


@dataclass(slots=True)
class FileAcks:
    """Ordered tokens of one file; :meth:`advance` returns the safe offset."""

    safe_offset: int = 0
    tokens: deque[AckToken] = field(default_factory=deque)

    def add(self, token: AckToken) -> None:
        self.tokens.append(token)

    def advance(self) -> int:
        """Pop the complete prefix and return the offset everything before is safe at."""
        while self.tokens and self.tokens[0].complete:
            self.safe_offset = self.tokens.popleft().end_offset
        return self.safe_offset


class Shares:
    """One sink's part of the envelopes it was given: :meth:`share` wraps the pipeline's
    token in a token of this sink's own, so the envelopes the sink has not finished are
    known (:attr:`open_records`) and can be :meth:`release`\\ d when the sink is retired by a
    reload (its share then no longer holds the checkpoint back)."""

    def __init__(self) -> None:
        self._open: dict[AckToken, AckToken] = {}

    def share(self, token: AckToken, records: int) -> AckToken:
        """The token to hand this sink with ``records`` of ``token``'s envelope."""
        mine = AckToken(token.file_key, token.end_offset, pending=1, records=records,
                        on_complete=self._done)
        self._open[mine] = token
        return mine

    def _done(self, mine: AckToken) -> None:
        parent = self._open.pop(mine, None)
        if parent is not None:
            parent.done()

    @property
    def open_records(self) -> int:
        return sum(mine.records for mine in self._open)

    def release(self) -> int:
        """Finish every open share as if the sink had; the records they held."""
        held = self.open_records
        for mine in list(self._open):
            self._done(mine)
        return held
