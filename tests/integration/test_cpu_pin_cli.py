"""``shipper run`` keeps every thread of its process on one CPU (issue 14; ``cpu.pin``),
and leaves them to the kernel with ``SHIPPER_CPU__PIN=false``: proved on a running
shipper's real threads through ``/proc/<pid>/task``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: {0})(0)) < 2,
                       reason="needs two CPUs to choose from"),
]

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 30.0


def _run(tmp_path: Path, pin: str) -> tuple[subprocess.Popen[bytes], Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("INFO started\nERROR kept\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    env["SHIPPER_CPU__PIN"] = pin
    err = tmp_path / "shipper.err"
    with err.open("wb") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipper.cli", "run", "--path", f"{logs}/*.log",
             "--listen", "127.0.0.1:0", "--podinfo-dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=err_fh, cwd=REPO, env=env)
    return proc, err


def _events(err: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.read_text().splitlines() if line.startswith("{")]


def _wait_for(err: Path, proc: subprocess.Popen[bytes], event: str) -> dict[str, object]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = [e for e in _events(err) if e.get("event") == event]
        if found:
            return found[0]
        assert proc.poll() is None, err.read_text()[-2000:]
        time.sleep(0.05)
    raise AssertionError(f"no {event!r} self-log: {err.read_text()[-2000:]}")


def _masks(pid: int) -> dict[int, set[int]]:
    masks = {}
    for name in os.listdir(f"/proc/{pid}/task"):
        try:
            masks[int(name)] = os.sched_getaffinity(int(name))
        except ProcessLookupError:
            continue  # a worker thread that ended meanwhile
    return masks


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE) == 0


def test_every_thread_of_a_running_shipper_is_on_the_one_cpu_it_logged(tmp_path):
    proc, err = _run(tmp_path, "true")
    try:
        pinned = _wait_for(err, proc, "threads pinned to one CPU")
        _wait_for(err, proc, "server listening")
        masks = _masks(proc.pid)
        assert len(masks) >= 2, masks  # the loop and at least one worker or reader thread
        assert set(map(frozenset, masks.values())) == {frozenset({pinned["cpu"]})}
        assert pinned["cpu"] in os.sched_getaffinity(0)
    finally:
        _stop(proc)


def test_pin_false_leaves_the_threads_every_allowed_cpu(tmp_path):
    proc, err = _run(tmp_path, "false")
    try:
        _wait_for(err, proc, "server listening")
        allowed = os.sched_getaffinity(0)
        assert all(mask == allowed for mask in _masks(proc.pid).values())
        assert not [e for e in _events(err) if e.get("event") == "threads pinned to one CPU"]
    finally:
        _stop(proc)
