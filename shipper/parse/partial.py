"""The partial record every text layout returns: ``timestamp``, ``level``, ``message``,
``attributes`` and ``logger`` when the line names one.

Shared by :mod:`shipper.parse.text` and the framework families
(:mod:`shipper.parse.families`): leading emoji markers give a level, a trailing run of
``key=value`` pairs moves into the attributes, a message opening ``GET /path 200`` gets
request attributes.

Hot path: an ASCII message (nearly every line) is read by the ``text_fields`` kernel
(compiled or pure, :mod:`shipper.kernels`), which returns ``None`` for what only
``general_record`` reads (markers, quoted pairs, bare requests).
"""

from __future__ import annotations

from typing import Any

from shipper.kernels import text_fields
from shipper.parse.access import METHOD_INITIALS, bare_request
from shipper.parse.logfmt import split_trailing_pairs
from shipper.parse.markers import leading_marker


def partial_record(stamp: str | None, level: str | None, message: str,
                   logger: str | None) -> dict[str, Any]:
    """The record fields of a text line (level ``info`` when the line gives none)."""
    return text_fields(stamp, level, message, logger) or general_record(
        stamp, level, message, logger)


def general_record(stamp: str | None, level: str | None, message: str,
                   logger: str | None) -> dict[str, Any]:
    """``partial_record`` for any message (the reference ``text_fields`` agrees with)."""
    if message and message[0] >= "\u2000":
        marker_level, message = leading_marker(message)
        level = level or marker_level
    pairs = None
    if "=" in message:
        message, pairs = split_trailing_pairs(message)
    attributes: dict[str, Any] = pairs if pairs is not None else {}
    if message and message[0] in METHOD_INITIALS:
        bare_request(message, attributes)
    record: dict[str, Any] = {"timestamp": stamp, "level": level or "info",
                              "message": message, "attributes": attributes}
    if logger:
        record["logger"] = logger
    return record
