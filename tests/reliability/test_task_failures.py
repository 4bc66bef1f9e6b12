"""Issue 11, item 8: no task dies silently.

A JSON line of 600 nested arrays parses (``orjson.loads`` accepts up to 1,024 levels) but
cannot be serialised again (``orjson.dumps`` stops at 254). Before, the task that met it
died silently: the shipper kept running, ``/healthz`` stayed 200 and nothing after that
line was ever shipped, not even after a restart from the state directory. Now either the
record ships (the sinks' encode fallback) and the lines after it follow, or the failure is
loud and bounded: one JSON error log naming the task, no record content in it, and the
process exits 1 within the shutdown deadline (so Kubernetes restarts it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.reliability.harness import Shipper, Tally, line
from tests.reliability.probes import free_port, http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

DEADLINE = 3.0
DEPTH = 600
MARKER = "deep-record-content-7f3a"


def deep_line() -> bytes:
    return (b'{"msg":"' + MARKER.encode() + b'","a":' + b"[" * DEPTH + b"]" * DEPTH + b"}\n")


def outcome(shipper: Shipper, tally: Tally, want: set[tuple[str, int]],
            timeout: float) -> tuple[str, float]:
    """``("shipped", s)`` once every wanted token arrived, ``("exited", s)`` when the
    process ended first, ``("silent", s)`` when neither happened within ``timeout``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if want <= set(tally.seen):
            return "shipped", time.monotonic() - began
        if shipper.proc.poll() is not None:
            return "exited", time.monotonic() - began
        time.sleep(0.05)
    return "silent", time.monotonic() - began


def failure_logs(stderr: Path) -> list[dict]:
    entries = [json.loads(row) for row in stderr.read_text().splitlines() if row.startswith("{")]
    return [e for e in entries if e.get("event") == "task failed"]


@pytest.mark.parametrize("restart", [False, True])
def test_a_record_that_cannot_be_encoded_is_shipped_or_fails_loudly(
        tmp_path, podinfo, cli, restart):
    """8. 50 lines, the 600-level line, 50 more lines, with an http sink and a state
    directory; then (``restart``) a second run from the same state. Each run either
    delivers the 50 lines after the deep one, or exits 1 within the deadline after one
    ``task failed`` error log that names the task and quotes nothing of the record."""
    logs = tmp_path / "logs"
    logs.mkdir()
    app = logs / "app.log"
    app.write_bytes(b"".join(line("n", i) for i in range(50)))
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    cfg = write_config(tmp_path / "cfg.yaml", {"shutdown_deadline": f"{DEADLINE}s",
                                              "sinks": [http_sink(rx.url)]})
    args = ["--config", str(cfg), "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state")]
    after = {("n", i) for i in range(50, 100)}
    runs = []
    try:
        first = Shipper([*args, "--listen", f"127.0.0.1:{free_port()}"], Tally(),
                        tmp_path / "stderr-1.log")
        assert tally.wait_for(50, 30), "the first 50 lines did not arrive"
        with app.open("ab") as fh:
            fh.write(deep_line() + b"".join(line("n", i) for i in range(50, 100)))
        runs.append((first, tmp_path / "stderr-1.log", *outcome(first, tally, after, 20)))
        if restart:
            if first.proc.poll() is None:
                first.stop()
            second = Shipper([*args, "--listen", "off"], Tally(), tmp_path / "stderr-2.log")
            runs.append((second, tmp_path / "stderr-2.log",
                         *outcome(second, tally, after, 20)))
    finally:
        for shipper, *_ in runs:
            if shipper.proc.poll() is None:
                shipper.stop(30)
        rx.down()
    for shipper, stderr, what, took in runs:
        code = shipper.proc.returncode
        print(f"\n[fault] deep-json restart={restart}: {what} after {took:.1f}s, exit={code}, "
              f"delivered={tally.delivered}")
        assert what != "silent", "neither shipped nor failed: a task died silently"
        if what == "exited":
            assert code == 1, f"exited with {code}"
            assert took <= DEADLINE + 5, f"took {took:.1f}s to stop after the failure"
            [failure] = failure_logs(stderr)
            assert failure["task"] and failure["error_type"] and failure["level"] == "error"
            assert MARKER not in stderr.read_text()
