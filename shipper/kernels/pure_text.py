"""The pure-Python twin of the text-line kernel in ``_compiled.pyx`` (its last block).

``text_fields`` is the fast path of :func:`shipper.parse.partial.partial_record` for the
common case, an ASCII message: the same record, or ``None`` where the general function
must run (a non-ASCII message, which may open with an emoji marker; a quote or more than
4 KiB with an ``=``, which the quoted-pairs regex reads; a message opening
``METHOD /``, which may be a bare request). The equivalence tests hold both twins to
each other and to ``partial_record``.
"""

from __future__ import annotations

from typing import Any

from shipper.kernels.pure import trailing_pairs

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
