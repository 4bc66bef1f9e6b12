"""Fault 11 (server part): the HTTP server's memory is bounded in bytes, not records.

1,500 lines of 250 KB each (long job ids, long stage names, long error text) go through
a real ``shipper run`` with the chart's default config, while a tail client keeps
replaying the ring and 20 clients page through ``/v1/jobs`` at once. The peak RSS
(``VmHWM``) must stay within 128 MiB. Records go to an ``http`` sink on a loopback
receiver, whose batches are byte-bounded (``batch.max_bytes``), so the figure measures
the server's rings, queues and responses, not the stdout sink's record-count batches.
A watchdog SIGKILLs the shipper past 1.5 GiB so that a regression cannot take the
machine down with it.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.reliability.harness import Shipper, Tally, line, report
from tests.reliability.probes import free_port, http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

LINES = 1_500
LINE_BYTES = 250_000
PEAK_LIMIT_MIB = 128
WATCHDOG_MIB = 1_536
JOBS_CLIENTS = 20
#: the chart's shipper.config defaults (helm/shipper/values.yaml), server on loopback
CHART_CONFIG = {"drain_on_exit": True, "shutdown_deadline": "20s", "log_level": "info",
                "filters": {"min_level": "info"}, "redact": {"enabled": True}}


def big_line(n: int) -> bytes:
    """A 250 KB JSON line: its own long job id, a long stage name and long error text,
    so the ring, the job tracker and the ``/v1/jobs`` pages all see large values."""
    head = {"timestamp": "2026-01-02T12:00:00.000Z", "level": "error",
            "job_id": f"job-{n:05d}-" + "j" * 60_000,
            "message": f"SEQ:m:{n} Stage s{n:05d}" + "s" * 60_000 + " failed: "}
    text = json.dumps(head, separators=(",", ":"))
    pad = LINE_BYTES - len(text) - 1
    return (text[:-2] + "e" * pad + '"}' + "\n").encode()


def rss_mib(pid: int) -> float:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


class Watchdog(threading.Thread):
    """SIGKILL the shipper once its RSS passes ``WATCHDOG_MIB`` (records that it did)."""

    def __init__(self, shipper: Shipper) -> None:
        super().__init__(daemon=True)
        self.shipper, self.fired = shipper, False

    def run(self) -> None:
        while self.shipper.proc.poll() is None:
            if rss_mib(self.shipper.proc.pid) > WATCHDOG_MIB:
                self.fired = True
                self.shipper.proc.kill()
                return
            time.sleep(0.05)


class JobsClient(threading.Thread):
    """Pages through ``/v1/jobs`` (following ``next``) until told to stop."""

    def __init__(self, base: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.pages = self.jobs = self.errors = 0

    def run(self) -> None:
        while not self.stop.is_set():
            path: str | None = "/v1/jobs"
            while path and not self.stop.is_set():
                try:
                    with urllib.request.urlopen(self.base + path, timeout=60) as resp:
                        body = json.loads(resp.read())
                except (OSError, ValueError, http.client.HTTPException):
                    self.errors += 1
                    time.sleep(0.2)
                    break
                self.pages += 1
                self.jobs += len(body.get("jobs", []))
                path = body.get("next")
            time.sleep(1.0)  # a walk is ~10 pages; 20 clients still overlap


class TailClient(threading.Thread):
    """Connects with the largest replay, reads slowly, reconnects when disconnected."""

    def __init__(self, base: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.events = self.connects = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.base + "/v1/tail?replay=1000", timeout=60) as resp:
                    self.connects += 1
                    while not self.stop.is_set() and (chunk := resp.read(65536)):
                        self.events += chunk.count(b"\ndata: ") + chunk.startswith(b"data: ")
                        time.sleep(0.02)
            except (OSError, ValueError, http.client.HTTPException):
                time.sleep(0.2)


def test_server_memory_is_bounded_in_bytes(tmp_path, podinfo, cli):
    """11. Peak RSS <= 128 MiB with 1,500 lines of 250 KB, one replaying tail client and
    20 concurrent /v1/jobs clients; every line is still delivered exactly once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "ready.log").write_bytes(line("ready", 0))
    tally = Tally()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Receiver(tally) as rx:
        cfg = write_config(tmp_path / "shipper.yaml", {
            **CHART_CONFIG, "sinks": [http_sink(rx.url)],
            "server": {"listen": f"127.0.0.1:{port}"}})
        shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                           "--podinfo-dir", str(podinfo)], Tally(), tmp_path / "stderr.log")
        watchdog = Watchdog(shipper)
        watchdog.start()
        assert tally.wait_for(1, 60), "the shipper did not start"
        stop = threading.Event()
        clients = [JobsClient(base, stop) for _ in range(JOBS_CLIENTS)]
        tail = TailClient(base, stop)
        for client in [*clients, tail]:
            client.start()
        with open(logs / "app.log", "wb") as fh:
            fh.writelines(big_line(n) for n in range(LINES))
        delivered = _wait_lines(tally, shipper, timeout=600)
        time.sleep(3)  # the clients keep paging and replaying the full ring and tracker
        stop.set()
        for client in [*clients, tail]:
            client.join(30)
        code = shipper.stop(60)
    peak = shipper.peak_rss_kib / 1024
    report("server-memory", written=LINES, tally=tally, rss_kib=shipper.peak_rss_kib,
           watchdog=watchdog.fired, tail_events=tail.events, tail_connects=tail.connects,
           jobs_pages=sum(c.pages for c in clients), jobs_seen=sum(c.jobs for c in clients))
    assert not watchdog.fired, f"RSS passed {WATCHDOG_MIB} MiB: the shipper was killed"
    assert peak <= PEAK_LIMIT_MIB, f"peak RSS {peak:.1f} MiB > {PEAK_LIMIT_MIB} MiB"
    assert delivered == LINES and tally.duplicated == 0
    assert code == 0
    assert tail.events > 0 and sum(c.jobs for c in clients) > 0


def _wait_lines(tally: Tally, shipper: Shipper, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and shipper.proc.poll() is None:
        if _delivered(tally) >= LINES:
            break
        time.sleep(0.2)
    return _delivered(tally)


def _delivered(tally: Tally) -> int:
    with tally.lock:
        return sum(1 for stream, _ in tally.seen if stream == "m")
