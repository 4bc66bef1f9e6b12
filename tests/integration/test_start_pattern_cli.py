"""Issue 16, last item, through the CLI: ``parse.multiline.start`` in a config file joins
the records of a layout the shipper does not know (``run --once`` and ``explain``); a file
the glob does not name keeps the built-in rules; a bad pattern stops start-up (exit 2)
with one line naming the key and the glob."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

#: a batch tool's own layout: a time of day, then a report on lines that are not indented
LEGACY = [
    "tool v3 starting",                                    # before the first start line
    "12:00:01 [batch] job 7 failed, report follows:",
    "rows read: 100",
    "rows rejected: 2",
    '{"row": 17, "error": "bad date"}',
    "",
    "12:00:02 [batch] job 8 started",
    "12:00:03 [batch] job 8 done",
    "summary: 1 failed",
]
#: (first line, lines joined) of each record
RECORDS = [(0, 1), (1, 4), (6, 1), (7, 2)]
CONFIG = """
parse:
  multiline:
    start:
      "legacy-*.log": '^\\d{2}:\\d{2}:\\d{2} '
"""


def shipper(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    return subprocess.run([sys.executable, "-m", "shipper.cli", *args], capture_output=True,
                          timeout=120, cwd=REPO, env=env, check=False)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    text = "\n".join(LEGACY) + "\n"
    (tmp_path / "legacy-1.log").write_text(text)
    (tmp_path / "other.log").write_text(text)  # the same lines, no pattern for it
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def offsets() -> list[int]:
    starts = [0]
    for line in LEGACY:
        starts.append(starts[-1] + len(line.encode()) + 1)
    return starts


def test_run_once_joins_the_records_of_an_unknown_layout(logs: Path) -> None:
    proc = shipper("run", "--once", "--config", str(logs / "config.yaml"), "--path",
                   f"{logs}/*.log", "--podinfo-dir", str(logs), "--listen", "off")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    legacy = [r for r in records if r["file"]["path"].endswith("legacy-1.log")]
    assert [r["message"] for r in legacy] == [
        "\n".join(LEGACY[first:first + count]).rstrip() for first, count in RECORDS]
    assert [r["file"]["offset"] for r in legacy] == [offsets()[first] for first, _ in RECORDS]
    other = [r for r in records if r["file"]["path"].endswith("other.log")]
    assert len(other) == 8  # built-in rules: each unindented line is a record of its own
    assert other[1]["message"] == LEGACY[1] and other[4]["attributes"] == {
        "row": 17, "error": "bad date"}


def test_explain_shows_the_continuation_lines_as_merged(logs: Path) -> None:
    proc = shipper("explain", "--json", "--config", str(logs / "config.yaml"),
                   str(logs / "legacy-1.log"))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) == len(LEGACY)
    starts = [first for first, _count in RECORDS]
    assert [n for n, row in enumerate(rows) if row["record"] is not None] == starts
    assert {row["fate"] for n, row in enumerate(rows) if n not in starts} == {"merged"}


def test_a_bad_pattern_stops_start_up_naming_the_key_and_the_glob(logs: Path) -> None:
    (logs / "config.yaml").write_text(CONFIG.replace("'^\\d{2}", "'^(\\d{2}"))
    proc = shipper("run", "--once", "--config", str(logs / "config.yaml"), "--path",
                   f"{logs}/*.log", "--listen", "off")
    assert proc.returncode == 2 and proc.stdout == b""
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith("shipper: config error: parse.multiline.start.legacy-*.log: "
                           "invalid regex"), line
