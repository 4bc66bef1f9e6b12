"""User rules: min_level, drop, sample (and their config validation)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipper.config import load_settings
from shipper.errors import ConfigError
from shipper.filters.rules import DropStage, MinLevelStage, SampleStage
from shipper.filters.settings import FilterSettings

from .conftest import make_record


def test_min_level_drops_below(fates):
    stage = MinLevelStage("info", fates)
    assert stage(make_record(level="debug")) is None
    assert stage(make_record(level="trace")) is None
    assert stage(make_record(level="info")) is not None
    assert stage(make_record(level="error")) is not None
    assert fates.events == [("dropped", "min_level", "info")] * 2


def drop_stage(rules, fates):
    return DropStage(FilterSettings.model_validate({"drop": rules}).drop, fates)


def test_drop_rule_on_message_and_attribute(fates):
    stage = drop_stage([{"name": "ticks", "match": {"message": "^tick", "attributes.kind": "^poll$"}}], fates)
    assert stage(make_record("tick 5", attrs={"kind": "poll"})) is None
    assert stage(make_record("tick 5", attrs={"kind": "push"})) is not None
    assert stage(make_record("tock", attrs={"kind": "poll"})) is not None
    assert fates.events == [("dropped", "drop_rule", "ticks")]


def test_drop_rule_fields(fates):
    """logger, level, raw, k8s label with dots, nested and numeric attributes all match."""
    stage = drop_stage([
        {"name": "lg", "match": {"logger": "^sqlalchemy"}},
        {"name": "lv", "match": {"level": "^trace$"}},
        {"name": "raw", "match": {"raw": "^DEBUG:chatty"}},
        {"name": "lbl", "match": {"k8s.labels.app.kubernetes.io/name": "^canary$"}},
        {"name": "nested", "match": {"attributes.http.route": "^/internal"}},
        {"name": "num", "match": {"attributes.code": "^42$"}},
    ], fates)
    cases = [
        (make_record(logger="sqlalchemy.engine"), "lg"),
        (make_record(level="trace"), "lv"),
        (make_record("x", raw="DEBUG:chatty:x"), "raw"),
        (make_record(k8s={"labels": {"app.kubernetes.io/name": "canary"}}), "lbl"),
        (make_record(attrs={"http": {"route": "/internal/x"}}), "nested"),
        (make_record(attrs={"code": 42}), "num"),
    ]
    for record, rule in cases:
        assert stage(record) is None
        assert fates.reset() == [("dropped", "drop_rule", rule)]
    assert stage(make_record(attrs={"code": 43})) is not None


def test_drop_rule_missing_field_never_matches(fates):
    stage = drop_stage([{"name": "r", "match": {"attributes.user": ".*"}}], fates)
    assert stage(make_record()) is not None


def test_drop_rule_keeps_warning_unless_allowed(fates):
    guarded = drop_stage([{"name": "g", "match": {"message": "boom"}}], fates)
    allowed = drop_stage([{"name": "a", "match": {"message": "boom"}, "allow_warning": True}], fates)
    assert guarded(make_record("boom", "error")) is not None
    assert allowed(make_record("boom", "error")) is None
    assert fates.events == [("dropped", "drop_rule", "a")]


def test_sample_keeps_one_in_n_deterministically(fates):
    rules = FilterSettings.model_validate(
        {"sample": [{"name": "progress", "match": {"message": "^Progress"}, "keep_one_in": 3}]}).sample
    stage = SampleStage(rules, fates)
    kept = [stage(make_record(f"Progress {i}")) is not None for i in range(7)]
    assert kept == [True, False, False, True, False, False, True]
    assert stage(make_record("other")) is not None
    assert stage(make_record("Progress err", "error")) is not None
    assert fates.events == [("dropped", "sampled", "progress")] * 4


def test_bad_regex_names_the_key():
    with pytest.raises(ConfigError) as err:
        load_settings(filters={"drop": [{"name": "r", "match": {"message": "(unclosed"}}]})
    assert str(err.value).startswith("filters.drop.0.match.message: invalid regex")


def test_unknown_field_and_duplicate_names_rejected():
    with pytest.raises(ValidationError, match="unknown field"):
        FilterSettings.model_validate({"drop": [{"name": "r", "match": {"bogus": "x"}}]})
    with pytest.raises(ValidationError, match="unique"):
        FilterSettings.model_validate({"drop": [{"name": "r", "match": {"message": "x"}}],
                                       "sample": [{"name": "r", "keep_one_in": 2}]})
    with pytest.raises(ValidationError, match="at least one field"):
        FilterSettings.model_validate({"drop": [{"name": "r", "match": {}}]})
    with pytest.raises(ValidationError, match="match"):
        FilterSettings.model_validate({"drop": [{"name": "r"}]})


def test_presets_from_env(monkeypatch):
    """``SHIPPER_FILTERS__PRESETS__HEALTH=false`` switches one preset off."""
    monkeypatch.setenv("SHIPPER_FILTERS__PRESETS__HEALTH", "false")
    presets = load_settings().filters.presets
    assert presets.enabled() == ["polling", "auth_success", "third_party"]


def test_drop_rule_on_trace_id_is_accepted_and_matches(fates):
    """Rule field names follow the record's top-level fields: trace_id/span_id (added with
    the OTLP sink) may be matched like job_id."""
    stage = drop_stage([{"name": "t", "match": {"trace_id": "^4bf9", "span_id": "^00f0"}}], fates)
    record = make_record()
    record.update(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="00f067aa0ba902b7")
    assert stage(record) is None
    assert stage(make_record()) is not None
    assert fates.events == [("dropped", "drop_rule", "t")]
