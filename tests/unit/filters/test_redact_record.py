"""Every string a record holds is scrubbed: top-level fields, keys at any depth, list
items, the ``k8s`` facts (as a copy), ``file.path``; keys stay unique; deep nesting is fine."""

from __future__ import annotations

import copy
import json

from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.settings import RedactSettings

from .conftest import make_record
from .secret_samples import ALNUM, SAMPLES, fake

GH = fake(ALNUM, 36, "ghp_")
GL = fake(ALNUM, 20, "glpat-")
STRIPE = fake(ALNUM, 24, "sk_live_")
NPM = fake(ALNUM, 36, "npm_")
SLACK = fake(ALNUM, 24, "xoxb-1234567890-1234567890-")
REDACTOR = Redactor(RedactSettings())


def dumped(record: dict) -> str:
    return json.dumps(record)


def test_top_level_fields_are_scrubbed():
    record = make_record("ok", logger=GH, job_id=GL, correlation_id=STRIPE, stream=NPM)
    fired = REDACTOR.redact_record(record)
    assert record["logger"] == record["job_id"] == record["correlation_id"] == "[REDACTED]"
    assert record["stream"] == "[REDACTED]"
    assert fired == {"github_token", "gitlab_token", "stripe_key", "npm_token"}


def test_keys_at_any_depth_and_list_items_are_scrubbed():
    record = make_record("ok", attrs={
        GH: 1, "outer": {"inner": {STRIPE: {"deeper": [NPM, {SLACK: "x"}]}}},
        "list": [["a", ["pw postgres://u:hunter22xyz@db/x"]]]})
    fired = REDACTOR.redact_record(record)
    text = dumped(record)
    for secret in (GH, STRIPE, NPM, SLACK, "hunter22xyz"):
        assert secret not in text
    assert fired == {"github_token", "stripe_key", "npm_token", "slack_token", "url_password"}
    attrs = record["attributes"]
    assert list(attrs) == ["[REDACTED]", "outer", "list"]           # order kept
    assert attrs["outer"]["inner"]["[REDACTED]"]["deeper"][0] == "[REDACTED]"


def test_secret_keys_stay_unique_in_mask_mode_and_distinct_in_hash_mode():
    attrs = {GH: 1, STRIPE: 2, NPM: 3, "[REDACTED]": 4}
    record = make_record("ok", attrs=dict(attrs))
    REDACTOR.redact_record(record)
    assert list(record["attributes"].values()) == [1, 2, 3, 4]
    assert len(set(record["attributes"])) == 4
    assert all(key.startswith("[REDACTED]") for key in record["attributes"])
    hashed = Redactor(RedactSettings(replacement="hash", hash_key="k"))
    record = make_record("ok", attrs=dict(attrs))
    hashed.redact_record(record)
    keys = list(record["attributes"])
    assert len(set(keys)) == 4 and all(k.startswith("[REDACTED") for k in keys)
    assert GH not in dumped(record)


def test_k8s_facts_are_replaced_by_a_scrubbed_copy_made_once():
    k8s = {"namespace": "video", "labels": {"team": SLACK},
           "annotations": {"deploy-note": GL, "note": "fine"}}
    original = copy.deepcopy(k8s)
    first, second = make_record("a"), make_record("b")
    first["k8s"] = second["k8s"] = k8s  # one object shared by a file's records
    assert REDACTOR.redact_record(first) == {"slack_token", "gitlab_token"}
    assert REDACTOR.redact_record(second) == {"slack_token", "gitlab_token"}
    assert k8s == original                                  # the shared facts are untouched
    assert first["k8s"] is second["k8s"]                    # one copy for every record
    assert first["k8s"]["labels"]["team"] == "[REDACTED]"
    assert first["k8s"]["annotations"] == {"deploy-note": "[REDACTED]", "note": "fine"}
    clean = {"namespace": "video"}
    record = make_record("c")
    record["k8s"] = clean
    REDACTOR.redact_record(record)
    assert record["k8s"] is clean                           # no copy when nothing to hide


def test_file_path_and_raw_line_are_scrubbed():
    record = make_record("ok", raw=f"line {GH}", path=f"/logs/{GL}/app.log")
    assert REDACTOR.redact_record(record) == {"github_token", "gitlab_token"}
    assert GL not in record["file"]["path"] and GH not in record.raw


def test_each_catalogued_kind_is_scrubbed_as_a_key_and_as_a_logger():
    for sample in SAMPLES:
        record = make_record("m", logger=sample.text, attrs={sample.text: {sample.text: 1}})
        REDACTOR.redact_record(record)
        text = dumped(record)
        assert [s for s in sample.secrets if s in text] == [], sample.kind


def test_deep_nesting_does_not_hit_the_recursion_limit():
    value: object = GH
    for _ in range(5000):
        value = {"k": [value]}
    record = make_record("deep", attrs={"v": value})
    assert REDACTOR.redact_record(record) == {"github_token"}
    node = record["attributes"]["v"]
    for _ in range(5000):
        node = node["k"][0]
    assert node == "[REDACTED]"


def test_stage_reports_what_the_shipped_record_no_longer_holds(fates):
    """``explain`` lists the rules the stage reports: each one's secret is gone."""
    stage = RedactStage(Redactor(RedactSettings()), fates)
    record = make_record(f"token {GH}", logger=GL, attrs={STRIPE: "v"})
    stage(record)
    rules = {rule for _, _, rule in fates.events}
    assert rules == {"github_token", "gitlab_token", "stripe_key"}
    assert not any(s in dumped(record) for s in (GH, GL, STRIPE))
