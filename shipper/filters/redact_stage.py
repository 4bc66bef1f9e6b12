"""The redaction filter stage: a :class:`~shipper.filters.redact.Redactor` over records,
one at a time or a pre-scanned batch at a time, with the PEM block backstop
(:mod:`shipper.filters.pem_guard`)."""

from __future__ import annotations

from itertools import chain, repeat
from typing import Any, Protocol

from shipper.filters.pem_guard import PemGuard, opens_block
from shipper.filters.prescan import BatchScan, BatchTexts, Screen
from shipper.filters.redact import Redactor
from shipper.kernels import distinct_objects, distinct_values
from shipper.record import Record
from shipper.stages import Fates

#: top-level strings that need not come from the raw line: ids from pod labels,
#: annotations or path templates, the docker ``stream`` (``logger`` is always parsed from
#: the line; ``level`` and ``timestamp`` are normalised by the parser; ``file.path`` and
#: ``k8s`` are checked once per distinct object: ``distinct_objects``)
SIDE_FIELDS = ("job_id", "correlation_id", "stream")
_FACTS_CACHE_MAX = 4096


class FileFacts(Protocol):
    """What enrichment gives every record of a file (``enrich.ids.FileContext``)."""

    @property
    def k8s(self) -> dict[str, object]: ...

    @property
    def job_id(self) -> str | None: ...

    @property
    def correlation_id(self) -> str | None: ...


