"""Issue 11 items 7 and 10 (the tailer's parts): the drain stops at the end seen at
SIGTERM, and ``shipper_file_lag_bytes`` keeps moving while the tailer is blocked."""

from __future__ import annotations

import signal
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, report, spans, wait_up
from tests.reliability.probes import (
    PacedWriter,
    free_port,
    http_sink,
    scrape,
    wait_scrape,
    write_config,
)
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration


def args_for(tmp_path, podinfo, *extra: str) -> list[str]:
    return ["--path", str(tmp_path / "logs" / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), *extra]


def stopping_logged(stderr) -> bool:
    return stderr.exists() and b'"stopping"' in stderr.read_bytes()


def test_drain_stops_at_the_end_seen_at_sigterm(tmp_path, podinfo, cli):
    """7. A slow backend and small queues: most of 20,000 lines are still unread (the
    tailer waits on the queue) when SIGTERM arrives; lines appended 1-5 s later (to the
    file being drained and to another one) and a file created after the SIGTERM are not
    shipped by this run, every line written before it is; the next run ships the rest:
    nothing lost, nothing twice."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(b"".join(line("a", n) for n in range(20_000)))
    (logs / "b.log").write_bytes(b"".join(line("b", n) for n in range(10)))
    tally = Tally()
    with Receiver(tally, delay=0.1) as rx:
        sink = {**http_sink(rx.url, max_records=512, buffer={"max_events": 1000}),
                "concurrency": 1, "queue_max": 2}
        config = write_config(tmp_path / "shipper.yaml", {
            "sinks": [sink], "shutdown_deadline": "30s", "queue_max_batches": 1,
            "read_chunk_bytes": "64KiB"})
        args = args_for(tmp_path, podinfo, "--config", str(config), "--listen", "off")
        first = Shipper(args, tally, tmp_path / "stderr.log")
        assert tally.wait_for(1_000, 30)
        first.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not stopping_logged(tmp_path / "stderr.log") and time.monotonic() < deadline:
            time.sleep(0.02)
        late = 0
        for second in range(1, 6):
            time.sleep(1.0)
            with open(logs / "a.log", "ab") as fh, open(logs / "b.log", "ab") as gh:
                fh.write(line("la", late))
                gh.write(line("lb", late))
            late += 1
            if second == 1:
                (logs / "c.log").write_bytes(line("c", 0))
        code = first.wait(60)
        first_run = {s for (s, _n) in tally.seen}
        shipped_late = [t for t in tally.seen if t[0] in ("la", "lb", "c")]
        missing_early = tally.missing({"a": 20_000, "b": 10})
        second_run = Shipper(args, tally, tmp_path / "stderr.log")
        tally.wait_for(20_010 + 2 * late + 1, 60)
        assert wait_up(tally, logs, 1)
        code2 = second_run.stop()
    missing = tally.missing({"a": 20_000, "b": 10, "la": late, "lb": late, "c": 1})
    report("drain-stops-at-sigterm", written=20_011 + 2 * late, tally=tally,
           rss_kib=first.peak_rss_kib, late_shipped_by_first_run=len(shipped_late),
           early_missing_after_first_run=len(missing_early), lost=len(missing),
           missing=spans(missing))
    assert (code, code2) == (0, 0)
    assert "a" in first_run and missing_early == []
    assert shipped_late == []
    assert missing == [] and tally.duplicated == 0


def test_file_lag_keeps_moving_while_the_sink_is_down(tmp_path, podinfo, cli):
    """10. The backend refuses connections while 5,000 lines/s are written, small queues
    fill and the tailer blocks: ``shipper_file_lag_bytes`` still grows with the bytes
    written (scraped 3 s apart); after the backend is back every line arrives and the
    gauge returns to 0."""
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    url = rx.url
    rx.down()
    sink = http_sink(url, buffer={"max_events": 1000}, max_records=200)
    sink["queue_max"] = 2
    config = write_config(tmp_path / "shipper.yaml", {
        "sinks": [sink], "queue_max_batches": 1, "read_chunk_bytes": "64KiB"})
    writer = PacedWriter(logs / "app.log", "g", 40_000, rate=5000)
    (logs / "app.log").touch()
    shipper = Shipper(args_for(tmp_path, podinfo, "--config", str(config), "--listen",
                               f"127.0.0.1:{port}"), tally, tmp_path / "stderr.log")
    wait_scrape(port)
    writer.start()
    time.sleep(3.0)  # queues full, the tailer waits on them
    first = scrape(port)["shipper_file_lag_bytes"]
    written_before = (logs / "app.log").stat().st_size
    time.sleep(3.0)
    second = scrape(port)["shipper_file_lag_bytes"]
    grown = (logs / "app.log").stat().st_size - written_before
    rx.up()
    writer.join(60)
    tally.wait_for(40_000, 90)
    deadline = time.monotonic() + 30
    while scrape(port)["shipper_file_lag_bytes"] > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    settled = scrape(port)["shipper_file_lag_bytes"]
    code = shipper.stop()
    rx.down()
    missing = tally.missing({"g": 40_000})
    report("lag-while-blocked", written=40_000, tally=tally, rss_kib=shipper.peak_rss_kib,
           lag_first=int(first), lag_3s_later=int(second), bytes_written_between=grown,
           lag_after=int(settled), missing=spans(missing))
    assert code == 0 and missing == []
    assert second - first >= grown * 0.5, "the lag gauge froze while the tailer was blocked"
    assert settled == 0
