"""Path templates: ``{job_id}/{stage}/stage.log`` pulls fields out of a file's path.

A ``{name}`` part matches one path segment, ``*`` any text within a segment. A template
is matched against the trailing segments of the path; the first template that matches
wins. Compiled once into a regex.
"""

from __future__ import annotations

import re

_PART = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|\*|[^{}*]+|[{}]")


def compile_template(template: str) -> re.Pattern[str]:
    """Compile a template to a regex anchored at the end of a path (``ValueError`` if bad)."""
    if not template or template.startswith("/") and template == "/":
        raise ValueError(f"invalid path template {template!r}")
    names: set[str] = set()
    pieces: list[str] = []
    for match in _PART.finditer(template.strip("/")):
        text = match.group(0)
        if match.group(1):
            name = match.group(1)
            if name in names:
                raise ValueError(f"invalid path template {template!r}: {{{name}}} repeated")
            names.add(name)
            pieces.append(f"(?P<{name}>[^/]+)")
        elif text == "*":
            pieces.append("[^/]*")
        elif text in "{}":
            raise ValueError(f"invalid path template {template!r}: unmatched {text!r}")
        else:
            pieces.append(re.escape(text))
    if not names:
        raise ValueError(f"invalid path template {template!r}: it names no {{field}}")
    return re.compile("(?:^|/)" + "".join(pieces) + "$")


class PathTemplates:
    """The configured templates, compiled; :meth:`fields` caches per path."""

    def __init__(self, templates: list[str]) -> None:
        self._compiled = [compile_template(t) for t in templates]
        self._cache: dict[str, dict[str, str]] = {}

    def fields(self, path: str) -> dict[str, str]:
        cached = self._cache.get(path)
        if cached is None:
            cached = self._match(path)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[path] = cached
        return cached

    def _match(self, path: str) -> dict[str, str]:
        for pattern in self._compiled:
            match = pattern.search(path)
            if match:
                return match.groupdict()
        return {}
