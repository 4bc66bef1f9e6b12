"""The pure-Python twins of the Loki sink's column-wise kernels in ``_loki_rows.pxi``
(``loki_read_cols``, ``loki_cols_bytes``, ``loki_sort_rows``, ``loki_push_rows``), with the
same API and results as the compiled ones.

Column-wise: an envelope's structured metadata is one list per metadata name (the value
of each record, ``None`` where it has none) rather than a list of ``(name, value)`` pairs
per record, and a push is written from rows of a batch's columns (timestamps, metadata,
the buffered records as lines) rather than from one entry object per record.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from operator import itemgetter, le, lt
from typing import Any, cast

from shipper.kernels.pure_loki import PushWriter, ReadStep, loki_read, push_bytes

#: a run of a batch's rows in one envelope's buffer: (its NDJSON, each record's end offset
#: there, the first record's start offset, the batch row of the first record)
RowSpan = tuple[bytes, "array[int]", int, int]


def loki_read_cols(records: Sequence[Any], steps: Sequence[ReadStep] | None,
                   getters: Sequence[Callable[[Any], Any]], split: int,
                   names: Sequence[str]) -> tuple[list[tuple[Any, ...]], list[list[str | None]]]:
    """``loki_read`` of ``records``: each record's label values (the same tuples), and
    for each of ``names`` a column of each record's value as sent (its text), ``None``
    where ``loki_read`` leaves the pair out (``None`` or ``""``)."""
    out = loki_read(records, steps, getters, split, range(len(names)))  # type: ignore[arg-type]
    cols: list[list[str | None]] = [[None] * len(out) for _ in names]
    for i, (_, meta) in enumerate(out):
        for j, value in cast("list[tuple[int, str]]", meta):  # names were indices
            cols[j][i] = value
    return list(map(itemgetter(0), out)), cols


def loki_cols_bytes(cols: Sequence[Sequence[str | None]], count: int, record_bytes: int,
                    pair_bytes: int) -> int:
    """What side data of ``count`` records with these metadata columns is charged (as
    ``loki_side_bytes`` of the same pairs): ``record_bytes`` a record, ``pair_bytes`` a
    value and its length."""
    total = record_bytes * count
    for col in cols:  # "" or None add no length: filter(None) keeps the loop in C
        total += pair_bytes * (len(col) - col.count(None)) + sum(map(len, filter(None, col)))
    return total


def loki_sort_rows(nanos: list[int], rows: list[int]) -> list[int]:
    """``rows`` in the order of their timestamps (``nanos[row]``), stable: ``rows`` itself
    when it is in order already."""
    if rows and (min(rows) < 0 or max(rows) >= len(nanos)):
        raise IndexError("loki_sort_rows: a row outside the timestamps")
    stamps = list(map(nanos.__getitem__, rows))
    if all(map(le, stamps, stamps[1:])):
        return rows
    return sorted(rows, key=nanos.__getitem__)


def row_lines(spans: Sequence[RowSpan], count: int) -> list[str | None]:
    """Each row's line (``None``: a row no span has), from the spans' buffers."""
    lines: list[str | None] = [None] * count
    for data, ends, lo, first in spans:
        if first < 0 or first + len(ends) > count:
            raise ValueError("loki_push_rows: a span's rows are outside the batch")
        starts = [lo, *ends[:-1]] if ends else []
        if ends and (not all(map(lt, starts, ends)) or ends[-1] > len(data)):
            raise ValueError("loki_push_rows: a record's end is outside its buffer")
        if not ends:
            continue
        whole = data[lo:ends[-1]]
        text = whole.decode("utf-8")
        if len(text) == len(whole):  # ASCII: the text's offsets are the bytes'
            lines[first:first + len(ends)] = [text[a - lo:b - lo - 1]
                                              for a, b in zip(starts, ends, strict=True)]
        else:
            lines[first:first + len(ends)] = [str(data[a:b - 1], "utf-8")
                                              for a, b in zip(starts, ends, strict=True)]
    return lines


def loki_push_rows(streams: Sequence[tuple[str, list[int]]], nanos: list[int],
                   cols: list[list[str | None]], names: tuple[str, ...],
                   spans: Sequence[RowSpan], overrides: dict[int, str]) -> bytes:
    """``loki_push`` of ``(labels, entries)`` per stream, the entry of row ``r`` being at
    ``nanos[r]``, its line ``overrides[r]`` or else its record in ``spans`` (without its
    newline), its metadata ``(names[j], cols[j][r])`` for each value not ``None``."""
    if len(cols) != len(names) or any(len(col) != len(nanos) for col in cols):
        raise ValueError("loki_push_rows: one column of every row for each name")
    lines = row_lines(spans, len(nanos))
    for row, text in overrides.items():
        if 0 <= row < len(lines):
            lines[row] = text
    writer = PushWriter()
    # each row's metadata as written: one column of pairs per name, joined row by row
    pairs = [writer.column(name, col) for name, col in zip(names, cols, strict=True)]
    metas = list(map(b"".join, zip(*pairs, strict=True))) if pairs else [b""] * len(nanos)
    entry = writer.entry_of
    made = []
    for labels, rows in streams:
        if rows and (min(rows) < 0 or max(rows) >= len(lines)
                     or None in map(lines.__getitem__, rows)):
            raise ValueError("loki_push_rows: a row without a line")
        made.append((labels, [entry(nanos[row], lines[row], metas[row])  # type: ignore[arg-type]
                              for row in rows]))
    return push_bytes(made)
