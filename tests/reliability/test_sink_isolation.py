"""9. Sink isolation: one dead sink fills its own byte-bounded buffer while the other sinks
keep their latency; once that buffer is full its ``when_full`` policy applies.

A real shipper with two sinks: an ``http`` sink whose receiver refuses connections (a
1 MiB memory buffer) and ``stdout``. Lines (10% at warning or error) are written at a
steady 400 lines/s for 12.5 s (the buffer fills after ~7 s). Until the dead sink's buffer
is full, stdout's p99 latency stays under 2 s (before: both stalled within seconds, on a
64-envelope queue). Then:

* ``block``: backpressure reaches the tailer; stdout stops too; after recovery every line
  arrives at both sinks;
* ``drop_newest`` / ``drop_oldest``: stdout keeps its latency for the whole run; after
  recovery the dead sink's lines + ``shipper_records_failed_total{reason="buffer-full"}``
  equal the lines written, exactly, and every warning and error line arrived.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.reliability.harness import Shipper, Tally, report, spans, wait_up
from tests.reliability.probes import (
    but_marker,
    free_port,
    http_sink,
    scrape,
    settle,
    wait_scrape,
    write_config,
)
from tests.reliability.receiver import Receiver
from tests.reliability.sinkprobes import TimedTally, TimedWriter, latencies, percentile

pytestmark = pytest.mark.integration

RATE, SECONDS = 400.0, 12.5
CAP = 1024 * 1024
BUFFER_FULL = 'shipper_records_failed_total{reason="buffer-full",sink="h"}'


class FullWatch(threading.Thread):
    """Scrapes the dead sink's buffer gauge; notes when it first reaches 90% of the cap."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.full_at: float | None = None
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.sample()
        self.sample()  # once more after the last wait, however short it was

    def sample(self) -> None:
        try:
            got = scrape(self.port).get('shipper_buffer_bytes{sink="h"}', 0.0)
        except OSError:
            got = 0.0
        self.peak = max(self.peak, got)
        if got >= 0.9 * CAP and self.full_at is None:
            self.full_at = time.monotonic()


def start(tmp_path, podinfo, policy: str) -> tuple[Shipper, Receiver, Tally, TimedTally, int]:
    dead_tally = Tally()
    rx = Receiver(dead_tally)
    rx.up()
    rx.down()  # its port now refuses connections
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    sinks = [http_sink(rx.url, buffer={"type": "memory", "max_bytes": CAP, "when_full": policy}),
             {"type": "stdout", "name": "stdout"}]
    cfg = write_config(tmp_path / "shipper.yaml", {"shutdown_deadline": "5s", "sinks": sinks})
    live = TimedTally()
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                       "--listen", f"127.0.0.1:{port}"], live, tmp_path / "stderr.log")
    assert wait_up(live, logs, 0), "the shipper did not start"
    return shipper, rx, dead_tally, live, port


def run_writer(tmp_path, port: int, live: TimedTally,
               wait_all: bool) -> tuple[TimedWriter, FullWatch]:
    """Write for ``SECONDS``, then give the last lines 2 s to reach the live sink: with
    ``wait_all`` no longer than until every line is there (a line later than 2 s counts as
    late either way), else the full 2 s (``block`` holds lines back on purpose: the wait is
    the window in which they must not arrive, so no marker line can end it)."""
    writer = TimedWriter(tmp_path / "logs" / "app.log", "d", int(RATE * SECONDS), RATE,
                         warn_every=10, bursts=10)
    watch = FullWatch(port)
    watch.start()
    writer.start()
    writer.join(SECONDS * 3)
    if wait_all:
        live.wait_for(writer.count + 1, 2.0)  # + the readiness line
    else:
        time.sleep(2.0)
    watch.done.set()
    watch.join(10)
    return writer, watch


def test_dead_sink_with_block_keeps_the_live_sink_going_until_its_buffer_is_full(
        tmp_path, podinfo, cli):
    shipper, rx, dead, live, port = start(tmp_path, podinfo, "block")
    writer, watch = run_writer(tmp_path, port, live, wait_all=False)
    early = latencies(writer, live, until=watch.full_at, horizon=SECONDS)
    late = [n for n, t in writer.written_at.items() if watch.full_at and t > watch.full_at + 2]
    stalled = sum(("d", n) not in live.seen for n in late)
    rx.up()
    total = writer.count
    live.wait_for(total + 1, 60)
    dead.wait_for(total + 1, 60)
    code = shipper.stop()
    missing = live.missing({"d": total}) + dead.missing({"d": total})
    report("isolation-block", written=total, tally=live, rss_kib=shipper.peak_rss_kib,
           live_p99_before_full=f"{percentile(early, 0.99):.2f}s",
           full_after=f"{(watch.full_at or 0) - min(writer.written_at.values()):.1f}s",
           stalled_after_full=f"{stalled}/{len(late)}", dead_delivered=dead.delivered,
           missing=spans(missing))
    assert watch.full_at is not None, f"the dead sink's buffer never filled (peak {watch.peak})"
    assert len(early) > RATE * 5, "the buffer filled within 5 s: nothing measured"
    assert percentile(early, 0.99) < 2.0
    assert late and stalled > len(late) // 2, "block did not hold the live sink back"
    assert code == 0 and missing == []


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_dead_sink_dropping_keeps_the_live_sink_latency_and_counts_exactly(
        tmp_path, podinfo, cli, policy):
    shipper, rx, dead, live, port = start(tmp_path, podinfo, policy)
    writer, watch = run_writer(tmp_path, port, live, wait_all=True)
    lat = latencies(writer, live, horizon=SECONDS)
    rx.up()
    total = writer.count
    live.wait_for(total + 1, 60)
    deadline = time.monotonic() + 60
    dropped = 0
    while time.monotonic() < deadline:
        dropped = int(scrape(port).get(BUFFER_FULL, 0))
        if dead.delivered + dropped >= total + 1:
            break
        time.sleep(0.2)
    marker = json.dumps({"level": "info", "msg": "SEQ:z:0 marker"}) + "\n"
    settle(tmp_path / "logs" / "app.log", dead, port, row=marker.encode())
    dropped = int(wait_scrape(port).get(BUFFER_FULL, 0))
    code = shipper.stop()
    lost_high = [n for n in writer.high() if ("d", n) not in dead.seen]
    dead_lines = but_marker(dead)
    report(f"isolation-{policy}", written=total, tally=live, rss_kib=shipper.peak_rss_kib,
           live_p99=f"{percentile(lat, 0.99):.2f}s", live_max=f"{max(lat):.2f}s",
           dead_delivered=dead_lines, dropped=dropped, lost_warnings=len(lost_high),
           full_after=f"{(watch.full_at or 0) - min(writer.written_at.values()):.1f}s")
    assert watch.full_at is not None, f"the dead sink's buffer never filled (peak {watch.peak})"
    assert percentile(lat, 0.99) < 2.0
    assert live.missing({"d": total}) == [] and live.duplicated == 0
    assert dropped > 0 and dead_lines + dropped == total + 1  # + the readiness line
    assert lost_high == [], f"warnings shed before info records: {spans([('d', n) for n in lost_high])}"
    assert code == 0
