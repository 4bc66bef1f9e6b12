"""Batch pre-scan: which records of a batch could a filter possibly act on?

A filter that only acts on records whose text holds one of a few needles (redaction:
``password``, ``eyJ``, 13 digits in a row ...; noise: ``GET``, ``kube-probe/``, ``auth`` ...)
asks :class:`BatchScan` once per batch instead of walking every record. The raw lines of
the batch are joined with NUL (never part of a decoded line) ONCE (:class:`BatchTexts`,
shared by every scan of the batch) and searched in one pass per scan by an RE2 automaton
(linear time, all alternatives at once); each hit is mapped back to its text. A text that
cannot be judged this way (``None``, non-ASCII, so case folding stays exact) is reported as
a hit, so the answer is always a superset: ``hits`` never misses a text the pattern matches.
Several scans of one batch (the noise and redaction stages') take one pass over it
together: :mod:`shipper.filters.joint_scan`.

RE2 (``google-re2``) is optional: without it :meth:`BatchScan.hits` returns ``None`` and
callers check every record as before.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, count
from operator import add
from typing import TYPE_CHECKING, Any

from shipper.kernels import IMPLEMENTATION, joined_texts, text_indices
from shipper.record import Record

if TYPE_CHECKING:
    from shipper.filters.joint_scan import JointScan

try:  # optional accelerator; every caller has a per-record fallback
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None
# google-re2's binding: one ``Match`` call per hit, without the wrapper's generator and
# match objects (a third of the scan's cost on busy batches); the wrapper when absent
_UNANCHORED = getattr(getattr(getattr(_re2, "_re2", None), "RE2", None), "Anchor", None)
#: looked up once: reading the enum off the binding's class costs ~500 instructions a call
_ANCHOR = getattr(_UNANCHORED, "UNANCHORED", None)

SEPARATOR = "\x00"
#: whether :meth:`BatchTexts.of_records` asks the kernel (compiled only)
_JOIN_KERNEL = IMPLEMENTATION == "compiled"
_NUL = b"\x00"
_RE2_MAX_MEM = 64 << 20
#: Raw lines that may hold a card number (the ``card_number`` rule) or a card-sized
#: integer: 13+ digits, one space or dash at most between two, whose left edge is not a
#: hex digit nor a hex digit and dashes (inside a UUID or hex id, where the rule's
#: ``(?<![\w.-])`` never lets a card start) and whose right edge is what the rule's
#: ``(?![\w-]|\.\d)`` allows (a superset: ``.`` always). The right edge may be the NUL
#: ending the text: :meth:`Re2.starts` resumes at that NUL, so the next text is not skipped.
#: Lines of UUIDs and hex ids no longer match (3% of the shared bench corpus did with a
#: bare 13-digit run; none does now).
CARD_CANDIDATE_SCAN = (r"(?:^-*|[^0-9A-Fa-f-]|[^0-9A-Fa-f]-+)[0-9](?:[ -]?[0-9]){12,}"
                       r"(?:[^0-9A-Za-z_-]|$)")


def re2_available() -> bool:
    return _re2 is not None


def compile_re2(pattern: str) -> Re2 | None:
    """``pattern`` compiled by RE2 (bytes, UTF-8), or ``None`` without RE2."""
    if _re2 is None:
        return None
    options = _re2.Options()
    options.max_mem = _RE2_MAX_MEM
    return Re2(_re2.compile(pattern.encode(), options))


class Re2:
    """A compiled RE2 pattern searched in bytes: each search is one call into the binding
    (the module's ``search``/``finditer`` add a generator and a match object per hit)."""

    __slots__ = ("_compiled", "_match")

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled
        binding = getattr(compiled, "_regexp", None) if _UNANCHORED is not None else None
        self._match = None if binding is None else binding.Match

    def _span(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        if self._match is None:
            found = self._compiled.search(data, pos, end)
            return (-1, -1) if found is None else found.span()
        span: tuple[int, int] = self._match(_ANCHOR, data, pos, end)[0]
        return span

    def search(self, data: bytes) -> bool:
        """Whether the pattern matches anywhere in ``data``."""
        return self._span(data, 0, len(data))[0] >= 0

    def texts(self, data: bytes) -> list[int]:
        """Indices of the NUL-separated texts of ``data`` the pattern matches, in order
        (a match may begin on the NUL before its text, its left edge, and belongs to that
        text). After a hit the search resumes at the NUL after its start: the rest of a
        text that already hit is skipped at ``memchr`` speed (a pattern ending in
        ``[^\\x00]*`` to consume it made RE2 run it forwards and backwards), and the next
        text is searched from its own left edge. The kernel ``text_indices`` counts the
        NULs up to each hit (what :meth:`BatchTexts.indices` does with a table of offsets
        and a binary search, ~1.4k instructions a line on a busy batch)."""
        starts: list[int] = []
        pos, end, find, match = 0, len(data), data.find, self._match
        if match is None:
            span = self._span
            while (start := span(data, pos, end)[0]) >= 0:
                starts.append(start)
                if (pos := find(_NUL, start + 1)) < 0:
                    break
            return text_indices(data, starts)
        # the binding called here, not through ``_span`` (a Python call less a hit)
        while (start := match(_ANCHOR, data, pos, end)[0][0]) >= 0:
            starts.append(start)
            if (pos := find(_NUL, start + 1)) < 0:
                break
        return text_indices(data, starts)


class BatchTexts:
    """The texts of one batch, joined and encoded once for every :class:`BatchScan`.

    ``data`` is the ASCII bytes of the texts joined with NUL (texts that cannot be judged
    are left empty) and ``unjudged`` the indices of those texts. ``joint`` answers the
    scans it holds in one pass (its answers are kept in ``answers`` for the batch).
    """

    __slots__ = ("size", "data", "unjudged", "joint", "answers", "_parts", "_ends")

    def __init__(self, texts: list[Any], joint: JointScan | None = None) -> None:
        self.size = len(texts)
        self.unjudged: set[int] = set()
        self.joint = joint
        self.answers: dict[BatchScan, set[int]] | None = None
        self._ends: list[int] | None = None
        self._parts = texts
        try:
            joined = SEPARATOR.join(texts)
            # a NUL inside a text would end it early: one memchr over the texts joined
            # without separators (a second copy of the batch; a count of the
            # separators costs several times more)
            clean = joined.isascii() and SEPARATOR not in "".join(texts)
        except TypeError:  # ``None`` (or a raw line that is not a string) cannot be judged
            joined = self._leave_out(texts, lambda text: text.__class__ is not str)
            clean = joined.isascii() and joined.count(SEPARATOR) == len(texts) - 1
        if not clean:
            joined = self._leave_out(texts, lambda text: text.__class__ is not str
                                     or not text.isascii() or SEPARATOR in text)
        self.data = joined.encode("ascii")

    def _leave_out(self, texts: list[Any], unfit: Callable[[Any], bool]) -> str:
        """Texts joined, those ``unfit`` left empty and noted in ``unjudged``."""
        self.unjudged |= {i for i, text in enumerate(texts) if unfit(text)}
        self._parts = ["" if i in self.unjudged else text for i, text in enumerate(texts)]
        return SEPARATOR.join(self._parts)

    @classmethod
    def of_records(cls, records: list[Record], joint: JointScan | None = None) -> BatchTexts:
        """The raw lines of ``records`` (see :func:`raw_text`), scanned by ``joint``. The
        compiled ``joined_texts`` joins the usual batch in one pass (its pure twin, the
        reference, is slower than the C-speed passes here: with it the passes stay)."""
        joined = joined_texts(records) if _JOIN_KERNEL else None
        if joined is None:
            return cls(raw_texts(records), joint)
        return cls._judged(*joined, joint)

    @classmethod
    def _judged(cls, data: bytes, unjudged: set[int], parts: list[Any],
                joint: JointScan | None = None) -> BatchTexts:
        """A batch of texts already joined and checked (``data``, ``unjudged``)."""
        batch = cls.__new__(cls)
        batch.size, batch.joint, batch.answers, batch._ends = len(parts), joint, None, None
        batch.data, batch.unjudged, batch._parts = data, unjudged, parts
        return batch

    def subset(self, indices: list[int]) -> BatchTexts:
        """The (judged) texts at these indices, as a batch of their own."""
        parts = self._parts
        # judged texts are ASCII without NUL already: joined and encoded as they are
        texts = [parts[i] for i in indices]
        return BatchTexts._judged(SEPARATOR.join(texts).encode("ascii"), set(), texts)

    def indices(self, starts: Sequence[int]) -> set[int]:
        """Indices of the texts holding these offsets of ``data``; a match that begins on
        a separator belongs to the text after it (a binary search in the offsets of the
        separators, built on the first call)."""
        if not starts:
            return set()
        ends = self._ends
        if ends is None:
            # the separator after text i is at (length of texts 0..i) + i
            ends = self._ends = list(map(add, accumulate(map(len, self._parts)), count()))
        last = self.size - 1
        return {min(bisect_right(ends, start), last) for start in starts}


class BatchScan:
    """One compiled alternation (RE2 syntax) over the texts of a batch.

    The pattern must not match NUL, so no match spans two texts.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._re = compile_re2(pattern)

    @property
    def usable(self) -> bool:
        return self._re is not None

    def hits(self, texts: Sequence[str | None] | BatchTexts) -> set[int] | None:
        """Indices of ``texts`` that may match (``None`` texts always do); ``None`` when
        no scanner is available."""
        if self._re is None:
            return None
        batch = texts if isinstance(texts, BatchTexts) else BatchTexts(list(texts))
        joint = batch.joint
        found = joint.found(batch, self) if joint is not None and self in joint \
            else self.found(batch)
        return found | batch.unjudged if batch.unjudged else found

    def found(self, batch: BatchTexts) -> set[int]:
        """Indices of the judged texts of ``batch`` the pattern matches (usable scans only)."""
        assert self._re is not None
        return set(self._re.texts(batch.data))


def raw_text(record: Record) -> str | None:
    """The record's raw line when every text parsed from the record is on it (one-line
    message), else ``None``. JSON escapes make parsed text differ from the raw line, so
    scan patterns also match a backslash."""
    raw = record.raw
    message = record.get("message")
    if raw.__class__ is not str or (message.__class__ is str and "\n" in message):
        return None
    return raw


def raw_texts(records: list[Record]) -> list[Any]:
    """:func:`raw_text` of every record, as far as :class:`BatchTexts` needs it: a raw
    line that is not a string is left as it is (``BatchTexts`` cannot judge it either).
    A few C-speed passes in the usual case (string ``raw`` and ``message`` everywhere,
    no multi-line message)."""
    try:
        texts: list[Any] = [record.raw for record in records]
        multi_line = "\n" in "".join([record["message"] for record in records])
    except (KeyError, TypeError):  # an unusual record: take each one the careful way
        return [raw_text(record) for record in records]
    if multi_line:
        for i, record in enumerate(records):
            if "\n" in record["message"]:
                texts[i] = None
    return texts


def ci_literal(word: str) -> str:
    """``word`` as a case-insensitive RE2 literal."""
    return "(?i:" + escape(word) + ")"


def escape(word: str) -> str:
    """``word`` as an RE2 literal (ASCII letters and digits as they are, else ``\\x{..}``)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):x}}}"
                   for ch in word)


