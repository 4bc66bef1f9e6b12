"""The sinks scenario's pairs differ only in their sink: the stdout run loads a config file
too, so loading one is not charged to the HTTP sinks alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.settings import BenchSettings
from bench.sinks import _row, sink_command
from shipper.config import load_settings


def _config(argv: list[str]) -> str:
    return argv[argv.index("--config") + 1]


@pytest.mark.parametrize(("sink", "port"), [("stdout", None), ("http", 4318),
                                            ("loki", 3100), ("datadog", 8126)])
def test_every_run_of_a_pair_loads_a_config_naming_its_sink(tmp_path: Path, sink, port):
    """Each run gets ``--config`` with a file the shipper itself loads to exactly one sink
    of that type (stdout's included), pointed at the receiver's loopback port."""
    work = tmp_path / sink
    work.mkdir()
    settings = BenchSettings(shipper=["shipper"], cache=tmp_path, results=tmp_path)
    cmd = sink_command(settings, sink, port, tmp_path / "app.log", work)
    config = _config(cmd.argv)
    assert Path(config).parent == work
    env = {"DD_API_KEY": "x"} if sink == "datadog" else {}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        loaded = load_settings(config)
    assert [s.type for s in loaded.sinks] == [sink]
    if port is not None:
        assert f"127.0.0.1:{port}" in str(loaded.sinks[0].url)


def test_the_pair_differs_in_the_config_file_alone(tmp_path: Path):
    """stdout's and loki's commands: the same arguments (each run's own work directory
    aside, the config file in it), and the same environment (only datadog gets a key)."""
    settings = BenchSettings(shipper=["shipper"], cache=tmp_path, results=tmp_path)
    argvs, envs = [], []
    for sink, port in (("stdout", None), ("loki", 3100)):
        work = tmp_path / f"work-{sink}"
        work.mkdir()
        cmd = sink_command(settings, sink, port, tmp_path / "app.log", work)
        argvs.append([arg.replace(str(work), "WORK") for arg in cmd.argv])
        envs.append(cmd.env)
    assert argvs[0] == argvs[1]
    assert "WORK/sinks.yaml" in argvs[0]
    assert envs[0] == envs[1]


def test_a_row_keeps_each_pairs_cpu_times_beside_their_ratio():
    """A row's ratio is the median of its pairs' ratios, and each pair's stdout and sink
    CPU seconds are kept in round order, so a wide spread can be traced to the run that
    moved (the stdout run or the sink's)."""
    stats = {"requests": 3, "records": 10, "shipped": 10}
    pairs = [(2.0, 2.5, stats), (1.6, 2.4, stats), (2.0, 2.6, stats)]
    logged: list[str] = []
    row = _row("loki", 200_000, pairs, logged.append)
    assert row["ratios"] == pytest.approx([1.25, 1.5, 1.3])
    assert row["ratio_vs_stdout"] == pytest.approx(1.3)
    assert row["cpu_s"] == [[2.0, 2.5], [1.6, 2.4], [2.0, 2.6]]
    assert row["complete"] is True
    assert "x stdout 1.30 (1.25-1.50, 3 pairs)" in logged[0]
