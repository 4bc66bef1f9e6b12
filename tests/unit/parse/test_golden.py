"""Golden cases per parser family (tests/golden/parse/*.jsonl): input lines -> expected
record fields. Each case names what it proves; ``file_offset`` checks ``file.offset`` and
``message_lines`` the number of joined lines, every other key is compared exactly. A case's
optional ``formats`` (``{format: lines}``) checks which layouts recognised its lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "parse"
NOW = 1767225600.0  # 2026-01-01T00:00:00Z: the read time of lines without a time


def _cases() -> list[Any]:
    cases = []
    for path in sorted(GOLDEN.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            case = orjson.loads(line)
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def run_lines(lines: list[str], runtime: str = "auto",
              counts: ParseCounts | None = None) -> list[dict[str, Any]]:
    counts = ParseCounts() if counts is None else counts
    parser = FileParser("/logs/app.log", ParseSettings(), counts, clock=lambda: NOW,
                        runtime_format=runtime)  # type: ignore[arg-type]
    batch, offset = [], 0
    for line in lines:
        raw = line.encode("utf-8")
        batch.append((offset, raw))
        offset += len(raw) + 1
    return parser.feed(batch) + parser.flush(force=True)


def _matches(record: dict[str, Any], key: str, want: Any) -> bool:
    if key == "file_offset":
        return record["file"]["offset"] == want
    if key == "message_lines":
        return record["message"].count("\n") + 1 == want
    if key == "message_startswith":
        return record["message"].startswith(want)
    return record.get(key, "<missing>") == want


def test_golden_files_exist_for_every_family() -> None:
    """The golden directory covers every parser family."""
    families = {p.stem for p in GOLDEN.glob("*.jsonl")}
    assert {"json", "python", "loguru", "iso_kv", "logfmt", "zap_console", "level_prefix",
            "emoji", "access", "multiline", "runtime"} <= families


@pytest.mark.parametrize("case", _cases())
def test_golden_case(case: dict[str, Any]) -> None:
    """The parser output for the case's lines carries the expected fields, in order."""
    counts = ParseCounts()
    records = run_lines(case["lines"], case.get("runtime", "auto"), counts)
    assert len(records) == len(case["expect"]), [r["message"] for r in records]
    if "formats" in case:  # which layouts recognised the lines: {format: lines}
        assert dict(counts.formats) == case["formats"]
    for record, expected in zip(records, case["expect"]):
        for key, want in expected.items():
            assert _matches(record, key, want), (key, want, record)
        assert record["file"]["path"] == "/logs/app.log"
        assert record["timestamp"].endswith("Z")