def flexible(word: str) -> str:
    """Case-insensitive ``word`` allowing runs of ``-``/``_`` between its characters (what
    a needle looked up in ``secrets.flatten(text)`` finds)."""
    return "(?i:" + "[-_]*".join(escape(ch) for ch in word) + ")"


class Screen:
    """What one stage's pre-scan of a batch left to check in full.

    ``records`` is the scanned batch and ``hits`` the (sorted) indices the scan could not
    clear. Ids are only unique while the batch lives: drop the screen when it is done.
    """

    __slots__ = ("records", "hits", "_check", "_members")

    def __init__(self, records: list[Any], hits: set[int]) -> None:
        self.records = records
        self.hits = sorted(hits)
        self._check: set[int] = set()
        self._members: set[int] | None = None

    def to_check(self, records: list[Any]) -> Iterable[int]:
        """Indices of ``records`` to check in full: the hits when ``records`` is the
        scanned batch, else every index."""
        return self.hits if records is self.records else range(len(records))

    def cleared(self, record: Any) -> bool:
        """``True`` when ``record`` belongs to the scanned batch and the scan cleared it
        (one record at a time: the id sets are built on the first call)."""
        if self._members is None:
            self._check = {id(self.records[i]) for i in self.hits}
            self._members = {id(r) for r in self.records}
        return id(record) not in self._check and id(record) in self._members
