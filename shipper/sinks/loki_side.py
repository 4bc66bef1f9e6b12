"""The Loki sink's side data: what it computes from an envelope's records at ``put``, while
they are still dicts, so that a batch is encoded without decoding its records again.

:class:`LokiSide` keeps, for each record of the envelope, its stream (the labeler's shared
``(labels, label string)``), its tenant when ``tenant_from`` is set, its timestamp in
nanoseconds (``None``: missing, stamped at encode time as the decoding path does) and its
structured metadata pairs (lists shared with the entries: :class:`~shipper.sinks.
loki_order.Entry` never changes them in place). Its ``nbytes`` (an estimate of what those
objects take, metadata values by their length) is counted with the records in the sink's
memory buffer. It is computed from records whose values are JSON's own (str, int, float,
bool, None, dict, list: what the parsers give); a stage that put other Python objects in a
record would get labels from their ``str()`` here where the decoding path reads their JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipper.kernels import loki_side_bytes

#: bytes a record's side data takes besides its metadata pairs (list slots, the
#: timestamp's int, the metadata list), and each pair besides its value's characters
#: (slot, tuple, the value string's header; the value itself is counted by its length, so a
#: long value, a stack trace, is counted as long as it is): 128 + 5 x (100 + ~25) against
#: ~610 measured (tracemalloc, 850 records of the bench corpus with five pairs each)
RECORD_BYTES, PAIR_BYTES = 128, 100

Stream = tuple[dict[str, str], str]
Meta = tuple[str, str]


@dataclass(slots=True, eq=False)
class LokiSide:
    streams: list[Stream]
    tenants: list[str | None] | None
    stamps: list[int | None]
    metas: list[list[Meta]]
    nbytes: int = 0

    def __post_init__(self) -> None:
        if not self.nbytes:  # the kernel: RECORD_BYTES a record, PAIR_BYTES + its length a pair
            self.nbytes = loki_side_bytes(self.metas, RECORD_BYTES, PAIR_BYTES)

    def keep(self, indices: list[int]) -> LokiSide:
        """The side data of records ``indices`` only."""
        tenants = self.tenants
        return LokiSide([self.streams[i] for i in indices],
                        None if tenants is None else [tenants[i] for i in indices],
                        [self.stamps[i] for i in indices], [self.metas[i] for i in indices])
