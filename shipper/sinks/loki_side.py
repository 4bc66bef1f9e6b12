"""The Loki sink's side data: what it computes from an envelope's records at ``put``, while
they are still dicts, so that a batch is encoded without decoding its records again.

:class:`LokiSide` keeps, for each record of the envelope, its stream (the labeler's shared
``(labels, label string)``), its tenant when ``tenant_from`` is set, its timestamp in
nanoseconds (``None``: missing, stamped at encode time as the decoding path does) and, one
column per structured metadata name (``names``), its value as sent (``None``: the record
has none; the record's own strings, no pair objects), and whether all of them are of one
stream (found once for the envelope, the usual case). Its ``nbytes`` (an estimate of what
those objects take, metadata values by their length) is counted with the records in the
sink's memory buffer. It is computed from records whose values are JSON's own (str, int,
float, bool, None, dict, list: what the parsers give); a stage that put other Python
objects in a record would get labels from their ``str()`` here where the decoding path
reads their JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipper.kernels import loki_cols_bytes

#: bytes a record's side data takes besides its metadata values (list slots, the
#: timestamp's int), and each value besides its characters (the value itself is counted
#: by its length, so a long value, a stack trace, is counted as long as it is): the
#: figures the former per-record pairs were charged (128 + 5 x (100 + ~25) against ~610
#: measured with tracemalloc, 850 records of the bench corpus with five pairs each)
RECORD_BYTES, PAIR_BYTES = 128, 100

Stream = tuple[dict[str, str], str]
Meta = tuple[str, str]


@dataclass(slots=True, eq=False)
class LokiSide:
    streams: list[Stream]
    tenants: list[str | None] | None
    stamps: list[int | None]
    #: one column per name of ``names``: each record's value (``None``: none)
    cols: list[list[str | None]]
    names: tuple[str, ...]
    nbytes: int = 0
    #: every record is of ``streams[0]`` (``False``: maybe not)
    one: bool = False

    def __post_init__(self) -> None:
        if not self.nbytes:  # the kernel: RECORD_BYTES a record, PAIR_BYTES + its length a value
            self.nbytes = loki_cols_bytes(self.cols, len(self.stamps), RECORD_BYTES, PAIR_BYTES)

    @property
    def metas(self) -> list[list[Meta]]:
        """Each record's metadata pairs (in ``names`` order, those with a value)."""
        return [[(name, value) for name, value in zip(self.names, values, strict=True)
                 if value is not None] for values in zip(*self.cols, strict=True)] \
            if self.cols else [[] for _ in self.stamps]

    def keep(self, indices: list[int]) -> LokiSide:
        """The side data of records ``indices`` only."""
        tenants = self.tenants
        return LokiSide([self.streams[i] for i in indices],
                        None if tenants is None else [tenants[i] for i in indices],
                        [self.stamps[i] for i in indices],
                        [[col[i] for i in indices] for col in self.cols], self.names,
                        one=self.one)
