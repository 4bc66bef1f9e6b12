"""The ``instructions`` bench scenario: cachegrind's total is read right, and the
scenario reports a skip (not a failure, not a made-up figure) without valgrind.

Not a timing test; the scenario itself runs under ``make bench-ir`` (valgrind is too
slow for the suite).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import instructions
from bench.corpora import Corpus
from bench.corpus import Manifest
from bench.errors import BenchError
from bench.report import instruction_lines
from bench.settings import BenchSettings

pytestmark = pytest.mark.integration

_SUMMARY = """==123== Cachegrind, a cache and branch-prediction profiler
==123== I   refs:      1,521,184,733
"""


def test_instruction_count_reads_the_i_refs_total() -> None:
    """The ``I refs`` figure of cachegrind's summary, commas removed."""
    assert instructions.instruction_count(_SUMMARY) == 1_521_184_733


def test_instruction_count_without_a_total_is_an_error() -> None:
    """Output without the summary (valgrind failed early) raises, never reads as 0."""
    with pytest.raises(BenchError, match="I refs"):
        instructions.instruction_count("==1== valgrind: failed to start tool\n")


def test_head_takes_the_first_lines(tmp_path: Path) -> None:
    """``head`` copies exactly the first N lines and says how many it found."""
    source = tmp_path / "in.log"
    source.write_bytes(b"a\nb\nc\n")
    assert instructions.head(source, 2, tmp_path / "two.log") == 2
    assert (tmp_path / "two.log").read_bytes() == b"a\nb\n"
    assert instructions.head(source, 9, tmp_path / "all.log") == 3


def test_without_valgrind_the_scenario_is_skipped(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No valgrind on the PATH: a ``skipped`` row and a report line saying why."""
    monkeypatch.setenv("PATH", str(tmp_path))
    corpus = Corpus("own", tmp_path, Manifest(lines=10, json=5, text=4, noise=1, bytes=100,
                                              generator="test"))
    row = instructions.run_instructions(BenchSettings(cache=tmp_path), corpus)
    assert "valgrind" in row["skipped"]
    assert instruction_lines(row) == [f"instructions: skipped: {row['skipped']}"]


def test_report_line_shows_start_up_and_per_line_figures() -> None:
    """The printed line carries start-up, plain and CRI per line and the CRI overhead."""
    row = {"lines": 20_000, "startup_instructions": 1.5e9, "plain_per_line": 90_000.0,
           "cri_per_line": 99_000.0, "cri_over_plain": 0.1}
    [line] = instruction_lines(row)
    assert "1.500 G" in line and "90,000 plain" in line and "99,000 CRI" in line
    assert "+10.0%" in line


def test_an_env_prefix_becomes_variables_so_valgrind_counts_python() -> None:
    """A snapshot's ``env PYTHONPATH=... python -P -m shipper.cli`` is run as python with
    ``PYTHONPATH`` set (valgrind would otherwise count ``env`` and stop there)."""
    argv, env = instructions._without_env(
        ["/usr/bin/env", "PYTHONPATH=/snap", "/py", "-P", "-m", "shipper.cli"], {"A": "1"})
    assert argv == ["/py", "-P", "-m", "shipper.cli"]
    assert env == {"A": "1", "PYTHONPATH": "/snap"}
    assert instructions._without_env(["/py", "x=1"], {}) == (["/py", "x=1"], {})
