"""shipper explain rendering: fates per row, readable table, JSON lines, never a secret."""

from __future__ import annotations

import io
import json

from shipper.explain import fate_of, render_json, render_table
from shipper.filters import build_filter_stages
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.record import TOP_LEVEL_FIELDS
from shipper.stages import RecordingFates
from tests.unit.helpers import rec, run_stages

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0.13NbiL-kheh_bdiMaNLa6g1M2Of42de5i1i-59dhd0h"


def record(message, level="info", **attrs):
    return rec({"timestamp": "2026-01-03T09:10:24.864Z", "level": level, "message": message,
                "attributes": attrs, "k8s": {}, "file": {"path": "a.log", "offset": 0}},
               message)


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
    assert all(set(d["record"] or {}) <= TOP_LEVEL_FIELDS for d in docs)
    assert docs[5]["record"]["attributes"]["repeated"] == 1


def test_dropped_record_secret_not_printed():
    """A record dropped before the redact stage is redacted for display."""
    rows = [(f"x password=hunter22 {JWT}", record(f"password=hunter22 {JWT}"), [("dropped", "drop_rule", "r")])]
    out = io.StringIO()
    render_json(rows, out)
    render_table(rows, out)
    assert "hunter22" not in out.getvalue() and JWT not in out.getvalue()


# -- the report is the shipped record (issue 12) --------------------------------------------

GH = "ghp_" + "aB3" * 12
GL = "glpat-" + "Xy9" * 7


def test_a_kept_record_is_shown_exactly_as_it_ships():
    """Fields the stage redacts (logger, job_id, keys) are shown redacted, with where."""
    shipped = record("ok")
    shipped.update(logger=GH, job_id=GL)
    shipped["attributes"] = {GH: {"n": 1}}
    rows = rows_for([("line", shipped)])
    out = io.StringIO()
    render_json(rows, out)
    [doc] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert doc["record"] == shipped
    assert doc["redacted"] == ["github_token", "gitlab_token"] and doc["leaked"] == []
    assert doc["redacted_fields"] == ["attributes.[REDACTED]", "job_id", "logger"]
    assert GH not in out.getvalue() and GL not in out.getvalue()


def test_a_secret_still_in_a_shipped_record_is_flagged_never_printed():
    """If a stage let a secret through (a defect), explain says so instead of printing it."""
    leaky = record("ok")
    leaky["logger"] = GH
    rows = [("line", leaky, [])]  # as if no stage had redacted it
    out = io.StringIO()
    render_json(rows, out)
    render_table(rows, out)
    doc = json.loads(out.getvalue().splitlines()[0])
    assert doc["leaked"] == ["github_token"] and doc["fate"] == "kept"
    assert GH not in out.getvalue() and "LEAKED:github_token" in out.getvalue()


def test_continuation_lines_are_hidden_when_their_text_was_redacted():
    url = "postgres://app:hunter22xyz@db/x"
    tb = record(f"Traceback (most recent call last):\n  File \"a.py\", line 1\n    connect(\"{url}\")")
    rows = rows_for([("Traceback (most recent call last):", tb),
                     ('  File "a.py", line 1', None), (f'    connect("{url}")', None)])
    out = io.StringIO()
    render_json(rows, out)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["line"] for d in docs[1:]] == ['  File "a.py", line 1',
                                             '    connect("postgres://app:[REDACTED]@db/x")']
    assert "hunter22xyz" not in out.getvalue()


def test_continuation_lines_of_a_pem_block_are_hidden():
    body = ["MIIEowIBAAKCAQEAx8YwQ0m9ZlQx" * 2, "q0m9ZlQxMIIEowIBAAKCAQEAx8Yw" * 2]
    lines = ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----"]
    rows = rows_for([(lines[0], record("\n".join(lines)))] + [(line, None) for line in lines[1:]])
    out = io.StringIO()
    render_json(rows, out)
    render_table(rows, out)
    assert not any(line in out.getvalue() for line in body)
    docs = [json.loads(line) for line in out.getvalue().splitlines()[:4]]
    assert [d["line"] for d in docs] == ["[REDACTED]"] * 4  # END went with the block
