"""``ParseCounts``: what one file's parser counts (records per format, repaired input
problems per kind) until the pipeline takes the counts into its metrics."""

from __future__ import annotations

from collections import Counter


class ParseCounts:
    """Records per format and repaired input problems per kind, since the last ``take``."""

    def __init__(self) -> None:
        self.formats: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def take(self) -> tuple[Counter[str], Counter[str]]:
        """Return both counts and reset the counters in place (the pipeline flushes them
        to metrics): the joiner, the runtime unwrapper and the line parsers of every open
        file hold these very ``Counter`` objects."""
        formats, errors = Counter(self.formats), Counter(self.errors)
        self.formats.clear()
        self.errors.clear()
        return formats, errors
