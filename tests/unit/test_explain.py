"""shipper explain rendering: fates per row, readable table, JSON lines, never a secret."""

from __future__ import annotations

import io
import json

from shipper.explain import fate_of, render_json, render_table
from shipper.filters import build_filter_stages
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.stages import RecordingFates, run_stages

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0.13NbiL-kheh_bdiMaNLa6g1M2Of42de5i1i-59dhd0h"


def record(message, level="info", **attrs):
    return {"timestamp": "2026-01-03T09:10:24.864Z", "level": level, "message": message,
            "attributes": attrs, "k8s": {}, "file": {"path": "a.log", "offset": 0}, "_raw": message}


def rows_for(lines):
    fates = RecordingFates()
    stages = build_filter_stages(FilterSettings.model_validate({"dedupe": {"enabled": True}}),
                                 RedactSettings(), fates=fates, clock=lambda: 0.0)
    rows = []
    for line, rec in lines:
        out = run_stages(stages, rec) if rec is not None else None
        rows.append((line, out if out is not None else rec, fates.reset()))
    return rows


def mixed():
    return [
    ("GET /healthz 200 0.4ms", record("GET /healthz 200 0.4ms")),
    (f"login token={JWT}", record(f"login token={JWT}")),
    ("  at frame 2", None),
    ("Calling adapter scene=1", record("Calling adapter scene=1")),
    ("Calling adapter scene=2", record("Calling adapter scene=2")),
    ("done", record("done")),
    ]


def test_fate_of_each_kind():
    assert fate_of({"m": 1}, [])["fate"] == "kept"
    assert fate_of(None, [])["fate"] == "merged"
    assert fate_of({}, [("dropped", "noise", "health")]) == {
        "fate": "dropped", "reason": "noise", "rule": "health", "redacted": []}
    assert fate_of({}, [("dropped", "throttled", "t")])["fate"] == "throttled"
    assert fate_of({}, [("changed", "redacted", "jwt")])["fate"] == "redacted"


def test_table_is_readable_and_hides_secrets():
    out = io.StringIO()
    render_table(rows_for(mixed()), out, width=90)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].split() == ["FATE", "LEVEL", "RULES", "MESSAGE"]
    assert lines[1].startswith("dropped") and "noise:health" in lines[1]
    assert "redacted:secret_key" in text and JWT not in text and JWT[:20] not in text
    assert any(line.startswith("deduped") for line in lines)
    assert any(line.startswith("summary") for line in lines)
    assert all(len(line) <= 90 + 1 for line in lines)


def test_json_lines_carry_fate_and_record():
    out = io.StringIO()
    render_json(rows_for(mixed()), out)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["fate"] for d in docs] == ["dropped", "redacted", "merged", "kept", "deduped",
                                         "summary", "kept"]
    assert docs[0]["reason"] == "noise" and docs[0]["rule"] == "health"
    assert docs[1]["redacted"] == ["secret_key"]
    assert JWT not in out.getvalue()
    assert all("_raw" not in (d["record"] or {}) for d in docs)
    assert docs[5]["record"]["attributes"]["repeated"] == 1


def test_dropped_record_secret_not_printed():
    """A record dropped before the redact stage is redacted for display."""
    rows = [(f"x password=hunter22 {JWT}", record(f"password=hunter22 {JWT}"), [("dropped", "drop_rule", "r")])]
    out = io.StringIO()
    render_json(rows, out)
    render_table(rows, out)
    assert "hunter22" not in out.getvalue() and JWT not in out.getvalue()
