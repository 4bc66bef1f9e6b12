"""What a family's property tests contribute to the boundary test (``test_boundaries``).

A family module ``strategies_<family>.py`` in this package defines ``LAYOUTS: list[Layout]``:
for each layout it recognises, a hypothesis strategy of ``(line, expected)`` pairs with
generated content (messages, names, levels, times, fields). ``expected`` holds the record
fields the line must give: ``timestamp``, ``level``, ``logger``, ``message`` compared
exactly, ``attributes`` as a subset, and ``logger: None`` for "no logger".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis.strategies import SearchStrategy


@dataclass(frozen=True)
class Layout:
    """One layout: its ``name`` (unique), the ``format`` its recogniser counts (several
    layouts may share one, e.g. ``access``) and generated lines of it."""

    name: str
    format: str
    lines: SearchStrategy[tuple[str, dict[str, Any]]]
