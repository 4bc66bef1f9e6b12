"""Hot reload end to end: five reloads while lines are written, none lost or duplicated.

A real shipper (stdout sink, state dir, server on loopback) follows a file written at a
steady pace. Meanwhile the configuration is reloaded five times, by ``POST /-/reload`` and
by SIGHUP: a drop rule is added (lines written after it are dropped, lines before are
not), an ``http`` sink with a route is added (it gets every line from some point on,
contiguous, once), that sink's batch size changes (its worker is replaced: the old one
delivers what it holds first), a broken file is refused (500, the running configuration
stays, the gauge drops to 0), and ``server.listen`` changes (needs a restart: logged, the
server stays where it is). stdout must carry every line exactly once.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.reliability.harness import (
    Shipper,
    Tally,
    line,
    report,
    scaled,
    spans,
    wait_up,
)
from tests.reliability.probes import (
    PacedWriter,
    free_port,
    http_sink,
    scrape,
    write_config,
)
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

RATE = 400.0
SUCCESS = 'shipper_config_reloads_total{result="success"}'
FAILURE = 'shipper_config_reloads_total{result="failure"}'
GAUGE = "shipper_config_last_reload_successful"


def post_reload(port: int) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/-/reload", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def hup_and_wait(shipper: Shipper, port: int, successes: float) -> None:
    shipper.signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while scrape(port).get(SUCCESS, 0.0) < successes:
        assert time.monotonic() < deadline, "the SIGHUP reload did not happen"
        time.sleep(0.05)


def test_reloads_while_writing_lose_and_repeat_nothing(cli, tmp_path, podinfo):
    total = scaled(100_000, 2400)
    logs, port = tmp_path / "logs", free_port()
    logs.mkdir()
    out, extra = Tally(), Tally()
    base = {"shutdown_deadline": "10s", "server": {"listen": f"127.0.0.1:{port}"},
            "sinks": [{"type": "stdout", "name": "stdout"}]}
    cfg = write_config(tmp_path / "shipper.yaml", base)
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state")],
                      out, tmp_path / "stderr.log")
    with Receiver(extra) as rx:
        try:
            assert wait_up(out, logs, 0), "the shipper did not start"
            writer = PacedWriter(logs / "app.log", "w", total, RATE)
            writer.start()
            (logs / "noise.log").write_bytes(line("n", 0))
            drop = {"drop": [{"name": "late-noise", "match": {"message": "^SEQ:n:1 "}}]}
            write_config(cfg, {**base, "filters": drop})
            assert post_reload(port) == (200, {"status": "success", "changed": ["filters"],
                                               "restart_required": []})
            with open(logs / "noise.log", "ab") as fh:
                fh.write(line("n", 1))  # dropped by the rule just loaded
            # the 0.5 s sleeps below wait for nothing: they space the reloads out over
            # the writer's traffic (each reload lands among lines being shipped)
            time.sleep(0.5)
            routed = dict(http_sink(rx.url), name="extra", match={"message": "^SEQ:w:"})
            with_extra = {**base, "filters": drop, "sinks": [*base["sinks"], routed]}
            write_config(cfg, with_extra)
            status, body = post_reload(port)
            assert status == 200 and body["changed"] == ["sinks"]
            time.sleep(0.5)
            routed["batch"] = {"max_records": 50, "max_wait": "100ms"}  # a new worker
            write_config(cfg, with_extra)
            hup_and_wait(shipper, port, 3)
            time.sleep(0.5)
            (tmp_path / "shipper.yaml").write_text("sinks: [{type: stdout, match: {x: 1}}]\n")
            status, body = post_reload(port)
            assert status == 500 and body["status"] == "failure"
            assert "sinks.stdout.match" in body["error"]
            assert scrape(port)[GAUGE] == 0.0
            time.sleep(0.5)
            moved = {**with_extra, "server": {"listen": f"127.0.0.1:{free_port()}"}}
            write_config(cfg, moved)
            hup_and_wait(shipper, port, 4)  # still served on the old port
            writer.join(120)
            assert out.wait_for(total + 2, 120), f"stdout: {out.delivered}/{total + 2}"
            assert extra.wait_for(1, 60)
            metrics = scrape(port)
        finally:
            code = shipper.stop()
    stderr = (tmp_path / "stderr.log").read_text()
    assert code == 0, stderr[-3000:]
    written = {"w": total, "r": 1, "n": 1}
    missing, repeated = out.missing(written), out.repeated()
    extra_ws = sorted(n for stream, n in extra.seen if stream == "w")
    report("reload", written=total, tally=out, extra_first=extra_ws[0],
           extra_delivered=len(extra_ws), extra_duplicated=extra.duplicated)
    assert not missing and not repeated, f"missing {spans(missing)} repeated {spans(repeated)}"
    assert ("n", 1) not in out.seen, "the drop rule loaded by the reload did not apply"
    assert extra_ws == list(range(extra_ws[0], total)), "the added sink missed lines"
    assert extra.duplicated == 0 and extra_ws[0] > 0
    assert {k for k, _ in extra.seen} == {"w"}, "the added sink's route was not applied"
    assert metrics[SUCCESS] == 4 and metrics[FAILURE] == 1 and metrics[GAUGE] == 1.0
    assert '"keys": ["server.listen"]' in stderr or '"keys":["server.listen"]' in stderr
