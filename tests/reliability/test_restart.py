"""Faults 5 and 9: SIGTERM mid-file then restart; a corrupt checkpoint file."""

from __future__ import annotations

import signal

import pytest

from tests.reliability.harness import Shipper, Tally, line, report, wait_up
from tests.reliability.probes import PacedWriter

pytestmark = pytest.mark.integration


def args_for(tmp_path, podinfo, *extra: str) -> list[str]:
    return ["--path", str(tmp_path / "logs" / "*.log"), "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--listen", "off", *extra]


def test_sigterm_mid_file_then_restart_is_exact(tmp_path, podinfo, cli):
    """5. 4,000 lines written at a steady pace while the shipper follows the file; SIGTERM
    (no drain) lands mid-file, once about a quarter arrived; the writer finishes; a second
    run finishes from the checkpoint: first + second run = exactly 4,000, none twice.
    The writer starts once the first run ships (a loaded machine takes seconds to start
    it: the 4 s of writing would be over before it reads a line)."""
    (tmp_path / "logs").mkdir()
    path = tmp_path / "logs" / "app.log"
    path.touch()
    tally = Tally()
    first = Shipper(args_for(tmp_path, podinfo, "--no-drain-on-exit"), tally,
                    tmp_path / "stderr.log")
    assert wait_up(tally, tmp_path / "logs", 0, timeout=60), "the first run shipped nothing"
    writer = PacedWriter(path, "s", 4000, rate=1000)
    writer.start()
    assert tally.wait_for(1001, 30), "the first run shipped no quarter of the lines"
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    at_signal, after_first = writer.written, tally.delivered - 1  # less the ready line
    writer.join(30)
    second = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    assert second.wait() == 0
    report("sigterm+restart", written=4000, tally=tally,
           rss_kib=max(first.peak_rss_kib, second.peak_rss_kib), first_run=after_first,
           written_at_sigterm=at_signal)
    assert 0 < after_first < 4000 and at_signal < 4000, "SIGTERM did not land mid-file"
    assert tally.missing({"s": 4000}) == [] and tally.duplicated == 0


def test_corrupt_checkpoint_file_start_up_goes_on(tmp_path, podinfo, cli):
    """9. A corrupt checkpoint file: start-up says so, reads from the start, exits 0."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "checkpoints.json").write_bytes(b"\x00{not json")
    (tmp_path / "logs" / "app.log").write_bytes(b"".join(line("k", n) for n in range(100)))
    tally = Tally()
    run = Shipper(args_for(tmp_path, podinfo, "--once"), tally, tmp_path / "stderr.log")
    assert run.wait() == 0
    report("corrupt-checkpoint", written=100, tally=tally, rss_kib=run.peak_rss_kib)
    assert tally.missing({"k": 100}) == [] and tally.duplicated == 0
    assert b"corrupt" in (tmp_path / "stderr.log").read_bytes()
    assert (tmp_path / "state" / "checkpoints.json.corrupt").exists()