class RedactStage:
    """Redacts each record and reports ``fates.changed(record, "redacted", rule)`` once per
    rule that fired."""

    def __init__(self, redactor: Redactor, fates: Fates) -> None:
        self._redactor = redactor
        self._fates = fates
        self._screen: Screen | None = None
        self._side: set[int] = set()
        self._facts: dict[int, tuple[FileFacts, bool]] = {}
        self._guard = PemGuard()
        self._pem = "private_key" in redactor.rule_names

    @property
    def batch_scan(self) -> BatchScan | None:
        """The pre-scan of raw lines (``None``: every record is checked in full)."""
        return self._redactor.scan

    def prepare(self, records: list[Record], extra: dict[str, Any] | None = None,
                texts: BatchTexts | None = None, facts: FileFacts | None = None) -> None:
        """Pre-scan a batch (``texts``: its raw lines, when the caller has them already):
        records whose raw line no rule could match skip redaction until :meth:`release`.
        The raw line stands for everything parsed from it (one-line messages only); what
        a record holds besides (``extra``: path-template attributes; the strings of
        :data:`SIDE_FIELDS`, ``file.path`` and ``k8s``) is checked once per distinct value,
        or, given the file's enrichment ``facts``, once per file (ids) and per distinct
        ``stream``."""
        scan = self._redactor.scan
        self._screen = None
        self._side = set()
        if scan is None or (extra and self._redactor.redact_record_check(extra)):
            return
        hits = scan.hits(texts if texts is not None else BatchTexts.of_records(records))
        if hits is None:
            return
        side = self._side_hits(records) if facts is None else self._facts_hits(records, facts)
        if side is not None:
            self._screen = Screen(records, hits | side)
            self._side = side

    def _facts_hits(self, records: list[Record], facts: FileFacts) -> set[int] | None:
        """The side check knowing the file's enrichment facts: the ids and ``k8s`` they
        give are checked once per facts object (ids of the records' own are on their raw
        lines); ``stream`` and ``file.path`` as without. ``None`` (every record checked
        in full) when the facts hold a secret."""
        known = self._facts.get(id(facts))
        if known is None or known[0] is not facts:
            ids = [value for value in (facts.job_id, facts.correlation_id) if value]
            unsafe = bool(self._secret_values(ids)) or \
                self._redactor.k8s_scrubbed(facts.k8s) is not facts.k8s
            if len(self._facts) >= _FACTS_CACHE_MAX:
                self._facts.clear()
            known = self._facts[id(facts)] = (facts, unsafe)
        if known[1]:
            return None
        try:
            values: set[Any] = distinct_values(records, "stream")
            values.update(distinct_objects(records, "file", "path"))
        except (KeyError, TypeError, AttributeError):
            return None
        values.discard(None)
        secret = self._secret_values(list(values))
        return {i for i, record in enumerate(records) if record.get("stream") in secret
                or record["file"]["path"] in secret} if secret else set()

    def _side_hits(self, records: list[Record]) -> set[int] | None:
        """Indices of the records holding a secret outside their raw line (``None``: the
        batch cannot be judged this way)."""
        if not records:
            return set()
        try:
            # one walk over the records (zip interleaves the lookups: each record is
            # fetched from memory once, not once per field)
            values: set[Any] = set(chain.from_iterable(
                zip(*(map(dict.get, records, repeat(name)) for name in SIDE_FIELDS), strict=True)))
            values.update(distinct_objects(records, "file", "path"))
            facts = distinct_objects(records, "k8s")
        except (KeyError, TypeError, AttributeError):
            return None
        values.discard(None)
        secret = self._secret_values(list(values))
        unsafe = {id(k8s) for k8s in facts if k8s and self._redactor.k8s_scrubbed(k8s) is not k8s}
        if not secret and not unsafe:
            return set()
        return {i for i, record in enumerate(records)
                if id(record.get("k8s")) in unsafe or record["file"]["path"] in secret
                or any(record.get(name) in secret for name in SIDE_FIELDS)}

    def _secret_values(self, values: list[Any]) -> set[Any]:
        """The values redaction would change (one RE2 search when there are none)."""
        redactor = self._redactor
        try:
            if not values or not redactor.texts_may_hold_secret(values):
                return set()
        except TypeError:  # a value that is not a string: judged one by one
            pass
        strings = [value for value in values if isinstance(value, str)]
        return {strings[i] for i in redactor.text_hits(strings)
                if redactor.redact_text(strings[i]) != strings[i]}

    def release(self) -> None:
        """End of the batch: forget the pre-scan (ids are only unique while it lives)."""
        self._screen = None
        self._side = set()

    def process_batch(self, records: list[Record], dropped: set[int]) -> None:
        """Redact a batch but the records whose indices are in ``dropped``. After
        :meth:`prepare` of the same list, only the records the pre-scan could not clear
        are looked at, and the records after one that opened a PEM block in its file."""
        screen = self._screen
        scanned = screen is not None and records is screen.records
        last = self._follow(records, -1, dropped)
        for i in range(len(records)) if screen is None else screen.to_check(records):
            if i <= last:
                continue
            if i not in dropped and not (scanned and i not in self._side
                                         and self._raw_clears(records[i])):
                self._redact(records[i])
            last = self._follow(records, i, dropped)

    def _raw_clears(self, record: Record) -> bool:
        """A record the pre-scan could not clear, cleared by its raw line alone: every
        string parsed from a one-line, ASCII raw line without escapes is a piece of it
        (cut at delimiters), and what is not (ids, path, ``k8s``) was checked in
        :meth:`prepare`; one exact search of the line says whether a rule could match."""
        raw, message = record.raw, record.get("message")
        return (raw.__class__ is str and message.__class__ is str and "\n" not in message
                and "\\" not in raw and raw.isascii()
                and not self._redactor.texts_may_hold_secret([raw]))

    def _follow(self, records: list[Record], index: int, dropped: set[int]) -> int:
        """The records after ``index`` while their file has an open PEM block; the last
        index handled."""
        guard, size = self._guard, len(records)
        while index + 1 < size and guard.is_open(records[index + 1]):
            index += 1
            if index not in dropped:
                self._redact(records[index])
        return index

    def __call__(self, record: Record) -> Record | None:
        if self._screen is None or not self._screen.cleared(record) \
                or self._guard.is_open(record):
            self._redact(record)
        return record

    def _redact(self, record: Record) -> None:
        if self._guard.swallows(record):
            fired = self._swallow(record)
        else:
            opens = self._pem and opens_block(record)
            fired = self._redactor.redact_record(record)
            if opens:
                self._guard.open(record)
        for rule in sorted(fired):
            self._fates.changed(record, "redacted", rule)

    def _swallow(self, record: Record) -> set[str]:
        """A line of an open PEM block: its text goes whole (message and raw line), and
        what a parser made of it (``key=value`` attributes of a body line) with it."""
        mask = self._redactor.mask
        raw = record.raw
        text = raw if isinstance(raw, str) and "\n" not in str(record.get("message")) \
            else str(record.get("message"))
        record["message"] = mask(text)
        record["attributes"] = {}
        if isinstance(raw, str):
            record.raw = mask(raw)
        return self._redactor.redact_record(record) | {"private_key"}
