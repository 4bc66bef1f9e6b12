"""Issue 11, item 7 (pipeline part): a traceback is never split into several records.

Before, a multi-line record whose head was parsed while the sink was down was shipped
alone after ``multiline.flush_after`` although its next lines were already read and
waiting in the chunk queue behind the blocked sink; and at SIGTERM the pending record of a
file was flushed when the tailer let the file go, before the file's queued chunks were
processed. Both split tracebacks into several records.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.reliability.harness import Shipper, Tally, report, scaled
from tests.reliability.probes import http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

FRAMES = 10  # continuation lines per traceback


def traceback(k: int) -> bytes:
    """A head line and ``FRAMES`` continuation lines, each with its own token."""
    first = k * FRAMES
    rows = [f"2025-07-06T10:30:00Z ERROR job {k} failed SEQ:h:{k}",
            f"Traceback (most recent call last): SEQ:c:{first}"]
    rows += [f'  File "/app/worker.py", line {i}, in step SEQ:c:{first + i}'
             for i in range(1, FRAMES - 1)]
    rows.append(f"ValueError: boom SEQ:c:{first + FRAMES - 1}")
    return ("\n".join(rows) + "\n").encode()


class Records(Tally):
    """A tally that also keeps every record's message (the receiver feeds NDJSON)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def feed(self, raw: bytes) -> None:
        super().feed(raw)
        with self.lock:
            self.messages += [json.loads(row)["message"] for row in raw.splitlines() if row]


def split_records(messages: list[str]) -> list[str]:
    """Records that hold part of a traceback: a head without all its frames, or frames
    without their head."""
    bad = []
    for message in messages:
        heads = [int(w.split(":")[2]) for w in message.split() if w.startswith("SEQ:h:")]
        frames = {int(w.split(":")[2]) for w in message.split() if w.startswith("SEQ:c:")}
        whole = len(heads) == 1 and frames == set(range(heads[0] * FRAMES,
                                                        (heads[0] + 1) * FRAMES))
        if (frames or heads) and not whole:
            bad.append(message[:80])
    return bad


def test_tracebacks_stay_whole_through_an_outage_and_a_sigterm_after_recovery(
        tmp_path, podinfo, cli):
    """7. Tracebacks of 10 lines written while the sink is down (small reads, so records
    straddle chunks and the chunk queue holds the next lines of a pending record), the
    sink recovers, SIGTERM 0.5 s later; a restart finishes. Every traceback arrives as
    exactly one record: 0 split, 0 lost."""
    count = scaled(20_000, 1_500)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(b"".join(traceback(k) for k in range(count)))
    tally = Records()
    rx = Receiver(tally)
    rx.up()
    rx.down()
    sink = http_sink(rx.url, buffer={"type": "memory", "max_bytes": 32_768})
    cfg = write_config(tmp_path / "cfg.yaml", {"read_chunk_bytes": "4KiB",
                                              "shutdown_deadline": "10s", "sinks": [sink]})
    args = ["--config", str(cfg), "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off"]
    first = Shipper(args, Tally(), tmp_path / "stderr.log")
    time.sleep(3.0)  # down: the processor waits in put, flush_after passes many times
    rx.up()
    time.sleep(0.5)
    first.signal(signal.SIGTERM)
    code = first.wait(30)
    second = Shipper([*args, "--once"], Tally(), tmp_path / "stderr.log")
    second.wait(120)
    rx.down()
    written = {"h": count, "c": count * FRAMES}
    missing = tally.missing(written)
    bad = split_records(tally.messages)
    report("traceback-outage-sigterm", written=count, tally=tally, records=len(tally.messages),
           split=len(bad), first_exit=code, missing=len(missing), example=bad[:1])
    assert code == 0
    assert missing == []
    assert bad == []
