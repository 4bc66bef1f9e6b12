"""The README's "Recognised formats" table is true: every example line parses, on its
own, into one record of the format the table names for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipper.parse import ParseCounts
from tests.unit.parse.test_golden import run_lines

README = Path(__file__).resolve().parents[3] / "README.md"
_ROW = re.compile(r"^\| [^|]+ \| .*\(`(?P<format>\w+)`(?:, `\w+`)?\) \| `(?P<line>.+?)`"
                  r"(?: \(.*\))? \|$")


def _rows() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Recognised formats", 1)[1].split("\n## ", 1)[0]
    rows = []
    for raw in section.splitlines():
        match = _ROW.match(raw.replace("\\|", "\x00"))
        if match is not None:
            rows.append((match["format"], match["line"].replace("\x00", "|")))
    return rows


ROWS = _rows()


def test_the_table_lists_every_family() -> None:
    """The table is not empty and names the framework formats."""
    formats = {fmt for fmt, _ in ROWS}
    assert len(ROWS) >= 40
    assert {"celery", "spring_boot", "rust_tracing", "ruby_logger", "postgres",
            "syslog", "json", "access"} <= formats


@pytest.mark.parametrize(("fmt", "line"), ROWS, ids=[f"{f}: {ln[:40]}" for f, ln in ROWS])
def test_example_line_parses_as_the_format_named(fmt: str, line: str) -> None:
    """The example line gives one record, counted under the format the table names."""
    counts = ParseCounts()
    records = run_lines([line], counts=counts)
    assert len(records) == 1
    assert dict(counts.formats) == {fmt: 1}
    assert records[0]["level"] and records[0]["timestamp"].endswith("Z")
