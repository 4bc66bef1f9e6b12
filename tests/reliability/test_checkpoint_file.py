"""Issue 11 items 5 and 13: the checkpoint file on disk.

5. At a clean exit the checkpoint equals what was delivered: SIGTERM/restart cycles
   re-send nothing (a change made while a save was being written used to be dropped).
13. A damaged ``checkpoints.json`` never stops the shipper: it is set aside with one
   warning; bad entries among good ones are dropped and the good ones kept; checkpoints
   are saved again afterwards (a second run re-sends nothing).
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, report, spans, wait_up

pytestmark = pytest.mark.integration


def args_for(tmp_path, podinfo, *extra: str) -> list[str]:
    return ["--path", str(tmp_path / "logs" / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off", *extra]


def json_line(stream: str, n: int) -> bytes:
    return b'{"level":"info","message":"SEQ:%s:%d %s"}\n' % (stream.encode(), n, b"x" * 40)


def test_clean_restarts_resend_nothing(tmp_path, podinfo, cli):
    """5. Eight cycles of: start, 600 JSON lines at once to each of three files (JSON
    records are never held, so three envelopes are acknowledged one right after the
    other and the later ones land while the first save is being written), all
    delivered, SIGTERM. Every clean exit leaves the checkpoints at what was delivered,
    so the 14,400 lines arrive exactly once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    names, burst, cycles = ("a", "b", "c"), 600, 8
    tally = Tally()
    resent: list[int] = []
    for cycle in range(cycles):
        shipper = Shipper(args_for(tmp_path, podinfo), tally, tmp_path / "stderr.log")
        before = tally.duplicated
        for name in names:
            with open(logs / f"{name}.log", "ab") as fh:
                fh.write(b"".join(json_line(name, n)
                                  for n in range(cycle * burst, (cycle + 1) * burst)))
        assert tally.wait_for((cycle + 1) * burst * len(names), 30), f"cycle {cycle} stuck"
        time.sleep(0.3)  # the saves that follow the last delivery are done
        shipper.signal(signal.SIGTERM)
        assert shipper.wait() == 0
        resent.append(tally.duplicated - before)
    last = Shipper(args_for(tmp_path, podinfo), tally, tmp_path / "stderr.log")
    assert wait_up(tally, logs, 1)
    code = last.stop()
    missing = tally.missing({name: cycles * burst for name in names})
    report("clean-restarts", written=cycles * burst * len(names), tally=tally,
           rss_kib=last.peak_rss_kib, resent_per_cycle=resent, missing=spans(missing))
    assert code == 0
    assert missing == [] and tally.duplicated == 0


def entry(path: str, at: int, **change: object) -> dict:
    """A well-formed version 1 entry (a dev/ino that matches no real file)."""
    item = {"key": "1:424242:00ff00ff00ff00ff", "path": path, "dev": 1, "ino": 424242,
            "fingerprint": "00ff00ff00ff00ff", "offset": at, "updated": 1.0,
            "retired": None}
    item.update(change)
    return item


DAMAGE = {
    "deep-nesting": b"[" * 100_000,
    "wrong-type-offset": json.dumps({"version": 1, "files": [entry("/x.log", 5, offset="5")]}),
    "wrong-type-key": json.dumps({"version": 1, "files": [entry("/x.log", 5, key=12345)]}),
    "retired-yesterday": json.dumps({"version": 1, "files": [
        entry("/x.log", 5, retired="yesterday")]}),
    "negative-offset": json.dumps({"version": 1, "files": [entry("/x.log", -5)]}),
    "missing-keys": json.dumps({"version": 1, "files": [{"key": "1:2:ab", "path": "/x"}]}),
    "not-an-object": json.dumps({"version": 1, "files": ["1:2:ab"]}),
    "files-not-a-list": json.dumps({"version": 1, "files": {"1:2:ab": 5}}),
    "not-json": b"\x00{not json",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_checkpoint_file_is_set_aside_and_saving_goes_on(tmp_path, podinfo, cli, kind):
    """13. Each kind of damage: the run exits 0 with every line shipped, one warning, the
    file kept as ``checkpoints.json.corrupt``; the next run re-sends nothing (the
    checkpoints were saved again)."""
    (tmp_path / "logs").mkdir()
    state = tmp_path / "state"
    state.mkdir()
    raw = DAMAGE[kind]
    (state / "checkpoints.json").write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    (tmp_path / "logs" / "app.log").write_bytes(b"".join(line("k", n) for n in range(100)))
    tally = Tally()
    first = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    code = first.wait()
    second = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    again = second.wait()
    stderr = (tmp_path / "stderr.log").read_bytes()
    warnings = stderr.count(b"checkpoint file")
    report(f"damaged-checkpoints[{kind}]", written=100, tally=tally, rss_kib=first.peak_rss_kib,
           exit=code, warnings=warnings)
    assert (code, again) == (0, 0)
    assert tally.missing({"k": 100}) == [] and tally.duplicated == 0
    assert warnings == 1 and b"Traceback" not in stderr
    assert (state / "checkpoints.json.corrupt").exists()
    saved = json.loads((state / "checkpoints.json").read_bytes())["files"]
    assert [(e["path"], e["offset"]) for e in saved if e["path"].endswith("app.log")] == [
        (str(tmp_path / "logs" / "app.log"), (tmp_path / "logs" / "app.log").stat().st_size)]


def test_bad_entry_among_good_ones_drops_only_that_entry(tmp_path, podinfo, cli):
    """13. A checkpoint file with a good entry (a file read to its end) and a bad one:
    the bad entry is dropped with one warning, the good one kept, so that file is not
    read again; the original is kept aside."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "done.log").write_bytes(b"".join(line("d", n) for n in range(200)))
    tally = Tally()
    first = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    assert first.wait() == 0 and tally.delivered == 200
    path = tmp_path / "state" / "checkpoints.json"
    doc = json.loads(path.read_bytes())
    doc["files"].append(entry("/x.log", 5, retired="yesterday"))
    path.write_text(json.dumps(doc))
    (logs / "new.log").write_bytes(b"".join(line("n", n) for n in range(50)))
    second = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    code = second.wait()
    stderr = (tmp_path / "stderr.log").read_bytes()
    report("bad-entry-among-good", written=250, tally=tally, rss_kib=second.peak_rss_kib,
           warnings=stderr.count(b"checkpoint file"))
    assert code == 0
    assert tally.missing({"d": 200, "n": 50}) == [] and tally.duplicated == 0
    assert stderr.count(b"checkpoint file") == 1
    assert (tmp_path / "state" / "checkpoints.json.corrupt").exists()


def test_set_aside_is_counted_on_the_metrics_endpoint(tmp_path, podinfo, cli):
    """13. A real run that set a damaged checkpoint file aside says so in
    ``shipper_state_set_aside_total{kind="checkpoints"}`` (the store gets the run's
    metrics), and keeps shipping."""
    import urllib.request

    from tests.integration.test_health_wedged import bound_port

    (tmp_path / "logs").mkdir()
    state = tmp_path / "state"
    state.mkdir()
    (state / "checkpoints.json").write_bytes(b"[" * 100_000)
    tally = Tally()
    stderr = tmp_path / "stderr.log"
    argv = args_for(tmp_path, podinfo)
    argv[argv.index("off")] = "127.0.0.1:0"
    shipper = Shipper([*argv, "--log-level", "info"], tally, stderr)
    port = bound_port(stderr, time.monotonic() + 30)
    assert wait_up(tally, tmp_path / "logs", 1)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert shipper.stop() == 0
    assert 'shipper_state_set_aside_total{kind="checkpoints"} 1.0' in text
