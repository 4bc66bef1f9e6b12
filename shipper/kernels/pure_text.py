"""The pure-Python twin of the text-line kernel in ``_compiled.pyx`` (its last block).

``text_fields`` is the fast path of :func:`shipper.parse.partial.partial_record` for the
common case, an ASCII message: the same record, or ``None`` where the general function
must run (a non-ASCII message, which may open with an emoji marker; a quote or more than
4 KiB with an ``=``, which the quoted-pairs regex reads; a message opening
``METHOD /``, which may be a bare request). The equivalence tests hold both twins to
each other and to ``partial_record``.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.kernels.pure import trailing_pairs

#: a logger name before `` - LEVEL - `` (``text._NAME`` within ASCII)
_LOGGER = re.compile(r"[A-Za-z0-9_.\-:/<>$]+")

#: messages that may be a bare request (``access.bare_request``): the general path reads them
REQUEST_HEADS = ("GET /", "POST /", "PUT /", "PATCH /", "DELETE /", "HEAD /", "OPTIONS /",
                 "CONNECT /", "TRACE /")
#: longest message whose trailing pairs the kernel splits (``logfmt._TAIL_WINDOW``)
PAIRS_MAX = 4096


def text_fields(stamp: str | None, level: str | None, message: str,
                logger: str | None) -> dict[str, Any] | None:
    """``{"timestamp", "level" (``info`` when none), "message", "attributes"[, "logger"]}``
    with the run of ``key=value`` words that ends an ASCII ``message`` moved into the
    attributes; ``None`` for any message the general ``partial_record`` must read."""
    if not message.isascii():
        return None
    attributes: dict[str, Any] = {}
    if "=" in message:
        if len(message) > PAIRS_MAX or '"' in message:
            return None
        message, pairs = trailing_pairs(message)
        if pairs is not None:
            attributes = pairs
    if message.startswith(REQUEST_HEADS):
        return None
    record: dict[str, Any] = {"timestamp": stamp, "level": level or "info",
                              "message": message, "attributes": attributes}
    if logger:
        record["logger"] = logger
    return record


def stamped_fields(stamp: str | None, rest: str,
                   levels: dict[str, str]) -> dict[str, Any] | None:
    """The record of what follows a line's leading date-time (``rest``) in the two
    generic layouts of ``TextParser._after_timestamp`` when it is ASCII and plain:
    ``LEVEL msg`` (the level a key of ``levels``, no ``[thread]`` or ``logger - `` after
    it) and Python's ``- name - LEVEL - msg``; ``None`` for anything else (zap's tab,
    pipes, other words, and whatever ``text_fields`` declines)."""
    if not rest.isascii() or rest[:1] == "\t":
        return None
    rest = rest.lstrip(" ")
    if rest[:1] == "-" and rest[1:2] == " ":
        parts = rest[2:].split(" - ", 2)
        if len(parts) != 3:
            return None
        level = levels.get(parts[1].strip())
        if level is None or _LOGGER.fullmatch(parts[0]) is None:
            return None
        return text_fields(stamp, level, parts[2], parts[0])
    if rest[:1] == "|":
        return None
    token, _, after = rest.partition(" ")
    level = levels.get(token)
    if level is None:
        return None
    message = after.lstrip(" ")
    if message[:1] == "[" or " - " in message:
        return None
    return text_fields(stamp, level, message, None)
