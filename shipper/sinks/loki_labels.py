"""Loki stream labels: which labels a record's stream has, and their text form.

``label_string`` writes what Loki's ``labels.String()`` writes (names sorted, ``, ``
between pairs, Go-quoted values), so a stream named in one of Loki's refusals
(:mod:`shipper.sinks.loki_refusals`) is found again with :func:`parse_label_string`.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.record import Record
from shipper.record_fields import Getter, first_of
from shipper.sinks.settings import LokiSinkSettings, is_unbounded

FALLBACK_LABELS = {"job": "shipper"}  # Loki rejects a stream without labels
#: label value combinations :meth:`StreamLabeler.stream` remembers (then it starts again)
STREAM_CACHE = 4096

_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNQUOTE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def label_string(labels: dict[str, str]) -> str:
    """``{a="x", b="y"}`` with names sorted and values quoted like Go/PromQL strings."""
    def quote(value: str) -> str:
        return (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                .replace("\r", "\\r").replace("\t", "\\t"))
    return "{" + ", ".join(f'{k}="{quote(v)}"' for k, v in sorted(labels.items())) + "}"


def parse_label_string(text: str) -> dict[str, str] | None:
    """``{a="x", b="y"}`` -> ``{"a": "x", "b": "y"}``; ``None`` if it is not one."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    inner, labels, pos = text[1:-1], {}, 0
    while pos < len(inner):
        match = _PAIR.match(inner, pos)
        if match is None:
            return None
        labels[match.group(1)] = _UNQUOTE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)),
                                              match.group(2))
        pos = match.end()
    return labels


class StreamLabeler:
    """A record's stream labels: static labels, then each label's first non-empty field.
    Unbounded labels (``unbounded_labels: demote``) are left out; see :attr:`demoted`."""

    def __init__(self, settings: LokiSinkSettings, limit: int = STREAM_CACHE) -> None:
        self.static = dict(settings.static_labels)
        self.demoted = sorted(n for n, p in settings.labels.items() if is_unbounded(n, p))
        self._getters: list[tuple[str, Getter]] = [
            (n, first_of(p)) for n, p in settings.labels.items() if n not in self.demoted]
        #: every candidate field of every label, in order (read by the encoder for :meth:`stream`)
        self.paths = [p for n, paths in settings.labels.items() if n not in self.demoted
                      for p in paths]
        self._streams: dict[tuple[Any, ...], tuple[dict[str, str], str]] = {}
        self._limit = limit

    def stream(self, record: Record, values: tuple[Any, ...]) -> tuple[dict[str, str], str]:
        """The record's labels (shared: not to be changed) and their :func:`label_string`;
        ``values``: the record's value of each of :attr:`paths`. Remembered by those values
        when they are strings (or missing)."""
        try:
            known = self._streams.get(values)
        except TypeError:  # a value that is a list or a dict: not remembered
            known = None
        if known is not None:
            return known
        labels = self(record)
        known = (labels, label_string(labels))
        if all(value is None or type(value) is str for value in values):
            if len(self._streams) >= self._limit:
                self._streams.clear()
            self._streams[values] = known
        return known

    def __call__(self, record: Record) -> dict[str, str]:
        labels = dict(self.static)
        for name, get in self._getters:
            value = get(record)
            if value not in (None, ""):
                labels[name] = str(value)
        return labels or dict(FALLBACK_LABELS)
