"""One line of text -> ``(format, partial record)``: JSON objects first, then text layouts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from shipper.parse.json_line import JsonLineParser, too_deep
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer


class LineParser:
    """Chooses the parser with a first-character check; never raises on bad input."""

    def __init__(self, stamps: TimestampNormalizer, errors: Counter[str],
                 max_json_depth: int) -> None:
        self.stamps = stamps
        self._json = JsonLineParser(stamps)
        self.text = TextParser(stamps, errors, max_json_depth).parse
        self._errors = errors
        self._max_depth = max_json_depth
        # a line nested deeper than the limit holds more brackets than that, and
        # every bracket level costs at least 2 characters: shorter lines skip the count
        self._deep_chars = 2 * max_json_depth

    def json(self, text: str) -> dict[str, Any] | None:
        """The record fields of a line that is a JSON object, else ``None`` (a broken
        object counts as ``invalid_json``); call it for lines that start with ``{``."""
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._errors["invalid_json"] += 1
            return None
        if value.__class__ is not dict:
            return None
        # nested containers at all (two memchr) before counting them
        if len(text) > self._deep_chars and (text.find("{", 1) != -1 or "[" in text) and (
                self._too_deep(text, value)):
            self._errors["json_too_deep"] += 1
            return self._json.too_deep_record(value, text)
        return self._json.parse(value)

    def _too_deep(self, text: str, value: dict[str, Any]) -> bool:
        """Deeper than the limit needs more brackets than that: count them with
        ``find`` (memchr) up to the limit, cheap for the few brackets of a log line (a
        ``count`` scan costs ~5 instructions a character); past it, walk ``value``."""
        limit = self._max_depth
        find = text.find
        brackets = 0
        for bracket in "{[":
            at = find(bracket)
            while at != -1:
                brackets += 1
                if brackets > limit:
                    return too_deep(value, limit)
                at = find(bracket, at + 1)
        return False

    def parse(self, text: str) -> tuple[str, dict[str, Any]]:
        """``("json" | "logfmt" | "access" | "text", record fields)``; the record has
        ``timestamp`` (``None`` when the line has none), ``level``, ``message``,
        ``attributes`` and ``logger`` when known. (``FileParser`` calls ``json`` and
        ``text`` itself, so a JSON line costs no tuple and no extra call.)"""
        if text[:1] == "{":
            record = self.json(text)
            if record is not None:
                return "json", record
        return self.text(text)
