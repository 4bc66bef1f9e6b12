"""``grouped.regroup``: each batch of a group gets back exactly its survivors."""

from __future__ import annotations

import random

from shipper.grouped import regroup
from shipper.stream import Batch


def test_regroup_gives_each_batch_its_records_but_the_removed_ones_in_order():
    """Against the definition (a test per record) over 3,000 seeded draws: batch sizes
    0-5 (empty batches too), removed sets from none to all, ``None`` for nothing removed."""
    draw = random.Random(14)
    for _ in range(3000):
        sizes = [draw.randint(0, 5) for _ in range(draw.randint(0, 6))]
        records = [{"i": i} for i in range(sum(sizes))]
        removed = set(draw.sample(range(len(records)), draw.randint(0, len(records))))
        batches = [Batch([None] * n, "k", 0) for n in sizes]
        expected, start = [], 0
        for n in sizes:
            expected.append([records[i] for i in range(start, start + n) if i not in removed])
            start += n
        regroup(batches, records, removed if removed or draw.random() < 0.5 else None)
        assert [b.records for b in batches] == expected
