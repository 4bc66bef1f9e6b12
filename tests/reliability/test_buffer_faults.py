"""Faults 8 and 9 (buffer half): a full file system under the state directory, and a
corrupt record in a disk-buffer segment."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.reliability.harness import Shipper, Tally, line, report, spans
from tests.reliability.probes import (
    but_marker, disk_buffer_missing_reason, fill, free_port, http_sink, scrape, settle,
    small_tmpfs, wait_scrape, write_config,
)
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration
FAILED = 'shipper_records_failed_total{{reason="{}",sink="h"}}'


@pytest.fixture(scope="module")
def disk_buffer(tmp_path_factory) -> None:
    reason = disk_buffer_missing_reason(tmp_path_factory.mktemp("probe"))
    if reason:
        pytest.skip(reason)


def start(tmp_path: Path, podinfo: Path, rx: Receiver, state: Path, port: int) -> Shipper:
    cfg = write_config(tmp_path / "shipper.yaml", {
        "shutdown_deadline": "2s",
        "sinks": [http_sink(rx.url, buffer={"type": "disk", "max_bytes": "64MiB"})]})
    return Shipper(["--config", str(cfg), "--path", str(tmp_path / "logs" / "*.log"),
                    "--podinfo-dir", str(podinfo), "--state-dir", str(state),
                    "--listen", f"127.0.0.1:{port}"], Tally(), tmp_path / "stderr.log")


def wait_buffered(port: int, count: int, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    got = 0.0
    while time.monotonic() < deadline:
        got = wait_scrape(port).get('shipper_buffer_records{sink="h"}', 0.0)
        if got >= count:
            break
        time.sleep(0.2)
    return got


def test_corrupt_disk_buffer_record_is_skipped_and_counted(tmp_path, podinfo, cli, disk_buffer):
    """9. Lines wait in the disk buffer (sink down) across a restart; one byte of a record
    in the segment is flipped meanwhile: the second run sends every other record, says it
    skipped damaged ones and counts exactly the lost ones."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_bytes(b"".join(line("b", n) for n in range(300)))
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    rx.down()  # a port that refuses
    port = free_port()
    first = start(tmp_path, podinfo, rx, tmp_path / "state", port)
    buffered = wait_buffered(port, 300)
    assert first.stop() == 0 and buffered >= 300
    segments = sorted((tmp_path / "state").rglob("*.buf"))
    assert segments, "no disk-buffer segment written"
    raw = bytearray(segments[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    segments[0].write_bytes(bytes(raw))
    rx.up()
    port = free_port()
    second = start(tmp_path, podinfo, rx, tmp_path / "state", port)
    settle(tmp_path / "logs" / "app.log", tally, port)  # every old record read and sent
    corrupt = int(wait_scrape(port).get(FAILED.format("buffer-corrupt"), 0))
    assert second.stop() == 0
    stderr = (tmp_path / "stderr.log").read_bytes()
    report("corrupt-buffer-record", written=300, tally=tally,
           rss_kib=max(first.peak_rss_kib, second.peak_rss_kib), counted_corrupt=corrupt,
           missing=spans(tally.missing({"b": 300})))
    assert corrupt >= 1 and but_marker(tally) + corrupt == 300 and tally.duplicated == 0
    assert b"damaged" in stderr


def test_full_file_system_under_state_dir_recovers(tmp_path, podinfo, cli, disk_buffer):
    """8. The state directory (checkpoints + disk buffer) is on a 1 MiB tmpfs filled to the
    last byte while the sink is down and lines keep coming: the shipper stays up (no crash
    loop), reports the error, and once space returns every line arrives."""
    (tmp_path / "logs").mkdir()
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    rx.down()
    port = free_port()
    with small_tmpfs("1m") as state:
        (state / "state").mkdir()
        filler = fill(state)
        shipper = start(tmp_path, podinfo, rx, state / "state", port)
        with open(tmp_path / "logs" / "app.log", "ab") as fh:
            for n in range(2000):
                fh.write(line("f", n))
        time.sleep(4.0)  # the window in which a crash (loop) would show: nothing to wait for
        alive_when_full = shipper.proc.poll() is None
        errors = {k: v for k, v in wait_scrape(port).items()
                  if k.startswith("shipper_records_failed_total")} if alive_when_full else {}
        filler.unlink()
        rx.up()
        tally.wait_for(2000, 20)
        code = shipper.stop()
        checkpoints = json.loads((state / "state" / "checkpoints.json").read_bytes())
    stderr = (tmp_path / "stderr.log").read_bytes()
    report("full-fs", written=2000, tally=tally, rss_kib=shipper.peak_rss_kib,
           alive_when_full=alive_when_full, failed_counters=errors,
           missing=spans(tally.missing({"f": 2000})))
    assert alive_when_full and code == 0
    assert b"disk buffer write failed" in stderr or b"cannot save checkpoints" in stderr
    assert tally.missing({"f": 2000}) == []
    assert checkpoints["files"], "checkpoints were not saved once space returned"


def test_damaged_buffer_state_is_set_aside_not_a_crash_loop(tmp_path, podinfo, cli, disk_buffer):
    """13. 300 lines wait in the disk buffer (sink down) across a restart. Meanwhile
    cursor.json gets a negative offset, a stray ``seg-backup.buf`` appears (holding 5
    records), a segment is a directory, and another segment holds random bytes. The second
    run sets each unusable file aside with a warning (counted by kind), sends all 300
    lines, and counts the records lost in records (the stray file's 5 plus the estimate
    for the garbage segment, never just 1 per damaged region)."""
    import os
    import shutil

    from shipper.buffer.frames import encode

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_bytes(b"".join(line("g", n) for n in range(300)))
    tally = Tally()
    rx = Receiver(tally)
    rx.up()
    rx.down()
    port = free_port()
    first = start(tmp_path, podinfo, rx, tmp_path / "state", port)
    buffered = wait_buffered(port, 300)
    assert first.stop() == 0 and buffered >= 300
    buf = next((tmp_path / "state").rglob("seg-*.buf")).parent
    segment = min(buf.glob("seg-*.buf"))
    mean = segment.stat().st_size / 301  # the readiness line is buffered too
    (buf / "cursor.json").write_text(json.dumps({"version": 2, "seq": 0, "offset": -40}))
    (buf / "seg-backup.buf").write_bytes(encode([b'{"message":"stray %d"}' % i for i in range(5)]))
    (buf / "seg-0000000000000070.buf").mkdir()
    (buf / "seg-0000000000000080.buf").write_bytes(os.urandom(20_000).replace(b"\xf5", b"\0"))
    rx.up()
    port = free_port()
    second = start(tmp_path, podinfo, rx, tmp_path / "state", port)
    tally.wait_for(300, 30)
    settle(tmp_path / "logs" / "app.log", tally, port)  # every old record read and sent
    metrics = wait_scrape(port)
    code = second.stop()
    stderr = (tmp_path / "stderr.log").read_text()
    aside = {kind: metrics.get(f'shipper_state_set_aside_total{{kind="{kind}"}}', 0)
             for kind in ("buffer-cursor", "buffer-segment")}
    lost = int(metrics.get(FAILED.format("buffer-corrupt"), 0))
    report("damaged-buffer-state", written=300, tally=tally, rss_kib=second.peak_rss_kib,
           set_aside=aside, lost_counted=lost, estimate=round(20_000 / mean),
           missing=spans(tally.missing({"g": 300})))
    shutil.rmtree(buf / "seg-0000000000000070.buf.corrupt", ignore_errors=True)
    assert code == 0 and tally.missing({"g": 300}) == []
    assert aside == {"buffer-cursor": 1, "buffer-segment": 2}
    assert abs(lost - (5 + 20_000 / mean)) <= 3, f"counted {lost} records lost"
    assert stderr.count("set aside as") == 3
