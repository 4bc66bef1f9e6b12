"""Issue 13: in follow mode a push more than 1 h behind a stream's newest entry is refused by
Loki (``400 entry too far behind``); those records used to be dead-lettered (lost to Loki:
100 of 300 in the issue's test). The real ``shipper run`` (follow mode) ships three blocks
of 100 lines, the second two hours behind, to a Loki-behaving receiver: all 300 arrive,
the late block at the stream's newest timestamp with its own instant in the structured
metadata ``original_timestamp``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.corpus import REPO
from tests.receivers.loki import LokiReceiver

pytestmark = pytest.mark.integration

BLOCK = 100


def block(name: str, at: datetime) -> bytes:
    lines = []
    for n in range(BLOCK):
        stamp = (at + timedelta(milliseconds=n)).isoformat(timespec="milliseconds")
        lines.append(json.dumps({"timestamp": stamp.replace("+00:00", "Z"), "level": "info",
                                 "message": f"SEQ:{name}:{n}"}))
    return ("\n".join(lines) + "\n").encode()


async def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


def tokens(rx: LokiReceiver) -> set[str]:
    return {json.loads(e.line)["message"] for e in rx.entries}


async def test_follow_mode_block_two_hours_behind_is_not_lost(tmp_path: Path) -> None:
    logs, podinfo = tmp_path / "logs", tmp_path / "podinfo"
    logs.mkdir()
    podinfo.mkdir()
    log = logs / "app.log"
    now = datetime.now(UTC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    async with LokiReceiver() as rx:
        sink = json.dumps([{"type": "loki", "name": "loki", "url": rx.url,
                            "batch": {"max_wait": "100ms"}}])
        env["SHIPPER_SINKS"] = sink
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shipper.cli", "run", "--path", f"{logs}/*.log",
            "--podinfo-dir", str(podinfo), "--state-dir", str(tmp_path / "state"),
            "--listen", "off", cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            for i, (name, at) in enumerate((("a", now - timedelta(minutes=1)),
                                            ("b", now - timedelta(hours=2)),
                                            ("c", now))):
                with log.open("ab") as out:
                    out.write(block(name, at))
                # each block is its own push: wait until Loki answered for it
                want = BLOCK * (i + 1)
                await wait_for(lambda want=want: len(tokens(rx)) + rx.discarded.total() >= want, 60)
            await wait_for(lambda: len(tokens(rx)) >= 3 * BLOCK, 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    got = tokens(rx)
    lost = 3 * BLOCK - len(got & {f"SEQ:{b}:{n}" for b in "abc" for n in range(BLOCK)})
    assert lost == 0, f"lost {lost} of {3 * BLOCK} (Loki refused: {dict(rx.discarded)})"
    assert proc.returncode == 0, stderr.decode()[-2000:]
    late = [e for e in rx.entries if json.loads(e.line)["message"].startswith("SEQ:b:")]
    newest_a = max(e.ts_ns for e in rx.entries if json.loads(e.line)["message"].startswith("SEQ:a:"))
    assert all(e.ts_ns >= newest_a for e in late)  # sent at the stream's newest timestamp
    originals = sorted(e.metadata["original_timestamp"] for e in late)
    assert originals[0].startswith((now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
