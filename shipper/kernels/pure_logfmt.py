"""The pure-Python twin of the ``logfmt_pairs`` kernel (``_compiled.pyx``, its logfmt
block): the pairs of a whole logfmt line, or ``None``.

This is the reference, the two regexes :func:`shipper.parse.logfmt.parse_logfmt` runs
(defined here, once: ``logfmt.py`` imports them, since ``shipper.kernels`` cannot import
``shipper.parse``;
``_LOGFMT_LINE``: the line is only ``key=value`` pairs, each followed by spaces/tabs or
the end, possessive, no backtracking; ``_PAIR.findall``: the pairs, a quoted value with
its quotes taken off and ``\\"``/``\\\\`` undone). The compiled twin reads the same
grammar in one typed scan for ASCII text, the only text ``parse_logfmt`` hands it;
``tests/unit/kernels/test_logfmt_pairs.py`` holds both to these regexes and to
``logfmt.py``'s own.
"""

from __future__ import annotations

import re

_PAIR = re.compile(r'([A-Za-z_@][\w.\-/@]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_START = re.compile(r'[A-Za-z_@][\w.\-/@]*=')
_LOGFMT_LINE = re.compile(
    r'(?:[A-Za-z_@][\w.\-/@]*+=(?:"(?:[^"\\]|\\.)*+"|[^\s"]*+)(?:[ \t]++|$))++')


def _unquote(value: str) -> str:
    if value[:1] == '"' and len(value) >= 2:
        value = value[1:-1]
        if "\\" in value:
            value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def logfmt_pairs(text: str) -> dict[str, str] | None:
    """All pairs of an ASCII line made only of ``key=value`` pairs (separated by spaces or
    tabs), else ``None`` (always for text that is not ASCII: ``parse_logfmt`` reads that
    with :func:`regex_pairs` itself, and both twins agree on every input)."""
    return regex_pairs(text) if text.isascii() else None


def regex_pairs(text: str) -> dict[str, str] | None:
    """The pairs of a line made only of ``key=value`` pairs, any text (``\\w``/``\\s``
    are Unicode here), else ``None``: one possessive whole-line match, then one
    ``findall``."""
    if _LOGFMT_START.match(text) is None or _LOGFMT_LINE.fullmatch(text) is None:
        return None
    return {key: (_unquote(value) if value[:1] == '"' else value)
            for key, value in _PAIR.findall(text)}
