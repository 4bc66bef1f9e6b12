"""Batch pre-scan: which records of a batch could a filter possibly act on?

A filter that only acts on records whose text holds one of a few needles (redaction:
``password``, ``eyJ``, 13 digits in a row ...; noise: ``GET``, ``kube-probe/``, ``auth`` ...)
asks :class:`BatchScan` once per batch instead of walking every record. The texts of the
batch are joined with NUL (never part of a decoded line) and searched in ONE pass by an
RE2 automaton (linear time, all alternatives at once); each hit is mapped back to its
text. A text that cannot be judged this way (``None``, non-ASCII, so case folding stays
exact) is reported as a hit, so the answer is always a superset: ``hits`` never misses a
text the pattern matches.

RE2 (``google-re2``) is optional: without it :meth:`BatchScan.hits` returns ``None`` and
callers check every record as before.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

try:  # optional accelerator; every caller has a per-record fallback
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

SEPARATOR = "\x00"
_RE2_MAX_MEM = 64 << 20


def re2_available() -> bool:
    return _re2 is not None


class BatchScan:
    """One compiled alternation (RE2 syntax, bytes) over ASCII texts joined with NUL.

    The pattern must not match NUL, so no match spans two texts.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._re: Any = None
        if _re2 is not None:
            options = _re2.Options()
            options.max_mem = _RE2_MAX_MEM
            self._re = _re2.compile(pattern.encode(), options)

    @property
    def usable(self) -> bool:
        return self._re is not None

    def hits(self, texts: list[str | None]) -> set[int] | None:
        """Indices of ``texts`` that may match (``None`` texts always do); ``None`` when
        no scanner is available."""
        if self._re is None:
            return None
        found = {i for i, text in enumerate(texts) if text is None}
        if found:
            texts = ["" if text is None else text for text in texts]
        joined = SEPARATOR.join(texts)  # type: ignore[arg-type]
        if not joined.isascii():
            found.update(i for i, text in enumerate(texts) if not text.isascii())  # type: ignore[union-attr]
            texts = [text if text.isascii() else "" for text in texts]  # type: ignore[union-attr]
            joined = SEPARATOR.join(texts)  # type: ignore[arg-type]
        data = joined.encode("ascii")
        if self._re.search(data) is None:
            return found
        ends = list(accumulate(len(text) + 1 for text in texts))  # type: ignore[arg-type]
        for match in self._re.finditer(data):
            found.add(bisect_right(ends, match.start()))
        return found


def raw_text(record: dict[str, Any]) -> str | None:
    """The record's raw line when every text parsed from the record is on it (one-line
    message), else ``None``. JSON escapes make parsed text differ from the raw line, so
    scan patterns also match a backslash."""
    raw = record.get("_raw")
    message = record.get("message")
    if raw.__class__ is not str or (message.__class__ is str and "\n" in message):
        return None
    return raw


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
