"""Backstop for PEM private keys that reach the redactor split into one record per line.

A PEM block logged line by line (``print(key)``, a crash dump of a config file) should
arrive as one multi-line record, which the ``private_key`` rule replaces whole. When it
does not, the ``BEGIN ... PRIVATE KEY`` record is redacted by that rule, and this guard
redacts what follows it in the same file: lines that can only be the body of the block
(base64 lines of at most 80 characters, the ``Proc-Type:``/``DEK-Info:``-style header
lines of encrypted keys) up to and including the ``END`` line. The first line of any
other shape ends the block, as does ``max_lines``, so a look-alike line anywhere else is
never touched: a base64 line only counts right after an unterminated ``BEGIN``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from shipper.record import Record

_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_END = re.compile(r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_BODY = re.compile(
    r"[A-Za-z0-9+/]{1,80}={0,3}|=[A-Za-z0-9+/]{4}"  # base64 lines, the PGP checksum line
    r"|(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset): [^\n]*"
)
MAX_LINES = 1000
MAX_FILES = 1024


def _text(record: Record) -> str:
    """What the record was made of: its multi-line message, else its raw line (a body
    line may have been parsed into something else, e.g. ``key=`` pairs of logfmt)."""
    message = record.get("message")
    if isinstance(message, str) and "\n" in message:
        return message
    raw = record.raw
    if isinstance(raw, str):
        return raw
    return message if isinstance(message, str) else ""


def opens_block(record: Record) -> bool:
    """The record holds a ``BEGIN ... PRIVATE KEY`` line with no ``END`` after it."""
    text = _text(record)
    if "-----BEGIN" not in text:
        return False
    begins = list(_BEGIN.finditer(text))
    return bool(begins) and _END.search(text, begins[-1].end()) is None


class PemGuard:
    """Per file: the lines left in an open PEM private key block."""

    def __init__(self, max_lines: int = MAX_LINES, max_files: int = MAX_FILES) -> None:
        self._max_lines = max_lines
        self._max_files = max_files
        self._open: OrderedDict[Any, int] = OrderedDict()

    @property
    def active(self) -> bool:
        """Some file is inside a block (its next records must be looked at)."""
        return bool(self._open)

    def is_open(self, record: Record) -> bool:
        """``record``'s file is inside a block."""
        return bool(self._open) and _file_of(record) in self._open

    def open(self, record: Record) -> None:
        """``record`` opened a block in its file."""
        key = _file_of(record)
        self._open[key] = self._max_lines
        self._open.move_to_end(key)
        while len(self._open) > self._max_files:
            self._open.popitem(last=False)

    def swallows(self, record: Record) -> bool:
        """``True`` when ``record`` is part of an open block of its file (body, header or
        the ``END`` line, which closes it); any other record closes the block."""
        if not self._open:
            return False
        key = _file_of(record)
        left = self._open.get(key)
        if left is None:
            return False
        lines = [line.strip() for line in _text(record).split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            return False
        ends = _END.fullmatch(lines[-1]) is not None
        body = lines[:-1] if ends else lines
        if not all(_BODY.fullmatch(line) for line in body) or len(body) > left:
            del self._open[key]
            return False
        if ends:
            del self._open[key]
        else:
            self._open[key] = left - len(body)
        return True


def _file_of(record: Record) -> Any:
    file = record.get("file")
    return file.get("path") if isinstance(file, dict) else None
