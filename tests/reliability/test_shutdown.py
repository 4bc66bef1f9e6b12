"""Issue 11, item 4: ``shutdown_deadline`` bounds the exit from SIGTERM in every state.

A sink that is dead (connection refused, 503, or a backend that accepts and never answers)
with its buffer full, the tailer blocked behind it and a file rotated meanwhile; or the
stdout sink writing into a pipe nobody reads. SIGTERM must end the process with 0 within
the deadline (+1 s); what could not be delivered is read again after a restart from the
checkpoint (0 lost).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.harness import (
    REPO,
    Shipper,
    Tally,
    child_env,
    line,
    report,
    scaled,
    shipper_command,
    spans,
)
from tests.reliability.probes import free_port, http_sink, scrape, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

DEADLINE = 3.0
#: small reads keep the chunk queue small, so most lines wait in the files
SMALL_READS = {"read_chunk_bytes": "16KiB", "shutdown_deadline": f"{DEADLINE}s"}


class BlackHole:
    """A TCP server that accepts connections and never answers (a wedged backend)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/ingest"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def timed_sigterm(proc: subprocess.Popen, limit: float) -> tuple[float, int | None]:
    """SIGTERM, then seconds until the process ended and its exit code (``None``: still
    running after ``limit`` seconds; it is SIGKILLed then)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code: int | None = proc.wait(limit)
    except subprocess.TimeoutExpired:
        code = None
        proc.kill()
        proc.wait(30)
    return time.monotonic() - began, code


def wait_metric(port: int, name: str, at_least: float, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        try:
            value = scrape(port).get(name, 0.0)
        except OSError:
            value = 0.0
        if value >= at_least:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{name} stayed at {value} (< {at_least})")


def write_lines(path: Path, stream: str, first: int, last: int) -> None:
    with open(path, "ab") as fh:
        fh.write(b"".join(line(stream, n) for n in range(first, last)))


@pytest.mark.parametrize("dead", ["refused", "503", "wedged"])
def test_sigterm_with_dead_sink_full_buffer_and_rotation_exits_in_time_then_nothing_lost(
        tmp_path, podinfo, cli, dead):
    """4. The http sink is dead (refused / 503 / accepts and never answers), its 64 KiB
    buffer full, the processor blocked in ``put``, the tailer blocked behind it with lines
    waiting in the files, and ``app.log`` renamed to ``app.log.1`` (a new ``app.log``
    written) meanwhile. SIGTERM: exit 0 within ``shutdown_deadline`` + 1 s. A restart with
    the sink up delivers every line (30,000 at full scale): 0 lost."""
    total = scaled(30_000, 6_000)
    logs = tmp_path / "logs"
    logs.mkdir()
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    hole = BlackHole() if dead == "wedged" else None
    if dead == "refused":
        rx.down()
    elif dead == "503":
        rx.status = 503
    url = hole.url if hole is not None else rx.url
    sink = http_sink(url, buffer={"type": "memory", "max_bytes": 65_536, "when_full": "block"})
    if dead == "wedged":
        sink["timeout"] = "30s"
    cfg = write_config(tmp_path / "dead.yaml", {**SMALL_READS, "sinks": [sink]})
    port = free_port()
    args = ["--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state")]
    write_lines(logs / "app.log", "a", 0, total // 2)
    first = Shipper(["--config", str(cfg), *args, "--listen", f"127.0.0.1:{port}"], Tally(),
                    tmp_path / "stderr.log")
    try:
        if dead == "wedged":
            wait_metric(port, 'shipper_buffer_records{sink="h"}', 100)
        else:
            wait_metric(port, 'shipper_sink_retries_total{sink="h"}', 3)
        os.rename(logs / "app.log", logs / "app.log.1")
        write_lines(logs / "app.log", "b", 0, total - total // 2)
        # waits for nothing observable: the blocked tailer does not see the rename within
        # it (files_rotated_total and lines_read_total stay put), it only spaces the two
        time.sleep(1.0)
        took, code = timed_sigterm(first.proc, DEADLINE + 10)
    finally:
        first.wait(30)
        if hole is not None:
            hole.close()
    rx.status = 200
    rx.up()
    written = {"a": total // 2, "b": total - total // 2}
    second = Shipper(["--config", str(write_config(tmp_path / "up.yaml", {
        **SMALL_READS, "sinks": [http_sink(rx.url)]})), *args, "--listen", "off"], Tally(),
        tmp_path / "stderr.log")
    tally.wait_for(total, 120)
    second.stop()
    rx.down()
    missing = tally.missing(written)
    report(f"sigterm-dead-sink-{dead}", written=total, tally=tally,
           exit_seconds=f"{took:.2f}", exit_code=code, deadline=DEADLINE,
           missing=len(missing), missing_spans=spans(missing))
    assert code == 0, f"exit code {code} after {took:.1f}s (None: still running, killed)"
    assert took <= DEADLINE + 1, f"took {took:.2f}s to exit (deadline {DEADLINE}s)"
    assert missing == []


def test_sigterm_with_stdout_into_a_full_pipe_exits_in_time_then_nothing_lost(
        tmp_path, podinfo, cli):
    """4. The stdout sink writes into a pipe nobody reads: its writer thread blocks in
    ``write`` and the buffer fills. SIGTERM: exit 0 within ``shutdown_deadline`` + 1 s
    (the blocked thread is not waited for). A restart whose stdout is read delivers every
    line: 0 lost."""
    total = scaled(30_000, 6_000)
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "app.log", "p", 0, total)
    cfg = write_config(tmp_path / "stdout.yaml", dict(SMALL_READS))
    args = ["--config", str(cfg), "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off"]
    with open(tmp_path / "stderr.log", "ab") as err:
        proc = subprocess.Popen([*shipper_command(), "run", *args], stdout=subprocess.PIPE,
                                stderr=err, env=child_env(), cwd=REPO)
    assert proc.stdout is not None
    tally = Tally()
    try:
        time.sleep(3.0)  # far more than a 64 KiB pipe takes: the writer thread is blocked
        took, code = timed_sigterm(proc, DEADLINE + 10)
        tally.feed(proc.stdout.read())  # what was written before the exit is delivered
    finally:
        proc.stdout.close()
    second = Shipper(args, tally, tmp_path / "stderr.log")
    tally.wait_for(total, 120)
    second.stop()
    missing = tally.missing({"p": total})
    report("sigterm-stdout-full-pipe", written=total, tally=tally, exit_seconds=f"{took:.2f}",
           exit_code=code, deadline=DEADLINE, missing=len(missing))
    assert code == 0, f"exit code {code} after {took:.1f}s (None: still running, killed)"
    assert took <= DEADLINE + 1, f"took {took:.2f}s to exit (deadline {DEADLINE}s)"
    assert missing == []


def test_sigterm_while_draining_a_big_file_exits_in_time_then_nothing_lost(
        tmp_path, podinfo, cli):
    """4. SIGTERM half a second after start, with a file far bigger than can be read and
    shipped within the deadline (``drain_on_exit`` on): the drain is cut and the process
    exits 0 within ``shutdown_deadline`` + 1 s; a restart delivers the rest (0 lost)."""
    total = scaled(3_000_000, 1_000_000)  # > what ~3.5 s ships (200k no longer was)
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "app.log", "g", 0, total)
    cfg = write_config(tmp_path / "cfg.yaml", {"shutdown_deadline": f"{DEADLINE}s"})
    args = ["--config", str(cfg), "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off"]
    tally = Tally()
    first = Shipper(args, tally, tmp_path / "stderr.log")
    assert tally.wait_for(1, 30), "the first run shipped nothing"
    time.sleep(0.5)
    took, code = timed_sigterm(first.proc, DEADLINE + 30)
    first.wait(30)
    after_first = tally.delivered
    second = Shipper([*args, "--once"], tally, tmp_path / "stderr.log")
    second.wait(300)
    missing = tally.missing({"g": total})
    report("sigterm-draining-big-file", written=total, tally=tally, exit_seconds=f"{took:.2f}",
           exit_code=code, deadline=DEADLINE, first_run=after_first, missing=len(missing))
    assert code == 0, f"exit code {code} after {took:.1f}s (None: still running, killed)"
    assert took <= DEADLINE + 1, f"took {took:.2f}s to exit (deadline {DEADLINE}s)"
    assert after_first < total, "the first run shipped everything: the drain was not cut"
    assert missing == []
