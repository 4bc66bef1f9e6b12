"""Issue 11 items 1 and 2: which file a checkpoint belongs to.

1. A file resumed under its rotated name and killed again is resumed again, whatever its
   name (slow sink, SIGKILL, rename, restart, SIGKILL, restart).
2. A new file that starts with the same line as its predecessor (a start-up banner) is
   read from its start, live and after a restart: a checkpoint is trusted only for the
   bytes it was taken from.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

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
from tests.reliability.probes import descriptors, http_sink, write_config
from tests.reliability.receiver import Receiver

pytestmark = pytest.mark.integration

BANNER = b"=== video-api 4.2.0 starting (pid 1) ===\n"
#: the http sink's batch here. A kill re-sends the request in flight, and all of an
#: envelope (one tailer chunk, <= 512 lines) that request finished: <= 2 batches
BATCH = 512


def args_for(tmp_path, podinfo, *extra: str) -> list[str]:
    return ["--path", str(tmp_path / "logs" / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off", *extra]


def wait_more(tally: Tally, target: int, timeout: float = 60) -> None:
    assert tally.wait_for(target, timeout), f"stuck at {tally.delivered} of {target}"


class KillWindow:
    """What one SIGKILL may make the next run send again: the lines of stream ``k`` from
    the checkpoint saved on disk at the kill (``saved``, a line number) up to the last
    line seen so far (``seen``), plus the one request still in flight (concurrency 1)."""

    def __init__(self, saved: int, seen: int) -> None:
        self.saved, self.seen = saved, seen

    def holds(self, n: int) -> bool:
        return self.saved <= n < self.seen + BATCH

    @property
    def size(self) -> int:
        return self.seen + BATCH - self.saved


def saved_offset(state: Path, ino: int) -> int:
    """The offset of the checkpoint of inode ``ino`` on disk (0 without one)."""
    try:
        files = json.loads((state / "checkpoints.json").read_bytes())["files"]
    except FileNotFoundError:
        return 0
    return next((f["offset"] for f in files if f["ino"] == ino), 0)


def saved_line(state: Path, ino: int, starts: list[int]) -> int:
    """The line the checkpoint of inode ``ino`` on disk resumes at (0 without one)."""
    return bisect.bisect_left(starts, saved_offset(state, ino))


def poll(condition: Callable[[], bool], timeout: float = 60) -> bool:
    """Whether ``condition()`` came true within ``timeout`` s (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill_once_saved_past(run: Shipper, line_no: int, state: Path, ino: int,
                         starts: list[int], tally: Tally) -> KillWindow:
    """SIGKILL ``run`` once its checkpoint on disk is past ``line_no`` (the save runs in a
    thread at most every 50 ms: how far it lags depends on the machine's load); the
    window of lines the next run may send again."""
    poll(lambda: saved_line(state, ino, starts) > line_no)
    run.kill()
    with tally.lock:
        seen = max((n for s, n in tally.seen if s == "k"), default=-1) + 1
    return KillWindow(saved_line(state, ino, starts), seen)


def test_file_renamed_twice_is_resumed_under_its_new_name_again(tmp_path, podinfo, cli):
    """1. 60,000 lines (15,000 at CI scale) to a slow backend: SIGKILL at 20%, rename
    app.log -> app.log.1, restart (resumes app.log.1), SIGKILL at 40%, restart: the rest
    of app.log.1 is read; nothing lost, and only lines past the checkpoint saved at a kill
    are sent again (at most the lines seen past it plus the request in flight)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    total = scaled(60_000, 15_000)
    lines = [line("k", n) for n in range(total)]
    starts = list(itertools.accumulate((len(b) for b in lines), initial=0))
    (logs / "app.log").write_bytes(b"".join(lines))
    ino = (logs / "app.log").stat().st_ino
    tally = Tally()
    with Receiver(tally, delay=0.1) as rx:
        sink = {**http_sink(rx.url, max_records=BATCH), "concurrency": 1}
        config = write_config(tmp_path / "shipper.yaml", {"sinks": [sink]})
        args = args_for(tmp_path, podinfo, "--config", str(config))
        first = Shipper(args, tally, tmp_path / "stderr.log")
        wait_more(tally, total // 5)
        windows = [kill_once_saved_past(first, 0, tmp_path / "state", ino, starts, tally)]
        os.rename(logs / "app.log", logs / "app.log.1")
        (logs / "app.log").write_bytes(b"".join(line("n", n) for n in range(10)))
        second = Shipper(args, tally, tmp_path / "stderr.log")
        tally.wait_for(2 * total // 5, 60)
        windows.append(kill_once_saved_past(second, windows[0].seen, tmp_path / "state", ino,
                                            starts, tally))
        at_second_kill = tally.delivered
        third = Shipper(args, tally, tmp_path / "stderr.log")
        tally.wait_for(total + 10, 120)
        code = third.stop()
    missing = tally.missing({"k": total, "n": 10})
    repeated = tally.repeated()
    report("renamed-twice", written=total + 10, tally=tally, rss_kib=third.peak_rss_kib,
           at_second_kill=at_second_kill, lost=len(missing), missing=spans(missing),
           windows=[(w.saved, w.seen) for w in windows], repeated=spans(repeated))
    assert at_second_kill < total, "the second run finished before it was killed"
    assert windows[0].saved > 0, "the first run saved no checkpoint before its kill"
    assert windows[1].saved > windows[0].seen, "the second run saved no checkpoint of its own"
    assert code == 0
    assert missing == []
    outside = [(s, n) for s, n in repeated if s == "k" and not any(w.holds(n) for w in windows)]
    assert outside == [], "sent again from before the checkpoint saved at a kill"
    # plus the 10 lines of the new app.log, which the second kill may catch unsaved
    assert tally.duplicated <= sum(w.size for w in windows) + 10


def test_banner_file_after_rotation_is_read_from_its_start_live(tmp_path, podinfo, cli):
    """2 (live). app.log = banner + 10,000 lines, all shipped; renamed away and let go;
    a new app.log with the same banner and 10,000 other lines: all of them arrive."""
    logs = tmp_path / "logs"
    logs.mkdir()
    count = scaled(10_000, 2_000)
    (logs / "app.log").write_bytes(BANNER + b"".join(line("a", n) for n in range(count)))
    tally = Tally()
    shipper = Shipper(args_for(tmp_path, podinfo), tally, tmp_path / "stderr.log")
    wait_more(tally, count)
    first = logs / "app.log"
    size, ino = first.stat().st_size, first.stat().st_ino
    assert poll(lambda: saved_offset(tmp_path / "state", ino) == size), "checkpoint not saved"
    os.rename(first, logs / "app.log.1")
    # read to EOF and let go (rotate_grace 1 s)
    assert poll(lambda: not any(d.endswith("app.log.1") for d in descriptors(shipper.proc.pid)))
    (logs / "app.log").write_bytes(BANNER + b"".join(line("b", n) for n in range(count)))
    tally.wait_for(2 * count, 30)
    assert wait_up(tally, logs, 1)
    code = shipper.stop()
    missing = tally.missing({"a": count, "b": count})
    report("banner-live", written=2 * count, tally=tally, rss_kib=shipper.peak_rss_kib,
           lost=len(missing), missing=spans(missing))
    assert code == 0
    assert missing == [] and tally.duplicated == 0


def test_banner_file_replaced_while_stopped_is_read_from_its_start(tmp_path, podinfo, cli):
    """2 (restart). app.log = banner + 10,000 lines, all shipped, clean stop; app.log is
    deleted and written again (banner + 10,000 other lines, maybe on the same inode);
    restart: all of the new lines arrive."""
    logs = tmp_path / "logs"
    logs.mkdir()
    count = scaled(10_000, 2_000)
    (logs / "app.log").write_bytes(BANNER + b"".join(line("c", n) for n in range(count)))
    tally = Tally()
    first = Shipper(args_for(tmp_path, podinfo), tally, tmp_path / "stderr.log")
    wait_more(tally, count)
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    old_inode = (logs / "app.log").stat().st_ino
    (logs / "app.log").unlink()
    (logs / "app.log").write_bytes(BANNER + b"".join(line("d", n) for n in range(count)))
    second = Shipper(args_for(tmp_path, podinfo), tally, tmp_path / "stderr.log")
    tally.wait_for(2 * count, 30)
    assert wait_up(tally, logs, 1)
    code = second.stop()
    missing = tally.missing({"c": count, "d": count})
    report("banner-restart", written=2 * count, tally=tally, rss_kib=second.peak_rss_kib,
           lost=len(missing), missing=spans(missing),
           same_inode=(logs / "app.log").stat().st_ino == old_inode)
    assert code == 0
    assert missing == [] and tally.duplicated == 0
