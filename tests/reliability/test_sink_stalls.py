"""8 and 10 (sink part): nothing a sink meets stops shipping silently, and a sink in
trouble is visible.

* 8: a JSON line nested 300 levels deep (``orjson.loads`` takes it, ``orjson.dumps`` does
  not) used to kill the sink task: the lines after it never shipped. Now it ships once on
  both sinks, as text, and every line after it follows: the parser keeps it from being
  nested (``parse_errors_total{kind="json_too_deep"}``) or, if a record JSON cannot hold
  reaches a sink anyway, the sink ships it marked ``attributes.unencodable`` (counted).
* 10: with the sink down, ``shipper_delivery_lag_seconds`` grows at every scrape although
  nothing happens (it froze: it was only set on events), one warning names the failing
  sink with its last error and retries, and one info line says when it recovered.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, poll, report, spans, wait_up
from tests.reliability.probes import (
    MARKER,
    free_port,
    http_sink,
    settle,
    wait_scrape,
    write_config,
)
from tests.reliability.receiver import Receiver
from tests.reliability.sinkprobes import KeepingTally

pytestmark = pytest.mark.integration

LAG = 'shipper_delivery_lag_seconds{sink="h"}'


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def start(tmp_path, podinfo, url: str, port: int) -> tuple[Shipper, KeepingTally]:
    logs = tmp_path / "logs"
    logs.mkdir()
    cfg = write_config(tmp_path / "shipper.yaml", {
        "shutdown_deadline": "5s",
        "sinks": [http_sink(url), {"type": "stdout", "name": "stdout"}]})
    out = KeepingTally(b"SEQ:x:")
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
                       "--listen", f"127.0.0.1:{port}"], out, tmp_path / "stderr.log")
    assert wait_up(out, logs, 0), "the shipper did not start"
    return shipper, out


def test_a_line_json_cannot_encode_again_ships_as_text_and_the_rest_follows(
        tmp_path, podinfo, cli):
    http_tally = Tally()
    port = free_port()
    with Receiver(http_tally) as rx:
        shipper, out = start(tmp_path, podinfo, rx.url, port)
        deep = json.dumps({"level": "error", "msg": "SEQ:x:0 deep", "ctx": nested(300)})
        with open(tmp_path / "logs" / "app.log", "ab") as fh:
            fh.write(b"".join(line("u", n) for n in range(100)))
            fh.write(deep.encode() + b"\n")
            fh.write(b"".join(line("u", n) for n in range(100, 200)))
        out.wait_for(202, 30)
        http_tally.wait_for(202, 30)
        # counted when encoded, before sending: once a later marker line is out at both
        # sinks (and none is left in the http buffer), every count is in
        settle(tmp_path / "logs" / "app.log", http_tally, port)
        poll(lambda: MARKER in out.seen, "the marker line on stdout")
        metrics = wait_scrape(port)
        code = shipper.stop()
    marked = [row for row in out.rows if b'"unencodable":true' in row]
    counted = {k: v for k, v in metrics.items()
               if k.startswith("shipper_records_failed_total") and "unencodable" in k}
    too_deep = metrics.get('shipper_parse_errors_total{kind="json_too_deep"}', 0)
    missing = out.missing({"u": 200, "x": 1}) + http_tally.missing({"u": 200, "x": 1})
    report("unencodable-line", written=201, tally=out, http_delivered=http_tally.delivered,
           counted=counted, marked=len(marked), too_deep=too_deep, missing=spans(missing))
    assert missing == [] and code == 0
    assert out.duplicated == 0 and http_tally.duplicated == 0
    if too_deep:  # the parser made it text: it never reached a sink nested
        assert too_deep == 1 and not any(counted.values())
    else:
        assert len(marked) == 1 and b"deep" in marked[0]
        assert counted == {'shipper_records_failed_total{reason="unencodable",sink="h"}': 1.0,
                           'shipper_records_failed_total{reason="unencodable",sink="stdout"}': 1.0}


def test_a_failing_sink_is_visible_lag_grows_one_warning_one_recovery_line(
        tmp_path, podinfo, cli):
    http_tally = Tally()
    rx = Receiver(http_tally)
    rx.up()
    rx.status = 503
    port = free_port()
    shipper, out = start(tmp_path, podinfo, rx.url, port)
    with open(tmp_path / "logs" / "app.log", "ab") as fh:
        fh.write(b"".join(line("v", n) for n in range(50)))
    out.wait_for(51, 30)
    time.sleep(2.0)  # the 2 + 6 s below are the failure's duration, nothing awaited
    first = wait_scrape(port).get(LAG, 0.0)
    time.sleep(6.0)  # nothing is written, nothing is delivered: only time passes
    second = wait_scrape(port).get(LAG, 0.0)
    rx.status = 200
    http_tally.wait_for(51, 30)
    settle(tmp_path / "logs" / "app.log", http_tally, port)  # every record acknowledged
    after = wait_scrape(port).get(LAG, 0.0)
    code = shipper.stop()
    logs = [json.loads(row) for row in (tmp_path / "stderr.log").read_bytes().splitlines()
            if row.startswith(b"{")]
    failing = [r for r in logs if "failing for" in r.get("event", "")]
    recovered = [r for r in logs if "recovered after" in r.get("event", "")]
    report("visible-failure", written=50, tally=http_tally, lag_first=first, lag_second=second,
           lag_after=after, warnings=len(failing), recoveries=len(recovered))
    assert second - first >= 5.0, f"the lag gauge moved {second - first:.1f}s in 6 s"
    assert after < 2.0
    assert len(failing) == 1 and failing[0]["level"] == "warning"
    assert "sink h" in failing[0]["event"] and "HTTP 503" in failing[0]["event"]
    assert failing[0].get("retries", 0) >= 2
    assert len(recovered) == 1 and code == 0
