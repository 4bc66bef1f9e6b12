"""A wedged sink turns ``/healthz`` to 503 within ``server.stall_after``, so Kubernetes
restarts the container instead of it reporting healthy for hours; ``/readyz`` stays 200."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class BlackHole:
    """A TCP server that accepts connections and never answers (a wedged backend)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def bound_port(stderr: Path, deadline: float) -> int:
    while time.monotonic() < deadline:
        for line in stderr.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("event") == "server listening":
                return int(entry["port"])
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_wedged_sink_makes_healthz_fail_within_the_threshold(tmp_path):
    hole = BlackHole()
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(20)))
    stderr = tmp_path / "stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env.update(SHIPPER_SERVER__STALL_AFTER="2s")
    cmd = [sys.executable, "-m", "shipper.cli", "run", "--path", f"{tmp_path}/*.log",
           "--listen", "127.0.0.1:0", "--sink", f"http=http://127.0.0.1:{hole.port}/ingest",
           "--log-level", "info"]
    with stderr.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=env)
    try:
        base = f"http://127.0.0.1:{bound_port(stderr, time.monotonic() + 20)}"
        assert status(base + "/healthz") == 200
        assert status(base + "/readyz") == 200
        started = time.monotonic()
        while status(base + "/healthz") == 200:
            assert time.monotonic() - started < 10, "healthz still 200 with a wedged sink"
            time.sleep(0.25)
        took = time.monotonic() - started
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert 'shipper_records_forwarded_total{sink="http"} 0.0' in text
        assert status(base + "/readyz") == 200
        print(f"healthz turned 503 after {took:.1f}s (stall_after=2s)")
    finally:
        proc.kill()
        proc.wait()
        hole.close()
