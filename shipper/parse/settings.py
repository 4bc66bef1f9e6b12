"""The ``parse:`` section: how lines become records (the parser's own settings)."""

from __future__ import annotations

from pydantic import Field, field_validator

from shipper.parse.runtime import RuntimeFormat
from shipper.parse.start_pattern import StartPattern
from shipper.units import Duration, Model, Size


class MultilineSettings(Model):
    """``parse.multiline``: how long and how far a record may continue on later lines."""

    #: a held record (it may continue on the next line) is shipped after this much quiet
    flush_after: Duration = 0.5
    max_lines: int = Field(500, ge=1)
    max_bytes: Size = 1_048_576
    #: per path glob (matched like ``parse.formats``), a regex for the first line of a
    #: record (RE2 syntax, searched: anchor it with ``^``); in such a file every other line
    #: continues the pending record, instead of the built-in continuation rules
    start: dict[str, StartPattern] = {}


class ParseSettings(Model):
    """How lines become records."""

    default_timezone: str = "UTC"
    multiline: MultilineSettings = MultilineSettings()
    #: a JSON line nested deeper ships as a text record (message = the line), counted as
    #: ``json_too_deep``; orjson encodes 254 levels, a record and its wrappers add 1-3,
    #: recursive walkers (redaction, ``explain``) need room below Python's 1,000 frames
    max_json_depth: int = Field(200, ge=2, le=224)
    #: per-glob format override (``auto``, ``cri``, ``docker``, ``plain``), matched on the path
    formats: dict[str, RuntimeFormat] = {}

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
