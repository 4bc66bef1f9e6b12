"""What the stateful stages (:class:`~shipper.stages.DrainingStage`: dedupe) hold, for
:class:`~shipper.processor.Processor`: the records they drain when due, passed through
the stages after them, and the summaries a record carries (``before``), placed just
before it. A stage that raises here never stops the others: a drain that fails loses
what it held (counted and logged), a later stage that fails on a drained record ships
it as a placeholder (:meth:`~shipper.stages.StageFailures.replace`)."""

from __future__ import annotations

from shipper.record import Record
from shipper.stages import DrainingStage, Stage, StageFailures


def drained(stages: list[Stage], failures: StageFailures, force: bool = False) -> list[Record]:
    """Records held by the stateful ones of ``stages`` that are due (all with ``force``),
    each through the stages after its own."""
    out: list[Record] = []
    for index, stage in enumerate(stages):
        if not isinstance(stage, DrainingStage):
            continue
        try:
            due = stage.drain(force)
        except Exception as exc:  # noqa: BLE001 - what it held is lost: counted and logged
            failures.failed(stage, exc)
            continue
        for record in due:
            survivor = _after(stages[index + 1:], failures, record)
            if survivor is not None:
                out.append(survivor)
    return out


def _after(stages: list[Stage], failures: StageFailures, record: Record) -> Record | None:
    """``record`` through ``stages``; ``None`` when one drops it."""
    for stage in stages:
        try:
            out = stage(record)
        except Exception as exc:  # noqa: BLE001 - shipped as a placeholder
            batch = [record]
            failures.replace(batch, 0, stage, exc)
            return batch[0]
        if out is None:
            return None
        record = out
    return record


def with_summaries(records: list[Record]) -> list[Record]:
    """Records with the dedupe summaries they carry (``before``) just before them."""
    out: list[Record] = []
    for record in records:
        before = record.before
        if before:
            out.extend(before)
            record.before = None
        out.append(record)
    return out
