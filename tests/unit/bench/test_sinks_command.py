"""The sinks scenario's pairs differ only in their sink: the stdout run loads a config file
too, so loading one is not charged to the HTTP sinks alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.settings import BenchSettings
from bench.sinks import sink_command
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
    """stdout's and loki's commands: the same arguments but the config file's path, and
    the same environment but the Datadog key only datadog gets."""
    settings = BenchSettings(shipper=["shipper"], cache=tmp_path, results=tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stdout = sink_command(settings, "stdout", None, tmp_path / "app.log", tmp_path / "a")
    loki = sink_command(settings, "loki", 3100, tmp_path / "app.log", tmp_path / "b")
    strip = [_config(stdout.argv), _config(loki.argv), str(tmp_path / "a"),
             str(tmp_path / "b")]
    assert [a for a in stdout.argv if not any(a.startswith(s) for s in strip)] == \
        [a for a in loki.argv if not any(a.startswith(s) for s in strip)]
    assert stdout.env == loki.env
