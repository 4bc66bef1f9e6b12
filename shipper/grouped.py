"""Helpers of :meth:`shipper.processor.Processor.feed_many`: the batches of many chunks
and files let go read as one group (their records processed as one batch), and each
batch's survivors given back to it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

from shipper.filters.raw_noise import Drops
from shipper.record import Record
from shipper.sources.files import Chunk
from shipper.stream import Batch


def read_group(items: list[Chunk | str], read: Callable[[Chunk], tuple[Batch, Drops]],
               closing: Callable[[str], Batch | None]) -> tuple[list[Batch], Drops]:
    """The batches of ``items`` in order (``read`` of each chunk, ``closing`` of each file
    key, leaving out ``None``), and the drops of the lines their reads skipped, placed
    among the records of all of them (one batch's records after another's)."""
    batches: list[Batch] = []
    drops: Drops = []
    count = 0
    for item in items:
        if isinstance(item, Chunk):
            batch, skipped = read(item)
            if skipped:
                drops += skipped if not count else [(at + count, p) for at, p in skipped]
        else:
            closed = closing(item)
            if closed is None:
                continue
            batch = closed
        batches.append(batch)
        count += len(batch.records)
    return batches, drops


def regroup(batches: list[Batch], records: list[Record], removed: set[int] | None) -> None:
    """Give each batch its records of ``records`` (the batches' records, one batch's after
    another's, processed as one batch) but those at the ``removed`` indices: the survivors
    are cut out once, by slices between the removed indices, and each batch takes its
    share of them (its count less the removed indices a binary search finds in it)."""
    gone = sorted(removed) if removed else []
    survivors = records
    if gone:
        survivors, cut = [], 0
        for i in gone:
            survivors += records[cut:i]
            cut = i + 1
        survivors += records[cut:]
    start = at = taken = 0
    for batch in batches:
        end = start + len(batch.records)
        past = bisect_left(gone, end, at)
        count = end - start - (past - at)
        batch.records = survivors[taken:taken + count]
        start, at, taken = end, past, taken + count
