"""A ``--once`` run ships everything to a sink slower than ``shutdown_deadline`` allows.

The end of the input is no deadline: the sinks deliver what they hold as long as they make
progress (a signal, or no progress for ``shutdown_deadline``, starts the bounded shutdown).
Before, the end of the input started the shutdown clock, so whatever a slow backend had
not taken within the deadline was cut off: with a 1 s deadline and a backend taking 0.1 s
a request, most of 3,000 lines never arrived (and without a state dir, never would).
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, report
from tests.reliability.probes import http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

TOTAL = 3_000


def test_once_run_delivers_everything_to_a_slow_sink(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(b"".join(line("o", n) for n in range(TOTAL)))
    tally = Tally()
    with Receiver(tally, delay=0.1) as rx:
        sink = http_sink(rx.url, max_records=50)
        cfg = write_config(tmp_path / "cfg.yaml", {"shutdown_deadline": "1s", "sinks": [sink]})
        started = time.monotonic()
        run = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"), "--once",
                       "--listen", "off"], Tally(), tmp_path / "stderr.log")
        code = run.wait(120)
        took = time.monotonic() - started
    missing = tally.missing({"o": TOTAL})
    report("once-slow-sink", written=TOTAL, tally=tally, exit_code=code,
           seconds=f"{took:.1f}", missing=len(missing))
    assert code == 0
    assert missing == [], f"{len(missing)} of {TOTAL} lines never arrived"


def test_once_run_with_a_dead_sink_still_ends(tmp_path):
    """A sink that makes no progress (every POST 503) does not hold a ``--once`` run
    forever: no progress for ``shutdown_deadline`` starts the bounded shutdown."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(b"".join(line("d", n) for n in range(200)))
    with Receiver(Tally(), status=503) as rx:
        cfg = write_config(tmp_path / "cfg.yaml", {"shutdown_deadline": "1s",
                                                   "sinks": [http_sink(rx.url)]})
        started = time.monotonic()
        run = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"), "--once",
                       "--listen", "off"], Tally(), tmp_path / "stderr.log")
        code = run.wait(60)
        took = time.monotonic() - started
    assert code == 0
    assert took < 15, f"took {took:.1f}s"
    assert "made no progress" in (tmp_path / "stderr.log").read_text()
