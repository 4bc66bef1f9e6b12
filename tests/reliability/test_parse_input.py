"""Issue 11 items 8 (parse part) and 14 with the real shipper: JSON lines nested up to
1,023 levels (orjson decodes them but encodes only 254) and impossible timestamps (one
of which used to raise out of the parser) never stop shipping: every line comes out once,
each record with a possible timestamp, and the process exits 0."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.reliability.harness import (
    REPO,
    Shipper,
    Tally,
    child_env,
    line,
    report,
    scaled,
    shipper_command,
)

pytestmark = pytest.mark.integration
DEPTHS = (64, 200, 201, 253, 254, 255, 256, 512, 1000, 1023)
IMPOSSIBLE = [
    ("time", "2026-13-45T25:61:61Z"), ("ts", -1), ("@timestamp", "0000-01-01T00:00:00Z"),
    ("time", "2026-01-02T10:00:00+9999"), ("ts", "nan"), ("timestamp", "2026-02-29T10:00:00Z"),
    ("time", "2026-01-02T24:00:01Z"), ("ts", 1e300), ("time", "9999-12-31T23:59:59.999Z"),
]
TEXT_IMPOSSIBLE = ["2026-13-45T25:61:61Z ERROR", "[2026-02-30 10:00:00,000] WARNING",
                   "2026-01-02T10:00:00+15:00 INFO"]
CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def deep_line(token: str, depth: int) -> bytes:
    inner = b"[" * (depth - 1) + b"]" * (depth - 1)
    return b'{"level":"error","msg":"' + token.encode() + b' deep","a":' + inner + b"}\n"


def records(out: bytes) -> list[dict]:
    return [json.loads(raw) for raw in out.splitlines() if raw.strip()]


def test_deep_json_lines_never_stop_shipping(tmp_path, podinfo, cli):
    """``run --once`` over normal lines mixed with lines nested 64..1,023 deep: every
    line ships once (past ``max_json_depth`` as their raw text, marked), exit 0."""
    logs = tmp_path / "logs"
    logs.mkdir()
    normal = scaled(20_000, 400)
    body = bytearray()
    deep_tokens = []
    for n in range(normal):
        body += line("n", n)
        if n % (normal // len(DEPTHS)) == 0 and len(deep_tokens) < len(DEPTHS):
            depth = DEPTHS[len(deep_tokens)]
            deep_tokens.append(depth)
            body += deep_line(f"SEQ:d:{len(deep_tokens) - 1}", depth)
    (logs / "app.log").write_bytes(bytes(body))
    tally = Tally()
    run = Shipper(["--once", "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
                   "--listen", "off"], tally, tmp_path / "stderr.log")
    code = run.wait(180)
    report("deep-json", written=normal + len(DEPTHS), tally=tally, rss_kib=run.peak_rss_kib)
    assert code == 0, (tmp_path / "stderr.log").read_text()[-2000:]
    assert tally.missing({"n": normal, "d": len(DEPTHS)}) == []
    assert tally.duplicated == 0


def test_deep_json_with_state_dir_keeps_following(tmp_path, podinfo, cli):
    """Follow mode with checkpoints: deep lines arrive, the lines after them ship, the
    shipper stops cleanly on SIGTERM and a restart re-sends nothing."""
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    state.mkdir()
    args = ["--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo), "--state-dir",
            str(state), "--listen", "off"]
    with open(logs / "app.log", "ab") as fh:
        for n, depth in enumerate(DEPTHS):
            fh.write(deep_line(f"SEQ:d:{n}", depth))
            fh.write(line("n", n))
    tally = Tally()
    run = Shipper(args, tally, tmp_path / "stderr.log")
    assert tally.wait_for(2 * len(DEPTHS), 120), sorted(tally.seen)
    assert run.stop(60) == 0
    again = Tally()
    rerun = Shipper(args, again, tmp_path / "stderr.log")
    with open(logs / "app.log", "ab") as fh:
        fh.write(line("after", 0))
    assert again.wait_for(1, 120)
    assert rerun.stop(60) == 0
    assert tally.missing({"n": len(DEPTHS), "d": len(DEPTHS)}) == []
    assert set(again.seen) == {("after", 0)}, "a restart re-sent lines already delivered"


def test_impossible_timestamps_ship_with_the_read_time(tmp_path, podinfo, cli):
    """JSON and text lines with impossible times (``+9999`` used to raise ValueError out
    of the parser and end the process with nothing shipped): each line ships once, with
    a canonical ``timestamp`` at the read time and its own value kept (under its key, or
    ``attributes.invalid_timestamp`` for text)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [json.dumps({"msg": f"SEQ:j:{n}", key: value}) for n, (key, value)
             in enumerate(IMPOSSIBLE)]
    lines += [f"{head} SEQ:t:{n}" for n, head in enumerate(TEXT_IMPOSSIBLE)]
    (logs / "app.log").write_text("\n".join(lines) + "\n")
    before = datetime.now(UTC) - timedelta(seconds=1)
    proc = subprocess.run([*shipper_command(), "run", "--once", "--path", str(logs / "*.log"),
                           "--podinfo-dir", str(podinfo), "--listen", "off"],
                          capture_output=True, timeout=120, env=child_env(), cwd=REPO,
                          check=False)
    after = datetime.now(UTC) + timedelta(seconds=1)
    tally = Tally()
    tally.feed(proc.stdout)
    report("impossible-timestamps", written=len(lines), tally=tally)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert tally.missing({"j": len(IMPOSSIBLE), "t": len(TEXT_IMPOSSIBLE)}) == []
    assert tally.duplicated == 0
    got = {r["message"]: r for r in records(proc.stdout)}
    for n, (key, value) in enumerate(IMPOSSIBLE):
        assert got[f"SEQ:j:{n}"]["attributes"][key] == value
    for n, head in enumerate(TEXT_IMPOSSIBLE):
        kept = got[f"SEQ:t:{n}"]["attributes"]["invalid_timestamp"]
        assert kept == head.rsplit(" ", 1)[0].strip("[]")
    for record in got.values():
        assert CANONICAL.fullmatch(record["timestamp"]), record
        stamp = datetime.fromisoformat(record["timestamp"])
        assert before <= stamp <= after, record


def test_sigterm_after_deep_json_exits_zero(tmp_path, podinfo, cli):
    """A deep line followed by SIGTERM: the pipeline is alive to stop cleanly."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(deep_line("SEQ:d:0", 600) + line("n", 0))
    tally = Tally()
    run = Shipper(["--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
                   "--listen", "off"], tally, tmp_path / "stderr.log")
    assert tally.wait_for(2, 120)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 0
