"""Issue 12 item 1 through the CLI: ``shipper explain`` and ``shipper run --once`` on files
with private-key blocks (bare, after a log prefix, inside a traceback, CRI-wrapped with
``P``/``F`` pieces). No key line becomes a record of its own; the records around the
blocks are unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def key_lines(kind: str, lines: int) -> list[str]:
    data = b"".join(hashlib.sha512(f"{kind}{n}".encode()).digest() for n in range(lines))
    text = base64.b64encode(data[: lines * 48 - 5]).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


RSA = key_lines("RSA", 26)
OPENSSH = key_lines("OPENSSH", 20)
EC = key_lines("EC", 6)
PLAIN = [
    "2026-01-02T10:00:00Z INFO starting",
    "ERROR key=-----BEGIN RSA PRIVATE KEY-----", *RSA, "-----END RSA PRIVATE KEY-----",
    "2026-01-02T10:00:01Z INFO loaded",
    "-----BEGIN OPENSSH PRIVATE KEY-----", *OPENSSH, "-----END OPENSSH PRIVATE KEY-----",
    "2026-01-02T10:00:02Z ERROR loading the EC key failed",
    "Traceback (most recent call last):", '  File "/app/tls.py", line 9, in load',
    "    load_pem(data)", "ValueError: bad key: -----BEGIN EC PRIVATE KEY-----", *EC,
    "-----END EC PRIVATE KEY-----",
    "2026-01-02T10:00:03Z WARNING done",
]
#: index in PLAIN of the first line of each record, and how many lines it joins
STARTS = [(0, 1), (1, 2 + len(RSA)), (3 + len(RSA), 1), (4 + len(RSA), 2 + len(OPENSSH)),
          (6 + len(RSA) + len(OPENSSH), 6 + len(EC)), (len(PLAIN) - 1, 1)]
SECRETS = RSA + OPENSSH + EC


def cri(lines: list[str]) -> list[str]:
    """Each line as CRI ``P`` + ``F`` pieces (split in the middle)."""
    out = []
    for n, line in enumerate(lines):
        stamp = f"2026-01-02T10:00:00.{n:09d}Z stdout"
        half = len(line) // 2
        out += [f"{stamp} P {line[:half]}", f"{stamp} F {line[half:]}"]
    return out


FILES = {"plain.log": (PLAIN, 1), "cri.log": (cri(PLAIN), 2)}


def expected_offsets(name: str) -> list[int]:
    """Byte offsets of the first physical line of each record."""
    lines, per_line = FILES[name]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode()) + 1)
    return [offsets[start * per_line] for start, _count in STARTS]


def shipper(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    return subprocess.run([sys.executable, "-m", "shipper.cli", *args], capture_output=True,
                          timeout=120, cwd=REPO, env=env, check=False)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    for name, (lines, _per_line) in FILES.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("name", sorted(FILES))
def test_explain_merges_every_key_line_into_the_record_that_opens_the_block(
        logs: Path, name: str) -> None:
    """``explain --json``: one row per physical line; the row of a block's first line is
    the (redacted) record of the whole block, and every key line after it is ``merged``."""
    proc = shipper("explain", "--json", str(logs / name))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    lines, per_line = FILES[name]
    assert len(rows) == len(lines)
    groups: list[int] = []  # physical lines per record: its row and the merged ones after it
    for row in rows:
        if row["record"] is None:
            assert row["fate"] == "merged" and groups, row
            groups[-1] += 1
        else:
            groups.append(1)
    assert groups == [count * per_line for _start, count in STARTS]
    records = [row for row in rows if row["record"] is not None]
    assert [r["fate"] for r in records] == ["kept", "redacted", "kept", "redacted",
                                           "redacted", "kept"]
    assert [r["record"]["file"]["offset"] for r in records] == expected_offsets(name)
    shipped = json.dumps([r["record"] for r in records])
    assert not [line for line in SECRETS if line in shipped]


def test_run_once_ships_each_block_as_one_redacted_record(logs: Path) -> None:
    """``run --once`` to stdout: six records per file, starting at the lines where the
    log records start (so each block is one record), and no key line in the output."""
    proc = shipper("run", "--once", "--path", f"{logs}/*.log", "--podinfo-dir", str(logs),
                   "--listen", "off")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    records = [json.loads(line) for line in out.splitlines()]
    for name in FILES:
        offsets = [r["file"]["offset"] for r in records if r["file"]["path"].endswith(name)]
        assert offsets == expected_offsets(name), name
    assert not [line for line in SECRETS if line in out]
