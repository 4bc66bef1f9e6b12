"""Routes end to end: "errors to one receiver, everything to another".

A real shipper with two ``http`` sinks on loopback receivers: ``errors`` with
``match: {min_level: error}`` and ``all`` without a match. Every fifth line is an error.
Each receiver must get exactly its lines, once; the file's checkpoint must move over the
info lines the ``errors`` sink never got (the last line of each run is an info line), so
a restart re-sends nothing and loses nothing.
"""

from __future__ import annotations

import orjson
import pytest

from tests.reliability.harness import Shipper, Tally, scaled
from tests.reliability.probes import http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration


def write_lines(path, first: int, count: int) -> list[int]:
    """JSON lines ``SEQ:j:<n>``, level error for n % 5 == 4; the error numbers."""
    errors = []
    with open(path, "ab") as fh:
        for n in range(first, first + count):
            level = "error" if n % 5 == 4 else "info"
            if level == "error":
                errors.append(n)
            fh.write(orjson.dumps({"level": level, "message": f"SEQ:j:{n} step"}) + b"\n")
    return errors


def run_once(tmp_path, podinfo, cfg, expect_all: int, expect_errors: int,
             every: Tally, errs: Tally) -> None:
    logs = tmp_path / "logs"
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                       "--listen", "off"], Tally(), tmp_path / "stderr.log")
    try:
        assert every.wait_for(expect_all, 60), f"all: {every.delivered}/{expect_all}"
        assert errs.wait_for(expect_errors, 60), f"errors: {errs.delivered}/{expect_errors}"
    finally:
        assert shipper.stop() == 0, (tmp_path / "stderr.log").read_text()[-2000:]


def test_errors_to_one_receiver_everything_to_another_across_a_restart(cli, tmp_path, podinfo):
    n = scaled(20_000, 400)
    logs = tmp_path / "logs"
    logs.mkdir()
    every, errs = Tally(), Tally()
    with Receiver(every) as rx_all, Receiver(errs) as rx_err:
        sinks = [dict(http_sink(rx_err.url), name="errors", match={"min_level": "error"}),
                 dict(http_sink(rx_all.url), name="all")]
        cfg = write_config(tmp_path / "shipper.yaml", {"shutdown_deadline": "10s",
                                                       "sinks": sinks})
        error_lines = write_lines(logs / "app.log", 0, n)
        run_once(tmp_path, podinfo, cfg, n, len(error_lines), every, errs)
        error_lines += write_lines(logs / "app.log", n, n)  # while stopped
        run_once(tmp_path, podinfo, cfg, 2 * n, len(error_lines), every, errs)
    assert sorted(num for _s, num in every.seen) == list(range(2 * n))
    assert sorted(num for _s, num in errs.seen) == error_lines
    assert every.duplicated == 0, f"re-sent to all: {every.duplicated}"
    assert errs.duplicated == 0, f"re-sent to errors: {errs.duplicated}"
