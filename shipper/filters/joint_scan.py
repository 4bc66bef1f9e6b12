"""One pre-scan pass for several stages: :class:`JointScan`.

RE2's automaton costs the same per byte whatever the pattern (~17 instructions), and each
hit costs a call into the binding (~7k), so the noise and redaction scans of a batch
(:class:`~shipper.filters.prescan.BatchScan`) are answered by one pass over the whole
batch and short passes over the texts it hit, not one whole pass per scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from shipper.filters.prescan import BatchScan, BatchTexts, compile_re2


@runtime_checkable
class Scanning(Protocol):
    """A stage that pre-scans batches with a :class:`BatchScan` (``None``: it does not)."""

    @property
    def batch_scan(self) -> BatchScan | None: ...


class JointScan:
    """Several :class:`BatchScan` of one batch in one RE2 pass: the texts any of them
    matches (one alternation of their patterns), then each scan over those texts only,
    as a batch of their own. Each text keeps its edges (the NUL or the end of the data on
    either side, never another text's bytes), so each scan finds exactly the texts it
    finds over the whole batch."""

    def __init__(self, scans: Iterable[BatchScan]) -> None:
        self.scans = tuple(dict.fromkeys(scan for scan in scans if scan.usable))
        self._members = frozenset(self.scans)
        either = "|".join(f"(?:{scan.pattern})" for scan in self.scans)
        self._re = compile_re2(either) if len(self.scans) > 1 else None
        self._busiest = len(self.scans) - 1

    @classmethod
    def of_stages(cls, stages: Iterable[object]) -> JointScan | None:
        """One pass for the scans of these stages; ``None`` when fewer than two scan."""
        joint = cls(stage.batch_scan for stage in stages
                    if isinstance(stage, Scanning) and stage.batch_scan is not None)
        return joint if joint._re is not None else None

    def __contains__(self, scan: object) -> bool:
        return scan in self._members

    def found(self, batch: BatchTexts, scan: BatchScan) -> set[int]:
        """What ``scan.found(batch)`` gives, from this batch's one joint pass."""
        answers = batch.answers
        if answers is None:
            answers = batch.answers = self._answers(batch)
        return answers[scan]

    def _answers(self, batch: BatchTexts) -> dict[BatchScan, set[int]]:
        """Every scan's hits: the texts either matches, then each scan but the busiest
        over those; the busiest (most hits in the last batch) has every text of them no
        other scan matched (one of the scans matches each), and is searched only in the
        texts another one matched (each hit costs a call into RE2, ~7k instructions)."""
        assert self._re is not None
        either = self._re.texts(batch.data)
        if not either:
            return {scan: set() for scan in self.scans}
        subset = batch if len(either) == batch.size else batch.subset(either)
        busiest = self.scans[self._busiest]
        found = {scan: scan.found(subset) for scan in self.scans if scan is not busiest}
        claimed = sorted(set().union(*found.values()))
        if not claimed:  # the busiest has every text (the usual batch): no mapping back
            answers: dict[BatchScan, set[int]] = {scan: set() for scan in found}
            answers[busiest] = set(either)
            return answers
        found[busiest] = set(range(len(either))).difference(claimed)
        found[busiest].update(claimed[i] for i in busiest.found(subset.subset(claimed)))
        self._busiest = max(range(len(self.scans)), key=lambda i: len(found[self.scans[i]]))
        return {scan: {either[i] for i in hits} for scan, hits in found.items()}
