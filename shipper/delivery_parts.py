"""Small parts of :mod:`shipper.delivery`: the chunks and closes taken as one group, the
closes that ride with their file's last chunk, the token of an envelope of several files'
batches, the encoding shared by several takers, the records some route takes, and how a
change's future is settled."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shipper.acks import AckToken
from shipper.record import Record
from shipper.sinks.encoding import Encoded, TakesEncoded, encode_records
from shipper.sources.files import Chunk

#: the chunks queued behind one are processed and delivered with it up to this many lines
#: in all (small files: one batch for many of them, not one each); two usual chunks of a
#: busy file (~570 lines each) stay apart: the pre-scan costs more a line in much larger
#: batches. 768, not 512: one read of small files (files opened and read in one thread hop
#: until ``read_chunk_bytes`` is used, e.g. three of 200 lines) is one group, where 512
#: cut it in two (1,000 files of 200 lines: 667 groups -> 334, ~2% less CPU)
GROUP_LINES = 768


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


class Riders:
    """Files let go right behind their last chunk while it is still queued: the close
    rides with that chunk (it takes no place in the bounded queue, so a burst of small
    files fills the queue with chunks only) and is taken right after it."""

    def __init__(self) -> None:
        self._last: Chunk | None = None  # the chunk queued last, until it is taken
        self._after: dict[int, str] = {}  # id of a chunk -> the key of its file let go

    def queued(self, chunk: Chunk) -> None:
        self._last = chunk

    def ride(self, file_key: str) -> bool:
        """``True`` when the close of ``file_key`` rides with its chunk queued last."""
        last, self._last = self._last, None
        if last is None or last.file_key != file_key:
            return False
        self._after[id(last)] = file_key
        return True

    def taken(self, chunk: Chunk) -> str | None:
        """``chunk`` is processed now: the key of its file if it was let go with it."""
        if chunk is self._last:
            self._last = None
        return self._after.pop(id(chunk), None) if self._after else None


def queued_behind(chunk: Chunk, queue: asyncio.Queue[Chunk | Closed | None], none: Closed,
                  riders: Riders) -> tuple[list[Chunk | str], Chunk | Closed | None]:
    """``chunk`` and the chunks and files let go (their keys) queued right behind it,
    ``GROUP_LINES`` lines at most in all, up to a file let go that comes back; and the
    item taken after them (``none`` when there is none)."""
    items: list[Chunk | str] = []
    lines, gone = 0, set()
    after: Chunk | Closed | None = chunk
    while True:
        if isinstance(after, Closed) and after is not none:
            items.append(after.file_key)
            gone.add(after.file_key)
        elif isinstance(after, Chunk) and (not items or (
                lines + len(after.lines) <= GROUP_LINES and after.file_key not in gone)):
            items.append(after)
            lines += len(after.lines)
            if (key := riders.taken(after)) is not None:
                items.append(key)
                gone.add(key)
        else:
            return items, after
        if lines >= GROUP_LINES or queue.empty():
            return items, none
        after = queue.get_nowait()


def shared_encoding(kept: list[Record], parts: list[list[Record]],
                    observers: int) -> Encoded | None:
    """``kept`` encoded once when more than one takes exactly these records (the parts
    of the sinks that take an encoded envelope, and ``observers`` that keep it; a sink's
    part is all of them when it is as long: it is in their order); else ``None``."""
    if sum(1 for part in parts if len(part) == len(kept)) + observers < 2:
        return None
    return encode_records(kept, levels=False)


def unqueue(queued: Counter[str], items: list[Chunk | str]) -> None:
    """The chunks among ``items`` are parsed: no longer counted as queued for their file."""
    for done in items:
        if isinstance(done, str):
            continue
        if queued[done.file_key] <= 1:
            del queued[done.file_key]
        else:
            queued[done.file_key] -= 1


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
