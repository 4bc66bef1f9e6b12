"""The public corpus (../shared/corpus): every field the parser alone decides comes out
as each scenario's expected.ndjson says, per file, in order.

Fields decided later (``job_id``, ``correlation_id``, ``shard_index``, path-template
fields, ``k8s``) belong to enrich/ and are not checked here. Records that the noise filter
drops (see each scenario's dropped.json) are skipped when aligning.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"
_ENRICH_KEYS = {"file", "job_id", "correlation_id", "shard_index", "stage"}
_JOB_POLL = re.compile(r"GET /api/v1/jobs/\S+ 200")


def _scenarios() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if (p / "expected.ndjson").is_file())


def _lines(path: Path) -> list[tuple[int, bytes]]:
    out, offset = [], 0
    for raw in path.read_bytes().split(b"\n"):
        out.append((offset, raw))
        offset += len(raw) + 1
    if out and out[-1][1] == b"":
        out.pop()
    return out


def _parse_file(path: Path) -> list[dict[str, Any]]:
    parser = FileParser(str(path), ParseSettings(), ParseCounts(), clock=lambda: 1.767e9)
    return parser.feed(_lines(path)) + parser.flush(force=True)


def _is_noise(record: dict[str, Any], samples: set[str]) -> bool:
    """The noise presets' job (health checks, job polling, auth chatter, third-party
    DEBUG): such records reach the filters but not expected.ndjson."""
    raw, message = record.raw, record["message"]
    attrs = record["attributes"]
    if raw in samples or "GET /health" in raw or message == "User authenticated":
        return True
    request = f"{attrs.get('method')} {attrs.get('path')} {attrs.get('status')}"
    if _JOB_POLL.search(message) or _JOB_POLL.match(request):
        return True
    logger = record.get("logger") or ""
    return record["level"] == "debug" and logger.startswith(("urllib3", "PIL"))


def _instant(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _lookup(record: dict[str, Any], key: str) -> Any:
    return record[key] if key in record else record["attributes"].get(key, "<missing>")


def _check(record: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    problems = []
    message = record["message"]
    checks = {
        "level": lambda want: record["level"] == want,
        "message": lambda want: message.strip() == want.strip(),
        "message_contains": lambda want: want in message,
        "message_startswith": lambda want: message.startswith(want),
        "logger": lambda want: record.get("logger") == want,
        "logger_startswith": lambda want: (record.get("logger") or "").startswith(want),
        "stream": lambda want: record.get("stream") == want,
        "timestamp": lambda want: abs(_instant(record["timestamp"]) - _instant(want)) <= 1e-3,
        "lines": lambda want: message.count("\n") + 1 == want,
        "must_contain": lambda want: want in orjson.dumps(record).decode(),
        "attributes": lambda want: all(str(_lookup(record, k)) == str(v)
                                       for k, v in want.items()),
    }
    for key, want in expected.items():
        if key in _ENRICH_KEYS:
            continue
        if not checks[key](want):
            problems.append(f"{key}: want {want!r}")
    return problems


@pytest.mark.parametrize("scenario", _scenarios() or ["<no corpus>"])
def test_corpus_scenario_parses_as_expected(scenario: str) -> None:
    """Every expected record of the scenario matches the parser's output, in file order."""
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS} (it lives next to the repo)")
    root = CORPUS / scenario
    expected: dict[str, list[dict[str, Any]]] = {}
    for line in (root / "expected.ndjson").read_text().splitlines():
        item = orjson.loads(line)
        expected.setdefault(item["file"], []).append(item)
    dropped = orjson.loads((root / "dropped.json").read_bytes())
    samples = set(dropped.get("samples", []))
    failures = []
    for rel, wanted in expected.items():
        records = [r for r in _parse_file(root / "input" / rel) if not _is_noise(r, samples)]
        assert len(records) == len(wanted), f"{rel}: {len(records)} records, want {len(wanted)}"
        for index, (record, want) in enumerate(zip(records, wanted)):
            for problem in _check(record, want):
                failures.append(f"{rel}#{index} {problem}; got {record['level']} "
                                f"{record['message'][:80]!r} {record.get('logger')!r}")
    assert not failures, "\n".join(failures)


def test_corpus_every_input_file_parses_without_errors() -> None:
    """Every input file of every scenario parses with no repaired input problems and
    each record carries the full schema."""
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS} (it lives next to the repo)")
    files = sorted(CORPUS.glob("*/input/**/*.log"))
    assert files
    for path in files:
        counts = ParseCounts()
        parser = FileParser(str(path), ParseSettings(), counts, clock=lambda: 1.767e9)
        records = parser.feed(_lines(path)) + parser.flush(force=True)
        assert records, path
        assert not counts.errors, (path, counts.errors)
        assert sum(counts.formats.values()) == len(records)
        for record in records:
            assert record["timestamp"].endswith("Z") and record["level"]
            assert record["file"]["path"] == str(path)
