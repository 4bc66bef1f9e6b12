"""A batch's Loki entries column-wise: what the encoder makes of a batch's side data.

:class:`BatchColumns` holds, for each record of a batch (its *row*), its timestamp, its
structured metadata (one column per name, ``None`` where the record has none) and where
its line is: the record's JSON as buffered (the spans' NDJSON, read in place by the kernel
``loki_push_rows``), or a line of its own in ``overrides`` (one longer than
``max_line_bytes``, shortened). :class:`Rows` is one stream's rows in timestamp order.

No :class:`~shipper.sinks.loki_order.Entry` is made while a push goes as it is: only when
a stream's timestamps must be settled (ahead of the clock, too far behind), when the push
is split among payloads, or when Loki refuses part of it are a stream's entries made
(:meth:`Rows.entries`), each as the record-wise path makes it (``index``: its row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipper.sinks.loki_order import Entry

if TYPE_CHECKING:
    from shipper.kernels.pure_loki_rows import RowSpan


@dataclass(slots=True, eq=False)
class BatchColumns:
    nanos: list[int]
    cols: list[list[str | None]]
    names: tuple[str, ...]
    spans: list[RowSpan]
    overrides: dict[int, str]

    def line(self, row: int) -> str:
        """Row ``row``'s line."""
        text = self.overrides.get(row)
        if text is not None:
            return text
        for data, ends, lo, first in self.spans:
            if first <= row < first + len(ends):
                k = row - first
                start = ends[k - 1] if k else lo
                return str(data[start:ends[k] - 1], "utf-8")
        raise IndexError(f"row {row} is in no span of the batch")

    def meta(self, row: int) -> list[tuple[str, str]]:
        return [(name, value) for name, col in zip(self.names, self.cols, strict=True)
                if (value := col[row]) is not None]

    def entry(self, row: int) -> Entry:
        return Entry(self.nanos[row], self.line(row), self.meta(row), row)


@dataclass(slots=True, eq=False)
class Rows:
    """One stream's rows of ``batch``, in timestamp order (stable)."""

    batch: BatchColumns
    order: list[int]

    def __len__(self) -> int:
        return len(self.order)

    @property
    def lowest(self) -> int:
        return self.batch.nanos[self.order[0]]

    @property
    def highest(self) -> int:
        return self.batch.nanos[self.order[-1]]

    def entries(self) -> list[Entry]:
        """The entries these rows are, in order (new objects each call)."""
        entry = self.batch.entry
        return [entry(row) for row in self.order]
