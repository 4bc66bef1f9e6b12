"""Faults 1-3: rename+create rotation, kubelet-style rotation with gzip, copytruncate."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.reliability.harness import Shipper, Tally, line, report, scaled

pytestmark = pytest.mark.integration


def start(tmp_path, podinfo, tally, *extra: str) -> Shipper:
    """Start the shipper and wait until it ships a readiness line (ready.log)."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "ready.log").write_bytes(line("ready", 0))
    args = ["--path", str(logs / "**" / "*.log"), "--podinfo-dir", str(podinfo),
            "--listen", "off", *extra]
    shipper = Shipper(args, tally, tmp_path / "stderr.log")
    assert tally.wait_for(1, 30), "the shipper did not start"
    tally.seen.pop(("ready", 0))
    return shipper


def finish(shipper: Shipper, tally: Tally, total: int) -> int:
    tally.wait_for(total, timeout=60)
    return shipper.stop()


def test_rename_and_create_every_256k_loses_nothing(tmp_path, podinfo, cli):
    """1. Five files written in turn, each renamed and recreated every 256 KiB (16 KiB at
    CI scale): every line delivered exactly once."""
    logs = tmp_path / "logs"
    per_file = scaled(100_000, 2_000)
    rotate_at = 256 * 1024 if per_file >= 100_000 else 16 * 1024
    tally = Tally()
    shipper = start(tmp_path, podinfo, tally)
    writers = {f"f{i}": open(logs / f"f{i}.log", "ab", buffering=0) for i in range(5)}
    rotations = 0
    for n in range(per_file):
        for name in list(writers):
            fh = writers[name]
            fh.write(line(name, n))
            if fh.tell() >= rotate_at:
                fh.close()
                rotations += 1
                os.rename(logs / f"{name}.log", logs / f"{name}.log.{rotations}")
                writers[name] = open(logs / f"{name}.log", "ab", buffering=0)
    for fh in writers.values():
        fh.close()
    code = finish(shipper, tally, 5 * per_file)
    written = {name: per_file for name in writers}
    report("rename+create", written=5 * per_file, tally=tally, rss_kib=shipper.peak_rss_kib,
           rotations=rotations)
    assert code == 0
    assert tally.missing(written) == [] and tally.duplicated == 0


def test_kubelet_rotation_with_gzip_reads_no_gz(tmp_path, podinfo, cli):
    """2. Rotate at 10 MiB (256 KiB at CI scale), keep 5, gzip the older ones while writing
    fast: nothing lost or duplicated, no .gz file is ever read."""
    logs = tmp_path / "logs"
    total = scaled(400_000, 20_000)
    rotate_at = 10 * 1024 * 1024 if total >= 400_000 else 256 * 1024
    tally = Tally()
    shipper = start(tmp_path, podinfo, tally)
    path = logs / "0.log"
    fh = open(path, "ab", buffering=0)
    rotated: list[str] = []
    for n in range(total):
        fh.write(line("k", n))
        if n % 100 == 99:
            time.sleep(0.01)  # ~0.4 s per generation: kubelet keeps one uncompressed
        if fh.tell() >= rotate_at:
            fh.close()
            name = f"0.log.{time.strftime('%Y%m%d-%H%M%S')}{len(rotated):03d}"
            os.rename(path, logs / name)
            rotated.append(name)
            fh = open(path, "ab", buffering=0)
            if len(rotated) > 1:
                older = logs / rotated[-2]
                with open(older, "rb") as src, gzip.open(f"{older}.gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                older.unlink()
            for old in rotated[:-5]:
                (logs / f"{old}.gz").unlink(missing_ok=True)
    fh.close()
    code = finish(shipper, tally, total)
    report("kubelet+gzip", written=total, tally=tally, rss_kib=shipper.peak_rss_kib,
           rotations=len(rotated))
    assert code == 0
    assert tally.missing({"k": total}) == [] and tally.duplicated == 0
    assert not [p for p in tally.paths if p.endswith(".gz")]


def noticed_truncation(stderr: Path, path: Path, times: int, timeout: float = 30) -> bool:
    """Whether the shipper logged ``file truncated`` for ``path`` ``times`` times within
    ``timeout`` s (polled)."""
    needle = f'"path":"{path}"'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stderr.read_text(errors="replace").splitlines()
        if sum("file truncated" in row and needle in row for row in rows) >= times:
            return True
        time.sleep(0.05)
    return False


def test_copytruncate_and_truncate_then_append(tmp_path, podinfo, cli):
    """3. copytruncate with a line written on each side; 200 lines, truncate, 100 more:
    exactly the 300 (+2) lines come out."""
    logs = tmp_path / "logs"
    tally = Tally()
    shipper = start(tmp_path, podinfo, tally)
    app, other = logs / "app.log", logs / "other.log"
    with open(app, "ab") as fh:
        fh.write(line("c", 0))
    assert tally.wait_for(1, 10)
    shutil.copyfile(app, logs / "app.log.1")  # copytruncate
    os.truncate(app, 0)
    # noticed before the next write: a line of the same length would leave the size unchanged
    assert noticed_truncation(tmp_path / "stderr.log", app, 1), "truncation not noticed"
    with open(app, "ab") as fh:
        fh.write(line("c", 1))
    with open(other, "ab") as fh:
        fh.write(b"".join(line("t", n) for n in range(200)))
    assert tally.wait_for(202, 20)
    os.truncate(other, 0)
    assert noticed_truncation(tmp_path / "stderr.log", other, 1), "truncation not noticed"
    with open(other, "ab") as fh:
        fh.write(b"".join(line("t", n) for n in range(200, 300)))
    code = finish(shipper, tally, 302)
    report("copytruncate", written=302, tally=tally, rss_kib=shipper.peak_rss_kib)
    assert code == 0
    assert tally.missing({"c": 2, "t": 300}) == [] and tally.duplicated == 0
