"""6. A disk-buffered sink restarted while one batch is stuck in retries re-sends only that
batch (it used to re-send almost everything: 5,849 duplicates of 6,000).

6,000 lines go into the disk buffer of an ``http`` sink whose receiver refuses the first
batch it sees (503, again and again) and accepts every other. Once all the others are in,
the shipper is stopped (SIGTERM, or SIGKILL) and started again with the receiver accepting
everything: every line arrives, none twice. Before, the stuck batch held the committed
position back and everything after it was sent again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.harness import Shipper, Tally, line, poll, report, spans
from tests.reliability.probes import free_port, settle, write_config
from tests.reliability.sinkprobes import RefusingReceiver

pytestmark = pytest.mark.integration

TOTAL, BATCH = 6_000, 200


def start(tmp_path, podinfo, url: str) -> tuple[Shipper, int]:
    sink = {"type": "http", "name": "h", "url": url,
            "batch": {"max_records": BATCH, "max_wait": "100ms"},
            "retry": {"initial_backoff": "100ms"},  # max_backoff: the default 60 s
            "buffer": {"type": "disk", "max_bytes": "64MiB"}}
    cfg = write_config(tmp_path / "shipper.yaml", {"shutdown_deadline": "3s", "sinks": [sink]})
    port = free_port()
    return Shipper(["--config", str(cfg), "--path", str(tmp_path / "logs" / "*.log"),
                    "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                    "--listen", f"127.0.0.1:{port}"], Tally(), tmp_path / "stderr.log"), port


def gaps_in_cursor(buffer: Path) -> int | None:
    """Undelivered stretches of the disk buffer per its ``cursor.json``: between the
    committed position, the acknowledged ranges after it and the end of the last segment
    (``None`` while there is no cursor or segment yet)."""
    try:
        cursor = json.loads((buffer / "cursor.json").read_bytes())
        last = max(buffer.glob("seg-*.buf"), key=lambda p: int(p.stem[4:]))
        end = (int(last.stem[4:]), last.stat().st_size)
    except (OSError, ValueError):
        return None
    at, gaps = (cursor["seq"], cursor["offset"]), 0
    for a_seq, a_off, b_seq, b_off in sorted(cursor["acked"]):
        gaps += (a_seq, a_off) != at
        at = (b_seq, b_off)
    return gaps + (at != end)


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_restart_with_one_batch_stuck_resends_only_that_batch(tmp_path, podinfo, cli, stop):
    logs = tmp_path / "logs"
    logs.mkdir()
    tally = Tally()
    rx = RefusingReceiver(tally)
    rx.up()
    first, _ = start(tmp_path, podinfo, rx.url)
    (logs / "app.log").write_bytes(b"".join(line("s", n) for n in range(TOTAL)))
    arrived = tally.wait_for(TOTAL - BATCH, 90)
    # the last commits reach cursor.json: everything but the stuck batch is recorded there
    poll(lambda: gaps_in_cursor(tmp_path / "state" / "buffer" / "h") == 1,
         "cursor.json to hold every batch but the stuck one", timeout=60)
    code = first.stop(60) if stop == "sigterm" else first.kill()
    before_restart = tally.delivered
    rx.refusing = False
    second, port = start(tmp_path, podinfo, rx.url)
    tally.wait_for(TOTAL, 90)
    settle(logs / "app.log", tally, port)  # anything sent again was counted
    second_code = second.stop(60)
    stderr = (tmp_path / "stderr.log").read_text(errors="replace")
    missing = tally.missing({"s": TOTAL})
    report(f"disk-restart-{stop}", written=TOTAL, tally=tally, rss_kib=second.peak_rss_kib,
           delivered_before_restart=before_restart, refused=rx.requests[503],
           missing=spans(missing))
    assert arrived and rx.requests[503] > 0, "no batch was held back: the case did not happen"
    assert missing == [] and second_code == 0
    assert tally.duplicated <= BATCH, f"{tally.duplicated} lines sent twice"
    if stop == "sigterm":
        assert code == 0
        assert "stay in its disk buffer and are sent after a restart" in stderr
