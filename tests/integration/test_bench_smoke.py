"""The benchmark harness at a tiny size: it runs end to end and writes a sane result.

Not a timing test: no figure is asserted, only that every part of the harness produced
measurements and that line counts agree where the system under test is known to be exact.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.corpus import count_lines, generate
from bench.latency import percentile
from bench.settings import REPO, default_shipper

pytestmark = pytest.mark.integration


def _run_bench(tmp_path: Path, **env: str) -> tuple[dict, str]:
    results = tmp_path / "results"
    base = {"BENCH_LINES": "2000", "BENCH_RUNS": "1", "BENCH_PEERS": "0", "BENCH_SHARED": "0",
            "BENCH_LATENCY_SECONDS": "1", "BENCH_FILES": "1,10", "BENCH_IDLE_SECONDS": "1",
            "BENCH_SINK_ROUNDS": "1",
            "BENCH_CACHE": str(tmp_path / "cache"), "BENCH_RESULTS_DIR": str(results)}
    proc = subprocess.run([sys.executable, "-m", "bench"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=os.environ | base | env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = results.glob("*.json")
    return json.loads(path.read_text()), proc.stdout


def test_own_corpus_has_the_shared_mix_and_size(tmp_path: Path) -> None:
    """50/35/15 json/text/noise, ~222 bytes a line, CRI twin, noise counted by the regex."""
    manifest = generate(20_000, tmp_path)
    assert abs(manifest.json / 20_000 - 0.50) < 0.02
    assert abs(manifest.text / 20_000 - 0.35) < 0.02
    assert abs(manifest.noise / 20_000 - 0.15) < 0.02
    assert 210 < manifest.bytes / manifest.lines < 235
    assert count_lines(tmp_path / "app.log") == (20_000, manifest.noise, manifest.json,
                                                 manifest.bytes)
    cri = (tmp_path / "app.cri.log").read_bytes().splitlines()
    plain = (tmp_path / "app.log").read_bytes().splitlines()
    assert [line.split(b" stdout F ", 1)[1] for line in cri] == plain


def test_own_corpus_is_deterministic(tmp_path: Path) -> None:
    """Two generations with the same seed are byte-identical (figures compare over time)."""
    generate(3000, tmp_path / "a")
    generate(3000, tmp_path / "b")
    assert (tmp_path / "a/app.log").read_bytes() == (tmp_path / "b/app.log").read_bytes()


def test_percentile_is_nearest_rank() -> None:
    """p99 of 1..100 is 99, p50 is 50, and one value is its own percentile."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0
    assert percentile([7.0], 99) == 7.0


def test_harness_mechanics_with_the_python_loop_as_shipper(tmp_path: Path) -> None:
    """With the exact Python + orjson loop standing in for the shipper, every scenario runs
    and every line count matches the corpus manifest (proves the counting, the daemon
    completion rule, the latency probe path, the many-files split, with and without a state
    directory, and the busy file among quiet ones)."""
    result, table = _run_bench(tmp_path, BENCH_SHIPPER=f"{sys.executable} -m bench.baseline")
    rows = {row["system"]: row for row in result["throughput"]}
    assert set(rows) == {"shipper-once", "shipper-once-pure", "shipper-once-cri",
                         "shipper-follow", "python-orjson"}
    for row in rows.values():
        assert row["lines_match"], row
        assert row["cpu_s_per_1m"] > 0 and row["peak_rss_mib"] > 0
    assert rows["shipper-once"]["ratio_vs"]["python-orjson"] > 0
    assert result["latency"]["received"] == result["latency"]["sent"] == 10_000
    files = {(r["files"], r["checkpoints"]): r for r in result["files"]}
    assert set(files) == {(1, False), (10, False), (1, True), (10, True)}
    assert all(r["lines_out"] == r["expected_out"] for r in files.values())
    for checkpoints in (False, True):  # the fewest files are the base of their kind
        assert "ratio_vs_base" not in files[(1, checkpoints)]
        assert files[(10, checkpoints)]["base_files"] == 1
        assert files[(10, checkpoints)]["ratio_vs_base"] > 0
    assert "× 1 file(s)" in table and "files    10 +state:" in table
    assert result["idle"]["idle_rss_mib"] > 0
    assert result["idle"]["idle_cpu_pct"] >= 0 and result["idle"]["idle_wakeups_s"] > 0
    assert "| own | shipper --once |" in table
    busy = {(r["quiet"], r["checkpoints"]): r for r in result["busy"]}
    assert {key: r["received"] == r["sent"] > 0 for key, r in busy.items()} == {
        (0, False): True, (1000, False): True, (0, True): True, (1000, True): True}
    for state in (False, True):  # each to the busy file alone, of its kind
        assert "ratio_vs_alone" not in busy[(0, state)]
        assert busy[(1000, state)]["ratio_vs_alone"] > 0
    assert "× alone" in table and "busy  1000 quiet +state:" in table
    _check_kernels(result, table)


def _check_kernels(result: dict, table: str) -> None:
    """The kernels scenario timed every kernel both ways (or says the extension is not
    built), and the table compares the pure and compiled ``--once`` rows."""
    if importlib.util.find_spec("shipper.kernels._compiled") is None:
        assert "not built" in result["kernels"]["error"]
    else:
        rows = result["kernels"]["rows"]
        assert {r["kernel"] for r in rows} == {"split_lines", "iso_prefix", "trailing_pairs"}
        assert all(r["calls"] > 0 and r["pure_us"] > 0 and r["compiled_us"] > 0 for r in rows)
    assert "kernels end to end (own): run --once" in table


@pytest.mark.skipif(not default_shipper(), reason="the shipper CLI is not installed yet")
def test_harness_end_to_end_with_the_shipper(tmp_path: Path) -> None:
    """The real ``shipper`` CLI through every scenario at 2,000 lines: rows are measured
    (not failed), follow mode delivers the latency probes, idle RSS is read, and the parse
    cost of every layout family in the golden files is measured against the JSON path."""
    result, table = _run_bench(tmp_path)
    rows = {row["system"]: row for row in result["throughput"]}
    for key in ("shipper-once", "shipper-once-pure", "shipper-once-cri", "shipper-follow"):
        assert "error" not in rows[key], rows[key]
        assert rows[key]["lines_out"] > 0 and rows[key]["cpu_s_per_1m"] > 0
    assert result["latency"]["received"] > 0
    assert result["idle"]["idle_rss_mib"] > 0
    assert result["idle"]["idle_cpu_pct"] >= 0 and result["idle"]["idle_wakeups_s"] > 0
    assert all("cpu_s_per_1m" in row for row in result["files"])
    sinks = {row["sink"]: row for row in result["sinks"] if row["sink"] != "stdout"}
    assert set(sinks) == {"http", "loki", "datadog"}  # each measured in one pair, whole
    assert all(row["runs"] == 1 and row["ratio_vs_stdout"] > 0 and row["complete"]
               for row in sinks.values()), sinks
    assert "shipper --once" in table
    families = {row["format"]: row for row in result["families"]}
    assert {"json", "text", "logfmt", "access"} <= set(families)
    assert families["json"]["ratio_vs_json"] == 1.0
    assert all(row["us_per_line"] > 0 for row in families.values())
    assert "parse         json:" in table
