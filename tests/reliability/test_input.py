"""Faults 10 and 11: bad input, and a deleted-while-open file next to an unreadable one."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, report
from tests.reliability.probes import descriptors

pytestmark = pytest.mark.integration
CRI_PIECES = 1000


def bad_lines() -> list[bytes]:
    """One bad line per kind, each carrying its ``SEQ:b:<n>`` token."""
    return [
        b"SEQ:b:0 invalid utf-8 \xff\xfe\xc3\x28 \xed\xa0\x80 end",
        b"SEQ:b:1 a NUL run " + b"\0" * 4096 + b" after it",
        b"SEQ:b:2 ten megabytes " + b"y" * 10_000_000,
        b'["SEQ:b:3", 1, {"a": [2, 3]}]',
        b'"SEQ:b:4 a JSON string scalar"',
        b'{"msg": "SEQ:b:5 deep", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"msg": "SEQ:b:6 big integer", "n": ' + b"9" * 5000 + b"}",
        b"\0" * 8192 + b"SEQ:b:7 after a leading NUL run",
        b'{"msg": "SEQ:b:8 unterminated", "a": [1, 2',
    ]


SCALARS = [b"12345", b"true", b"null", b"-0.5e-7"]


def deleted_held(pid: int, timeout: float) -> list[str]:
    """The deleted files under ``logs`` the process still holds, once it holds none or
    after ``timeout`` s (polled: a loaded machine lets go later than rotate_grace)."""
    deadline = time.monotonic() + timeout
    while True:
        leaked = [d for d in descriptors(pid) if d.endswith("(deleted)") and "logs" in d]
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.1)


def test_bad_input_every_line_once_process_lives(tmp_path, podinfo, cli):
    """10. Invalid UTF-8, NUL runs, a 10 MB line, JSON arrays/scalars, 100,000-deep nesting,
    a 5,000-digit integer, and 1,000 CRI ``P`` pieces with no ``F``: every line comes out
    once (parsed or as text), the process exits 0 and its memory stays bounded."""
    logs = tmp_path / "logs"
    logs.mkdir()
    body = b"\n".join(bad_lines()) + b"\n"
    scalar_offsets = []
    for scalar in SCALARS:
        scalar_offsets.append(len(body))
        body += scalar + b"\n"
    (logs / "bad.log").write_bytes(body)
    (logs / "cri.log").write_bytes(b"".join(
        b"2026-01-02T10:30:15.%09dZ stdout P SEQ:p:%d piece \n" % (n, n) for n in range(CRI_PIECES)))
    tally = Tally()
    run = Shipper(["--once", "--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
                   "--listen", "off"], tally, tmp_path / "stderr.log")
    code = run.wait(120)
    stdout_offsets = set(tally.offsets)
    report("bad-input", written=len(bad_lines()) + CRI_PIECES, tally=tally,
           rss_kib=run.peak_rss_kib)
    assert code == 0
    assert tally.missing({"b": len(bad_lines()), "p": CRI_PIECES}) == []
    assert tally.duplicated == 0
    assert all(offset in stdout_offsets for offset in scalar_offsets)
    assert run.peak_rss_kib < 200 * 1024, "memory not bounded by the line caps"


def _without_root_powers() -> tuple[str, ...]:
    """A command prefix under which a chmod 000 file is unreadable (root reads it anyway):
    as root, drop the capabilities that bypass file permissions (``setpriv``)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


def test_deleted_while_open_and_unreadable_among_readable(tmp_path, podinfo, cli):
    """11. A file deleted while open (and written on after the unlink) is read to EOF and
    closed: no descriptor to a deleted file remains. An unreadable file (permission denied;
    as root the shipper runs without the capabilities that bypass file permissions) is reported and retried, and is
    read once it becomes readable; the readable files are not held up meanwhile."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "good.log").write_bytes(b"".join(line("g", n) for n in range(200)))
    secret = logs / "secret.log"
    secret.write_bytes(b"".join(line("s", n) for n in range(100)))
    secret.chmod(0)
    doomed = logs / "doomed.log"
    fh = open(doomed, "ab", buffering=0)
    fh.write(b"".join(line("d", n) for n in range(100)))
    tally = Tally()
    run = Shipper(["--path", str(logs / "*.log"), "--podinfo-dir", str(podinfo),
                   "--listen", "off"], tally, tmp_path / "stderr.log", prefix=_without_root_powers())
    assert tally.wait_for(300, 30), "readable files were held up"
    fh.write(b"".join(line("d", n) for n in range(100, 150)))
    doomed.unlink()
    fh.write(b"".join(line("d", n) for n in range(150, 200)))
    fh.close()
    assert tally.wait_for(400, 30)
    leaked = deleted_held(run.proc.pid, timeout=30)  # let go after rotate_grace (1 s)
    held = [d for d in descriptors(run.proc.pid) if d.startswith(str(logs))]
    secret.chmod(0o644)
    tally.wait_for(500, 30)
    code = run.stop()
    stderr = (tmp_path / "stderr.log").read_bytes()
    report("deleted+unreadable", written=500, tally=tally, rss_kib=run.peak_rss_kib,
           leaked=len(leaked), held=len(held))
    assert code == 0 and leaked == [] and len(held) == 1  # good.log only
    assert b"cannot open file, will retry" in stderr and b"secret.log" in stderr
    assert tally.missing({"g": 200, "d": 200, "s": 100}) == [] and tally.duplicated == 0
