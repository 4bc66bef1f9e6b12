"""The redaction filter stage: a :class:`~shipper.filters.redact.Redactor` over records,
one at a time or a pre-scanned batch at a time."""

from __future__ import annotations

from typing import Any

from shipper.filters.prescan import BatchTexts, Screen
from shipper.filters.redact import Redactor
from shipper.record import Record
from shipper.stages import Fates


class RedactStage:
    """Redacts each record and reports ``fates.changed(record, "redacted", rule)`` once per
    rule that fired."""

    def __init__(self, redactor: Redactor, fates: Fates) -> None:
        self._redactor = redactor
        self._fates = fates
        self._screen: Screen | None = None

    def prepare(self, records: list[Record], extra: dict[str, Any] | None = None,
                texts: BatchTexts | None = None) -> None:
        """Pre-scan a batch (``texts``: its raw lines, when the caller has them already):
        records whose raw line no rule could match skip redaction until :meth:`release`.
        ``extra`` are attributes added after parsing (path-template fields); the raw line
        only stands for a record when the message is on it (one line) and ``extra`` is
        clean."""
        scan = self._redactor.scan
        self._screen = None
        if scan is None or (extra and self._redactor.redact_record_check(extra)):
            return
        hits = scan.hits(texts if texts is not None else BatchTexts.of_records(records))
        if hits is not None:
            self._screen = Screen(records, hits)

    def release(self) -> None:
        """End of the batch: forget the pre-scan (ids are only unique while it lives)."""
        self._screen = None

    def process_batch(self, records: list[Record], dropped: set[int]) -> None:
        """Redact a batch but the records whose indices are in ``dropped``. After
        :meth:`prepare` of the same list, only the records the pre-scan could not clear
        are looked at."""
        screen = self._screen
        for i in range(len(records)) if screen is None else screen.to_check(records):
            if i not in dropped:
                self._redact(records[i])

    def __call__(self, record: Record) -> Record | None:
        if self._screen is None or not self._screen.cleared(record):
            self._redact(record)
        return record

    def _redact(self, record: Record) -> None:
        fired = self._redactor.redact_record(record)
        if fired:
            for rule in sorted(fired):
                self._fates.changed(record, "redacted", rule)
