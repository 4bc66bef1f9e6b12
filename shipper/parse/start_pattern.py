"""``parse.multiline.start``: a user's regex for the first line of a record, per path glob.

For a layout the shipper does not know, a user names what the first line of a record looks
like (``"legacy-*.log": '^\\d{2}:\\d{2}:\\d{2} '``); every other line then continues the
pending record (:class:`shipper.parse.multiline.StartJoiner`). The pattern is searched in
each line (anchor it with ``^``), in RE2 syntax: linear time on every line, so no pattern
can backtrack catastrophically (no look-around, no back-references). It is compiled once,
when the configuration is validated; a bad one is a config error naming the key and glob.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

try:  # a declared dependency; without it Python's ``re`` is used
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

_RE2_MAX_MEM = 8 << 20


class StartPattern:
    """A compiled start pattern; :attr:`matches` tells whether a line starts a record."""

    __slots__ = ("pattern", "matches")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.matches: Callable[[str], bool] = _compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StartPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"StartPattern({self.pattern!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validated from a string (or an instance); shown as the pattern string."""
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.pattern))

    @classmethod
    def _validate(cls, value: Any) -> StartPattern:
        if isinstance(value, StartPattern):
            return value
        if not isinstance(value, str) or not value:
            raise ValueError("a start pattern is a non-empty regex string")
        return cls(value)


def _compile(pattern: str) -> Callable[[str], bool]:
    """A search of ``pattern`` in a line (RE2), raising ``ValueError`` with the reason."""
    if _re2 is None:  # pragma: no cover - depends on the environment
        try:
            search = re.compile(pattern).search
        except re.error as exc:
            raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return lambda text: search(text) is not None
    options = _re2.Options()
    options.max_mem = _RE2_MAX_MEM
    options.never_capture = True  # only "does it match": no groups to record
    options.log_errors = False  # RE2 would print the reason to stderr, not as JSON
    try:
        compiled = _re2.compile(pattern.encode(), options)
    except _re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
        raise ValueError(f"invalid regex {pattern!r} (RE2 syntax): {reason}") from None
    return _matcher(compiled)


def _matcher(compiled: Any) -> Callable[[str], bool]:
    """One call into the binding per line (the module's ``search`` builds a match object
    and costs ~7 us a line; this ~1.5 us)."""
    binding = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(binding, "Anchor", None), "UNANCHORED", None)
    if binding is None or anchor is None:  # pragma: no cover - another binding version
        search = compiled.search
        return lambda text: search(text.encode()) is not None
    match = binding.Match

    def matches(text: str) -> bool:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate: RE2 sees its bytes, never a match
            data = text.encode("utf-8", "surrogatepass")
        return bool(match(anchor, data, 0, len(data))[0][0] >= 0)

    return matches


def start_pattern_for(path: str, starts: Mapping[str, StartPattern]) -> StartPattern | None:
    """The start pattern whose glob matches ``path`` (or its tail), as ``parse.formats``
    globs are matched; the first in the configuration wins. ``None``: built-in rules."""
    for glob, pattern in starts.items():
        if fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path, "*/" + glob):
            return pattern
    return None
