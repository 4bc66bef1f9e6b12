"""``shipper explain`` as a subprocess on a mixed file: every line's fate, never a secret."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVlLWhlcmU"
MIXED = "\n".join([
    '{"level": "info", "msg": "Request started", "method": "POST", "path": "/api/v1/generate"}',
    '10.0.0.1 - - [03/Jan/2026:09:10:29 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.31"',
    '10.0.0.1 - - [03/Jan/2026:09:10:30 +0000] "GET /healthz HTTP/1.1" 503 2 "-" "kube-probe/1.31"',
    f'2026-01-03T09:14:44.700Z WARNING Token check failed authorization="Bearer {JWT}"',
    '2026-01-02 16:33:27,061 - app.writer - ERROR - Segment encode failed',
    'Traceback (most recent call last):',
    '  File "/app/w.py", line 48, in write',
    'ValueError: bad input',
    'DEBUG:urllib3.connectionpool:https://api.example:443 "POST /v1/x HTTP/1.1" 200 512',
    '{"level": "debug", "msg": "User authenticated", "user_id": "u-1"}',
]) + "\n"


def explain(tmp_path, *args):
    path = tmp_path / "mixed.log"
    path.write_text(MIXED)
    proc = subprocess.run([sys.executable, "-m", "shipper.cli", "explain", *args, str(path)],
                          capture_output=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def test_json_output_gives_each_line_its_fate(tmp_path):
    rows = [json.loads(line) for line in explain(tmp_path, "--json").splitlines()]
    assert len(rows) == MIXED.count("\n")
    fates = [(row["fate"], row["reason"], row["rule"]) for row in rows]
    assert fates == [
        ("kept", None, None),
        ("dropped", "noise", "health"),
        ("kept", None, None),             # a failing health check is never noise
        ("redacted", None, None),
        ("kept", None, None),
        ("merged", None, None), ("merged", None, None), ("merged", None, None),
        ("dropped", "noise", "third_party"),
        ("dropped", "noise", "auth_success"),
    ]
    assert "authorization" in rows[3]["redacted"], rows[3]
    assert rows[4]["record"]["message"].count("\n") == 3


def test_no_secret_is_ever_printed(tmp_path):
    assert JWT not in explain(tmp_path)
    out = explain(tmp_path, "--json")
    assert JWT not in out
    assert "[REDACTED]" in out


def test_table_is_readable_with_a_header_and_one_row_per_line(tmp_path):
    lines = explain(tmp_path).splitlines()
    assert lines[0].split() == ["FATE", "LEVEL", "RULES", "MESSAGE"]
    assert len(lines) == 1 + MIXED.count("\n")
    assert "noise:health" in lines[2]
    assert lines[3].startswith("kept")
