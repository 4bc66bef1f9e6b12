"""11. Memory is bounded in bytes on the way out: 1,500 lines of 250 KB through the stdout
sink with the chart's default config stay under 128 MiB of peak RSS (the stdout sink's
512-record batches used to ignore ``batch.max_bytes``: 258 MiB).

The HTTP server is off (its live-tail ring is a separate component). The harness samples
the shipper's ``VmHWM`` while it runs.
"""

from __future__ import annotations

import pytest

from tests.reliability.harness import Shipper, Tally, report, spans, wait_up
from tests.reliability.probes import write_config

pytestmark = pytest.mark.integration

LINES, SIZE = 1_500, 250_000
LIMIT_MIB = 128
#: the sidecar config of helm/shipper/values.yaml (podinfo_dir, state_dir, server: set
#: by the templates / here on the command line)
CHART_CONFIG = {"drain_on_exit": True, "shutdown_deadline": "20s", "log_level": "info",
                "filters": {"min_level": "info"}, "redact": {"enabled": True},
                "sinks": [{"type": "stdout", "name": "stdout"}]}


def big_line(n: int) -> bytes:
    head = f"2026-05-01T10:00:00Z INFO worker: SEQ:m:{n} payload "
    body = f"frame={n:06d} ok " * ((SIZE - len(head)) // 16 + 1)
    return (head + body)[:SIZE].encode() + b"\n"


def test_big_lines_through_stdout_stay_under_128_mib(tmp_path, podinfo, cli):
    logs = tmp_path / "logs"
    logs.mkdir()
    cfg = write_config(tmp_path / "shipper.yaml", CHART_CONFIG)
    tally = Tally()
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                       "--listen", "off"], tally, tmp_path / "stderr.log")
    assert wait_up(tally, logs, 0), "the shipper did not start"
    with open(logs / "app.log", "wb") as fh:
        fh.writelines(big_line(n) for n in range(LINES))
    tally.wait_for(LINES + 1, 300)
    code = shipper.stop(120)
    missing = tally.missing({"m": LINES})
    peak_mib = shipper.peak_rss_kib / 1024
    report("big-lines-stdout", written=LINES, tally=tally, rss_kib=shipper.peak_rss_kib,
           missing=spans(missing))
    assert code == 0 and missing == []
    assert peak_mib <= LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB"
