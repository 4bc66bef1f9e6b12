"""No layout steals a line of another: every generated line of every known layout is
recognised by its own recogniser (the format counted) with the fields it was written with.

All recognisers are live in one ``FileParser``, so a line claimed by the wrong family shows
up as a wrong format or wrong fields. Layouts come from ``strategies_*.py`` (see
``layouts.py``)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from shipper.parse import ParseCounts
from tests.unit.parse.families.layouts import Layout
from tests.unit.parse.test_golden import run_lines


def _layouts() -> list[Layout]:
    found: list[Layout] = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("strategies_"):
            module = importlib.import_module(f"tests.unit.parse.families.{info.name}")
            found.extend(module.LAYOUTS)
    return found


LAYOUTS = _layouts()


def check_line(layout_format: str, line: str, expected: dict[str, Any]) -> None:
    """The line parses into one record of ``layout_format`` carrying ``expected``."""
    counts = ParseCounts()
    records = run_lines([line], counts=counts)
    assert len(records) == 1, (line, records)
    assert dict(counts.formats) == {layout_format: 1}, (line, dict(counts.formats))
    record = records[0]
    for key, want in expected.items():
        if key == "attributes":
            got = {k: record["attributes"].get(k, "<missing>") for k in want}
            assert got == want, (line, record)
        else:
            assert record.get(key) == want, (key, line, record)


def test_every_family_contributes_layouts() -> None:
    """The boundary test is not vacuous: layouts were found, with distinct names."""
    names = [layout.name for layout in LAYOUTS]
    assert len(names) >= 10
    assert len(names) == len(set(names))


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_generated_lines_parse_as_their_own_layout(layout: Layout) -> None:
    """Generated lines of this layout are recognised by it, never by another family."""

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(layout.lines)
    def run(case: tuple[str, dict[str, Any]]) -> None:
        check_line(layout.format, *case)

    run()
