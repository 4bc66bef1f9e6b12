"""Small parts of :mod:`shipper.delivery`: the token of an envelope of several files'
batches, the sinks that take an encoded envelope, the records some route takes, and how a
change's future is settled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from shipper.acks import AckToken
from shipper.record import Record
from shipper.sinks.encoding import TakesEncoded
from shipper.sources.files import Chunk

#: the chunks queued behind one are processed and delivered with it up to this many lines
#: in all (small files: one batch for many of them, not one each)
GROUP_LINES = 1024


def group_token(members: list[AckToken], sinks: int) -> AckToken:
    """The token of one envelope holding several batches, each with its own token (in
    its file's order) that waits for this one (``pending`` 1; those with nothing to wait
    for are done already): when ``sinks`` sinks are done with the envelope, each of them
    is done, in order."""
    waiting = [token for token in members if not token.complete]

    def done(_group: AckToken) -> None:
        for token in waiting:
            token.done()

    return AckToken("", 0, pending=sinks, records=0, on_complete=done)


@dataclass(frozen=True, slots=True)
class Closed:
    """The tailer let a file go; queued behind the file's last chunk."""

    file_key: str


def queued_behind(chunk: Chunk, queue: asyncio.Queue[Chunk | Closed | None],
                  none: Closed) -> tuple[list[Chunk | str], Chunk | Closed | None]:
    """``chunk`` and the chunks and files let go (their keys) queued right behind it,
    ``GROUP_LINES`` lines at most in all, up to a file let go that comes back; and the
    item taken after them (``none`` when there is none)."""
    items: list[Chunk | str] = [chunk]
    lines, gone = len(chunk.lines), set()
    while lines < GROUP_LINES and not queue.empty():
        after = queue.get_nowait()
        if isinstance(after, Closed) and after is not none:
            items.append(after.file_key)
            gone.add(after.file_key)
        elif (not isinstance(after, Chunk) or lines + len(after.lines) > GROUP_LINES
              or after.file_key in gone):
            return items, after
        else:
            items.append(after)
            lines += len(after.lines)
    return items, none


def takers_of(sinks: list[Any]) -> list[TakesEncoded | None]:
    """Each sink, if it takes an encoded envelope (checked once: ``isinstance`` of a
    protocol costs ~20 us)."""
    return [sink if isinstance(sink, TakesEncoded) else None for sink in sinks]


def routed(records: list[Record], batches: list[list[Record]]) -> list[Record]:
    """The records at least one sink gets, in their order."""
    taken = {id(record) for batch in batches for record in batch}
    return [record for record in records if id(record) in taken]


def settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
