"""The ``sink_instructions`` bench scenario: each HTTP sink's instructions against
stdout's, from cachegrind's counts, with the receiver's record count checked; a skip (not
a failure, not a made-up figure) without valgrind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import sink_instructions
from bench.corpora import Corpus
from bench.corpus import Manifest
from bench.report import scenario_lines, sink_instruction_line
from bench.settings import BenchSettings, default_shipper


def _corpus(tmp_path: Path, lines: list[bytes]) -> Corpus:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "app.log").write_bytes(b"".join(lines))
    return Corpus("own", tmp_path, Manifest(lines=len(lines), json=len(lines), text=0,
                                            noise=0, bytes=0, generator="test"))


def test_rows_divide_each_sinks_per_line_count_by_stdouts() -> None:
    """Per line is (run - empty run) / lines; the ratios are to stdout's per line and
    whole run; a sink is complete when its receiver got what stdout wrote (900 of the
    1,000 lines here: the rest were noise)."""
    counts = {"stdout": (1_000_000, 3_000_000, 900), "loki": (1_400_000, 3_900_000, 900),
              "http": (1_400_000, 3_800_000, 899)}
    stdout, loki, http = sink_instructions.sink_rows(counts, 1_000)
    assert stdout["per_line"] == 2_000
    assert "per_line_vs_stdout" not in stdout
    assert loki["per_line"] == 2_500 and loki["per_line_vs_stdout"] == 1.25
    assert loki["run_vs_stdout"] == pytest.approx(1.3)
    assert loki["complete"] is True
    assert http["complete"] is False


def test_the_printed_line_says_the_ratios_and_a_loss() -> None:
    """A sink's line carries its start-up, its instructions a line and both ratios, and
    says LOST when its receiver did not get what stdout wrote."""
    row = {"sink": "loki", "lines": 20_000, "startup_instructions": 1.783e9,
           "run_instructions": 2.608e9, "per_line": 41_250.0, "records": 16_000,
           "per_line_vs_stdout": 1.231, "run_vs_stdout": 1.283, "complete": False}
    line = sink_instruction_line(row)
    assert "start-up 1.783 G" in line and "41,250 a line" in line
    assert "× stdout 1.231 a line, 1.283 the whole run of 20,000 lines" in line
    assert "LOST: 16000 records received" in line
    assert "LOST" not in sink_instruction_line({**row, "complete": True})
    assert scenario_lines({"sink_instructions": [row]}) == [line]


def test_without_valgrind_the_scenario_is_skipped(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No valgrind on the PATH: a ``skipped`` result saying why, no run started."""
    monkeypatch.setenv("PATH", str(tmp_path))
    corpus = _corpus(tmp_path / "corpus", [b'{"message": "x"}\n'])
    found = sink_instructions.run_sink_instructions(BenchSettings(cache=tmp_path), corpus)
    assert isinstance(found, dict) and "valgrind" in found["skipped"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_every_sink_is_counted_under_cachegrind_and_delivers_every_record(
        tmp_path: Path) -> None:
    """A real run at a tiny size (stdout and loki: ~1 min under valgrind): both run under
    cachegrind, loki into the loopback receiver, which gets the records stdout wrote, and
    each count is a real total (a data run costs more than the empty one)."""
    lines = [b'{"timestamp":"2026-12-05T06:00:00Z","level":"info","message":"job %d"}\n' % i
             for i in range(50)]
    settings = BenchSettings(shipper=default_shipper(), cache=tmp_path, results=tmp_path,
                             timeout=600)
    rows = sink_instructions.run_sink_instructions(settings, _corpus(tmp_path / "c", lines),
                                                   log=lambda _: None, sinks=("loki",))
    assert isinstance(rows, list)
    assert [row["sink"] for row in rows] == ["stdout", "loki"]
    assert rows[0]["records"] == 50
    for row in rows:
        assert row["run_instructions"] > row["startup_instructions"] > 0
        assert row.get("complete", True), row
