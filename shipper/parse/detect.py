"""One line of text -> ``(format, partial record)``: JSON objects first, then text layouts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from shipper.parse.json_line import JsonLineParser, deeper_than
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer


class LineParser:
    """The line parsers of one file; never raises on bad input. ``FileParser`` calls
    :meth:`json` for lines starting with ``{`` and ``text`` (``("logfmt" | "access" |
    "text", record fields)``) for the others or when ``json`` returns ``None``."""

    def __init__(self, stamps: TimestampNormalizer, errors: Counter[str],
                 max_json_depth: int) -> None:
        self.stamps = stamps
        #: the JSON object mapper (``FileParser`` hands it to the ``JsonLines`` kernel)
        self.json_parser = self._json = JsonLineParser(stamps)
        self._text_parser = TextParser(stamps, errors, max_json_depth)
        self.text = self._text_parser.parse
        self._errors = errors
        self._max_depth = max_json_depth
        self._deep_chars = 2 * max_json_depth  # a level costs 2 characters at least

    def forget(self) -> None:
        """The next lines are another file's (see :meth:`TextParser.forget`)."""
        self._text_parser.forget()

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
        # deeper than the limit needs more than 2 * limit characters: one compare for
        # nearly every line
        if len(text) > self._deep_chars and deeper_than(text, value, self._max_depth):
            self._errors["json_too_deep"] += 1
            return self._json.too_deep_record(value, text)
        return self._json.parse(value)
