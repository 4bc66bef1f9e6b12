"""A wedged sink turns ``/healthz`` to 503 within ``server.stall_after``, so Kubernetes
restarts the container instead of it reporting healthy for hours; ``/readyz`` stays 200.
Lines still being read into the sink's filling buffer are no progress for delivery; below
the threshold the body already says ``degraded: ...``, and it names what is stalled."""

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
    return probe(url)[0]


def probe(url: str) -> tuple[int, dict]:
    """Status and JSON body of a probe."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(base: str, timeout: float = 20) -> None:
    """/readyz turns 200 once tailing started (the server listens a little earlier)."""
    deadline = time.monotonic() + timeout
    while status(base + "/readyz") != 200:
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.05)


def bound_port(stderr: Path, deadline: float) -> int:
    while time.monotonic() < deadline:
        for line in stderr.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("event") == "server listening":
                return int(entry["port"])
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def start(tmp_path: Path, hole: BlackHole, stall_after: str) -> subprocess.Popen:
    stderr = tmp_path / "stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env.update(SHIPPER_SERVER__STALL_AFTER=stall_after)
    cmd = [sys.executable, "-m", "shipper.cli", "run", "--path", f"{tmp_path}/logs/*.log",
           "--podinfo-dir", str(tmp_path), "--listen", "127.0.0.1:0",
           "--sink", f"http=http://127.0.0.1:{hole.port}/ingest", "--log-level", "info"]
    with stderr.open("w") as err:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=env)


def test_wedged_sink_makes_healthz_fail_within_the_threshold(tmp_path):
    hole = BlackHole()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("".join(f"line {n}\n" for n in range(20)))
    stderr = tmp_path / "stderr.log"
    proc = start(tmp_path, hole, "2s")
    try:
        base = f"http://127.0.0.1:{bound_port(stderr, time.monotonic() + 20)}"
        wait_ready(base)
        assert status(base + "/healthz") == 200
        started = time.monotonic()
        while status(base + "/healthz") == 200:
            assert time.monotonic() - started < 10, "healthz still 200 with a wedged sink"
            time.sleep(0.25)
        took = time.monotonic() - started
        code, body = probe(base + "/healthz")
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert 'shipper_records_forwarded_total{sink="http"} 0.0' in text
        assert status(base + "/readyz") == 200
        assert code == 503 and body["reason"].startswith(
            "stalled: delivery: 20 records accepted and not delivered, nothing delivered for ")
        print(f"healthz turned 503 after {took:.1f}s (stall_after=2s): {body['reason']}")
    finally:
        proc.kill()
        proc.wait()
        hole.close()


def test_lines_read_into_a_filling_buffer_do_not_hide_a_wedged_sink(tmp_path):
    """Item 10: the sink is wedged while lines keep coming and are read into its buffer
    (far from full). Before, every line read counted as progress and /healthz stayed 200
    for as long as the app logged. Now it says ``degraded: delivery ...`` within a
    quarter of ``stall_after`` (4 s here) and turns 503 past it."""
    hole = BlackHole()
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    log.write_text("first\n")
    writing = threading.Event()

    def write() -> None:
        n = 0
        while not writing.is_set():
            with log.open("a") as fh:
                fh.write(f"line {n}\n")
            n += 1
            time.sleep(0.25)  # the sink's queue (64 envelopes) is far from full for 16 s

    stderr = tmp_path / "stderr.log"
    proc = start(tmp_path, hole, "4s")
    threading.Thread(target=write, daemon=True).start()
    seen: list[tuple[float, int, str]] = []
    try:
        base = f"http://127.0.0.1:{bound_port(stderr, time.monotonic() + 20)}"
        wait_ready(base)
        started = time.monotonic()
        while time.monotonic() - started < 10:
            code, body = probe(base + "/healthz")
            seen.append((time.monotonic() - started, code, body.get("reason", "")))
            if code == 503:
                break
            time.sleep(0.25)
    finally:
        writing.set()
        proc.kill()
        proc.wait()
        hole.close()
    print("\n".join(f"{t:5.1f}s {code} {reason}" for t, code, reason in seen))
    degraded = [t for t, code, reason in seen if code == 200 and reason.startswith(
        "degraded: delivery: ")]
    failed = [(t, reason) for t, code, reason in seen if code == 503]
    assert degraded, "never said degraded while the sink was wedged"
    assert failed, "healthz stayed 200 for 10 s with a wedged sink and lines being read"
    assert failed[0][1].startswith("stalled: delivery: ")
