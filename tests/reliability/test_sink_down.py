"""Fault 7: the sink is down (connection refused, then 503) while lines keep coming.

With ``when_full: block`` backpressure reaches the tailer (lines wait in their files),
memory stays within the configured caps, and every line arrives once the sink is back.
With ``drop_newest`` the lines that never arrive equal the drop counter exactly. The disk
buffer variants need the sinks' disk-buffer wiring (skipped with the reason until then).
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.harness import SCALE, Shipper, Tally, line, report, scaled, spans
from tests.reliability.probes import (
    PacedWriter,
    but_marker,
    disk_buffer_missing_reason,
    free_port,
    http_sink,
    scrape,
    settle,
    wait_scrape,
    write_config,
)
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

QUEUE_BYTES = 8 * 131_072  # queue_max_batches x read_chunk_bytes (the defaults)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def disk_buffer(tmp_path_factory) -> None:
    reason = disk_buffer_missing_reason(tmp_path_factory.mktemp("probe"))
    if reason:
        pytest.skip(reason)


class Outage:
    """A shipper with one ``http`` sink whose receiver is down, then failing, then up."""

    def __init__(self, tmp_path, podinfo, buffer: dict) -> None:
        self.tally = Tally()
        self.rx = Receiver(self.tally)
        self.rx.up()
        self.port = free_port()
        logs = tmp_path / "logs"
        logs.mkdir()
        (logs / "ready.log").write_bytes(line("ready", 0))
        cfg = write_config(tmp_path / "shipper.yaml", {"sinks": [http_sink(self.rx.url, buffer=buffer)]})
        self.shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                                "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                                "--listen", f"127.0.0.1:{self.port}"], Tally(), tmp_path / "stderr.log")
        assert self.tally.wait_for(1, 30), "the shipper did not start"
        self.tally.seen.pop(("ready", 0))
        self.baseline_kib = _rss_kib(self.shipper.proc.pid)
        self.logs = logs

    def run(self, total: int, seconds: float) -> PacedWriter:
        """Write ``total`` lines over ``seconds``: refused for the first half, 503 after."""
        writer = PacedWriter(self.logs / "app.log", "d", total, rate=total / seconds)
        self.rx.down()
        writer.start()
        time.sleep(seconds / 2)
        self.rx.status = 503
        self.rx.up()
        writer.join(seconds * 3)
        return writer

    def recover(self) -> None:
        self.rx.status = 200

    def metrics(self) -> dict[str, float]:
        return scrape(self.port)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for row in fh:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    return 0


def test_dead_sink_memory_block_bounded_then_all_arrive(tmp_path, podinfo, cli):
    """7. Sink dead for 10 minutes of input (12 s at CI scale: refused, then 503) with the
    memory buffer and ``block``: peak RSS stays within a few MiB of the caps (sink buffer
    + chunk queue) above the idle process, and every line arrives after recovery."""
    seconds = max(10.0, 600 * SCALE)
    total = scaled(2_000_000, 40_000)
    cap = 2 * MIB
    out = Outage(tmp_path, podinfo, {"type": "memory", "max_bytes": cap, "when_full": "block"})
    out.run(total, seconds)
    during_kib = out.shipper.peak_rss_kib
    out.recover()
    out.tally.wait_for(total, 120)
    code = out.shipper.stop()
    growth_mib = (out.shipper.peak_rss_kib - out.baseline_kib) / 1024
    missing = out.tally.missing({"d": total})
    report("dead-sink-memory", written=total, tally=out.tally, rss_kib=out.shipper.peak_rss_kib,
           baseline_mib=f"{out.baseline_kib / 1024:.1f}", growth_mib=f"{growth_mib:.1f}",
           peak_while_down_mib=f"{during_kib / 1024:.1f}", refused_then_503=out.rx.requests[503],
           missing=spans(missing))
    assert code == 0 and missing == [] and out.tally.duplicated == 0
    caps_mib = (cap + QUEUE_BYTES) / MIB
    assert growth_mib <= 4 * caps_mib + 8, f"RSS grew {growth_mib:.1f} MiB, caps {caps_mib} MiB"


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_dead_sink_drop_newest_drops_equal_the_counter(tmp_path, podinfo, cli, request, kind):
    """7. With ``when_full: drop_newest`` and a small buffer, the sink down for a while:
    written = delivered + shipper_records_failed_total{reason="buffer-full"}, exactly."""
    if kind == "disk":
        request.getfixturevalue("disk_buffer")
    seconds, total = 6.0, scaled(200_000, 12_000)
    out = Outage(tmp_path, podinfo, {"type": kind, "max_bytes": 65_536, "when_full": "drop_newest"})
    out.run(total, seconds)
    out.recover()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dropped = out.metrics().get('shipper_records_failed_total{reason="buffer-full",sink="h"}', 0)
        if out.tally.delivered + dropped >= total:
            break
        time.sleep(0.2)
    settle(out.logs / "app.log", out.tally, out.port)
    dropped = int(out.metrics().get('shipper_records_failed_total{reason="buffer-full",sink="h"}', 0))
    code = out.shipper.stop()
    report(f"drop-newest-{kind}", written=total, tally=out.tally, rss_kib=out.shipper.peak_rss_kib,
           dropped=dropped)
    assert code == 0 and dropped > 0 and out.tally.duplicated == 0
    assert but_marker(out.tally) + dropped == total


def test_dead_sink_disk_buffer_all_arrive(tmp_path, podinfo, cli, disk_buffer):
    """7. Sink down (refused, then 503) with a disk buffer large enough for the outage:
    every line arrives after recovery, and RSS stays bounded (records wait on disk)."""
    seconds = max(10.0, 600 * SCALE)
    total = scaled(2_000_000, 40_000)
    out = Outage(tmp_path, podinfo, {"type": "disk", "max_bytes": "256MiB"})
    out.run(total, seconds)
    out.recover()
    out.tally.wait_for(total, 120)
    code = out.shipper.stop()
    growth_mib = (out.shipper.peak_rss_kib - out.baseline_kib) / 1024
    missing = out.tally.missing({"d": total})
    report("dead-sink-disk", written=total, tally=out.tally, rss_kib=out.shipper.peak_rss_kib,
           growth_mib=f"{growth_mib:.1f}", missing=spans(missing),
           repeated_batches=out.rx.repeated_batches)
    assert code == 0 and missing == []
    assert growth_mib <= 4 * QUEUE_BYTES / MIB + 16
