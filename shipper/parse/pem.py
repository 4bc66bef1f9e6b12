"""Private-key blocks (PEM and PGP armor) written over several lines.

A line that holds ``-----BEGIN <...> PRIVATE KEY-----`` (``RSA``, ``EC``, ``DSA``,
``ENCRYPTED``, ``OPENSSH``, none) or ``-----BEGIN PGP PRIVATE KEY BLOCK-----`` without the
matching ``-----END`` after it opens a block, whatever comes before the marker on that line.
Until the END line, every key line (base64, an armor header such as ``Proc-Type:`` or
``Version:``, a blank line) joins the same record, so the redactor sees the block whole.
A line that is none of these ends the block early (a truncated key must not swallow the
log lines after it).
"""

from __future__ import annotations

import re

#: cheap pre-check for ``header``: the literal every opening line holds
BEGIN_MARK = "-----BEGIN"
END_MARK = "-----END"
_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", re.ASCII)
_KEY_LINE = re.compile(
    r"[ \t]*(?:[A-Za-z0-9+/]+={0,2}|=[A-Za-z0-9+/]{4}"
    r"|(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset|MessageID): [^\n]*)?[ \t]*$",
    re.ASCII)


def header(text: str) -> str | None:
    """The BEGIN marker of a private-key block that ``text`` opens and does not close
    (the last one on the line), else ``None``. Call it when ``BEGIN_MARK in text``."""
    found: re.Match[str] | None = None
    for found in _BEGIN.finditer(text):  # noqa: B007 - the last match is the one wanted
        pass
    if found is None or END_MARK in text[found.end():]:
        return None
    return found.group(0)


def key_line(text: str) -> bool:
    """True for a line that can sit inside a key block: base64, an armor header, a blank
    line, or the END line."""
    return _KEY_LINE.match(text) is not None or END_MARK in text
