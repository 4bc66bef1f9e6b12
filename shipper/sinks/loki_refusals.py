"""Reading Loki's ``400`` for part of a push: which entries it did not take, and why.

Loki keeps the valid entries of a push and answers 400 naming the others, in one of two
shapes (Loki 3.x):

* the ingester's, for the **last** stream of the push that had refusals: up to 10 lines
  ``entry with timestamp 2024-05-01 08:00:00 +0000 UTC ignored, reason: 'entry too far
  behind, entry timestamp is: ..., oldest acceptable timestamp is: 2024-05-01T09:00:02Z',``
  then ``user 'T', total ignored: N out of M for stream: {app="x"}``. Entries of a stream
  are sorted, and Loki refuses those older than the cutoff, so the ``N`` refused are the
  stream's first ``N``.
* the distributor's validation errors, grouped (``N errors like: ...`` joined by ``; ``):
  ``entry for stream '{...}' has timestamp too new: <time>``, ``... too old: <time>, ...``,
  ``Max entry size ... for stream '{...}' while adding an entry with length 'L' bytes``,
  or a problem of the whole stream (labels, structured metadata) naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from shipper.sinks.loki_labels import parse_label_string

NS = 1_000_000_000

_IGNORED = re.compile(r"entry with timestamp (?P<ts>[^\n]+?) ignored, "
                      r"reason: '(?P<reason>[^\n]*)',")
_SUMMARY = re.compile(r"total ignored: (?P<n>\d+) out of (?P<m>\d+) "
                      r"for stream: (?P<stream>\{[^\n]*\})")
_CUTOFF = re.compile(r"oldest acceptable timestamp is: (?P<cutoff>\S+?Z)")
_STREAM = r"stream '(?P<stream>\{[^\n']*\})'"
_TIME = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [+-]\d{4})"
_TOO_NEW = re.compile(r"entry for " + _STREAM + r" has timestamp too new: " + _TIME)
_TOO_OLD = re.compile(r"entry for " + _STREAM + r" has timestamp too old: " + _TIME)
_TOO_LONG = re.compile(r"for " + _STREAM
                       + r" while adding an entry with length '(?P<len>\d+)' bytes")
_WHOLE = re.compile(r"(?:Error parsing labels '|stream ')(?P<stream>\{[^\n']*\})'")
_GO_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,9}))? ([+-]\d{4})")


@dataclass(slots=True)
class Behind:
    """The ingester ignored the first ``count`` entries of ``stream`` (of ``total``)."""

    stream: dict[str, str]
    count: int
    total: int
    #: ``True`` if every listed reason is an ordering one (too far behind / out of order)
    ordering: bool
    cutoff_ns: int | None
    reason: str


@dataclass(slots=True)
class Invalid:
    """The distributor refused an entry of ``stream`` (``ts_ns``/``length`` pick it; both
    ``None``: the whole stream); ``kind``: ``future``, ``old``, ``too-long``, ``stream``."""

    stream: dict[str, str]
    kind: str
    text: str
    ts_ns: int | None = None
    length: int | None = None


@dataclass(slots=True)
class Refusal:
    behind: Behind | None = None
    invalid: list[Invalid] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.behind is None and not self.invalid


def go_time_ns(text: str) -> int | None:
    """Go's ``time.Time.String()`` (``2024-05-01 10:00:01.5 +0000 UTC``) -> ns."""
    match = _GO_TIME.search(text)
    if match is None:
        return None
    day, clock, frac, zone = match.groups()
    try:
        at = datetime.strptime(f"{day} {clock} {zone}", "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    return int(at.timestamp()) * NS + int((frac or "").ljust(9, "0"))


def _rfc3339_ns(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text).timestamp()) * NS
    except ValueError:
        return None


def parse_refusal(text: str) -> Refusal:
    """What a 400 body says Loki refused (``Refusal.empty`` if it is not Loki's)."""
    refusal = Refusal(behind=_behind(text))
    if refusal.behind is None:
        refusal.invalid = _invalid(text)
    return refusal


def _behind(text: str) -> Behind | None:
    summary = _SUMMARY.search(text)
    stream = parse_label_string(summary.group("stream")) if summary else None
    if summary is None or stream is None:
        return None
    reasons = [m.group("reason") for m in _IGNORED.finditer(text)]
    ordering = bool(reasons) and all("too far behind" in r or "out of order" in r for r in reasons)
    cutoffs = [c for r in reasons
               if (m := _CUTOFF.search(r)) and (c := _rfc3339_ns(m.group("cutoff")))]
    return Behind(stream, int(summary.group("n")), int(summary.group("m")), ordering,
                  max(cutoffs) if cutoffs else None, reasons[0] if reasons else text[:200])


def _invalid(text: str) -> list[Invalid]:
    found: list[Invalid] = []
    spans: list[tuple[int, int]] = []
    for kind, pattern in (("future", _TOO_NEW), ("old", _TOO_OLD), ("too-long", _TOO_LONG)):
        for match in pattern.finditer(text):
            stream = parse_label_string(match.group("stream"))
            if stream is None:
                continue
            spans.append(match.span("stream"))
            ts = go_time_ns(match.group("ts")) if kind != "too-long" else None
            length = int(match.group("len")) if kind == "too-long" else None
            found.append(Invalid(stream, kind, match.group(0), ts, length))
    for match in _WHOLE.finditer(text):
        stream = parse_label_string(match.group("stream"))
        inside = any(a <= match.start("stream") < b for a, b in spans)
        if stream is not None and not inside:
            found.append(Invalid(stream, "stream", _line_of(text, match.start())))
    return found


def _line_of(text: str, at: int) -> str:
    start = max(text.rfind("; ", 0, at) + 2, 0)
    end = text.find("; ", at)
    return text[start:end if end >= 0 else len(text)][:300]
