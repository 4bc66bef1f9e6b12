"""The shape of a redaction rule (:class:`TextRule`) and the helpers every rule family uses.

Rule families live in ``secrets*.py``; :func:`shipper.filters.secrets.builtin_rules` puts
them in the order they run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Gate = Callable[[str], object]  # text -> truthy when a match is possible
Valid = Callable[[str, str], bool]  # (whole match, secret part) of the original text -> redact
Near = Callable[[str, int, int], bool]  # (text, start, end of the secret) -> the context fits

REDACTED_PREFIX = "[REDACTED"


@dataclass(frozen=True)
class TextRule:
    """Replace group ``group`` of every match of ``pattern`` that passes ``valid`` and
    ``near`` (``group`` may be a tuple: the first of those groups that took part in the
    match; ``near`` judges the text around the secret, for kinds known by context).

    ``lower`` rules are written in lower case and searched in the lower-cased text (much
    faster than ``(?i)`` in ``re``). Cheap pre-checks, any of which lets the rule run:
    ``needles`` are lower-case substrings without ``-``/``_`` one of which every match
    contains once the text is lower-cased and stripped of ``-``/``_``; ``literals`` are
    case-sensitive substrings; ``gate`` is any test. A rule with none is always searched.
    ``scan`` is an RE2 pattern matching (at least) every text the ``gate`` lets through,
    for the batch pre-scan of raw lines (:mod:`shipper.filters.prescan`); it must not match
    NUL. ``text_scan`` (default ``scan``) is an RE2 pattern matching every text in which
    ``pattern`` finds a match, searched in a record's strings joined with NUL (does any
    of them need the rules?); it may use the separators as the edges of a text.
    ``hit_scan`` (default ``text_scan`` or ``scan``) tells which of them: a superset that
    may begin on the NUL before its text (its left edge) but never matches the NUL after.
    """

    name: str
    pattern: re.Pattern[str]
    group: int | tuple[int, ...] = 0
    gate: Gate | None = None
    valid: Valid | None = None
    near: Near | None = None
    lower: bool = False
    needles: tuple[str, ...] = ()
    literals: tuple[str, ...] = ()
    scan: str | None = None
    text_scan: str | None = None
    hit_scan: str | None = None

    @property
    def always(self) -> bool:
        return not (self.needles or self.literals or self.gate)

    def span(self, match: re.Match[str]) -> tuple[int, int]:
        """Where the secret of ``match`` is (``(-1, -1)`` when its group did not take part)."""
        if isinstance(self.group, int):
            return match.span(self.group)
        for group in self.group:
            start, end = match.span(group)
            if start >= 0:
                return start, end
        return -1, -1


def prefixed(name: str, pattern: str, prefix: str, *, valid: Valid | None = None) -> TextRule:
    """A token recognised by its own prefix: ``prefix`` (a regex accepted by both ``re``
    and RE2, never matching NUL) is the gate and the RE2 pre-scan of the rule."""
    return TextRule(name, re.compile(pattern), gate=re.compile(prefix).search, scan=prefix,
                    valid=valid)


def flatten(text: str) -> str:
    """Lower-case without ``-`` and ``_`` (what ``needles`` are looked up in)."""
    return text.lower().replace("_", "").replace("-", "")


def minimal_needles(words: list[str]) -> tuple[str, ...]:
    """Flattened ``words`` minus those containing another one (same pre-check, fewer scans)."""
    flat = {flatten(word) for word in words}
    return tuple(sorted(w for w in flat if not any(o != w and o in w for o in flat)))
