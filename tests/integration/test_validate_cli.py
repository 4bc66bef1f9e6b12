"""``shipper validate`` as a subprocess: compiles everything, starts nothing, exit 0 / 2."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}


def shipper(*args):
    return subprocess.run([sys.executable, "-m", "shipper.cli", *args], check=False,
                          capture_output=True,
                          timeout=60, cwd=REPO, env=clean_env())


def busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_a_good_config_exits_zero_with_a_summary_and_creates_nothing(tmp_path):
    state = tmp_path / "state"  # does not exist: validate must not create it
    held, port = busy_port()  # `run` could not listen here; validate does not try
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"state_dir: {state}\nserver: {{listen: '127.0.0.1:{port}'}}\n"
        "path_templates: ['{job_id}/{stage}/stage.log']\n"
        "filters: {drop: [{name: ticks, match: {message: '^tick'}}], dedupe: {enabled: true}}\n"
        "sinks:\n"
        "  - {type: http, name: errors, url: 'http://127.0.0.1:9/in', buffer: {type: disk},\n"
        "     match: {min_level: error, k8s.labels.team: '^pay'}}\n"
        "  - {type: stdout}\n")
    with held:
        proc = shipper("validate", "--config", str(cfg))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    assert out.startswith(f"config ok: {cfg}\n")
    assert "errors (http, match: min_level=error, k8s.labels.team=/^pay/)" in out
    assert "stdout (stdout, every record)" in out and "drop" in out and "dedupe" in out
    assert not state.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@pytest.mark.parametrize("text,line", [
    ("sinks:\n  - {type: stdout, name: out, match: {message: '('}}\n",
     ("shipper: config error: sinks.out.match.message: invalid regex '(': missing ), "
     "unterminated subpattern at position 0")),
    ("filters: {drop: [{name: x, match: {mesage: 'a'}}]}\n",
     ("shipper: config error: filters.drop.0.match: unknown field 'mesage' (use message, "
     "logger, level, raw, job_id, attributes.<key>, k8s.labels.<key>, ...)")),
    # found only by building the sink worker, not by the settings models
    ("sinks:\n  - {type: http, name: h, url: 'http://127.0.0.1:9/', buffer: {type: disk}}\n",
     ("shipper: config error: sinks.h.buffer.type: a disk buffer needs state_dir (or "
     "buffer.path)")),
])
def test_a_bad_config_exits_two_with_the_same_line_as_run(tmp_path, text, line):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"paths: ['{tmp_path}/*.log']\n" + text)
    proc = shipper("validate", "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().strip() == line
    if "match" in text:  # the same line as `run` gives (for two of the three cases)
        run = shipper("run", "--once", "--config", str(cfg), "--podinfo-dir", str(tmp_path))
        assert run.returncode == 2 and run.stderr.decode().strip() == line
