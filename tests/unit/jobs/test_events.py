"""Lifecycle event recognition on JSON events and text stage lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.jobs import events
from tests.unit.server.helpers import record


def test_ordinary_lines_are_not_events():
    assert events.detect(record("Loaded model whisper-small")) is None
    assert events.detect(record("Stage fright is common")) is None


def test_layer_complete_carries_name_duration_and_success():
    event = events.detect(record("layer_complete", layer=2, layer_name="miner",
                                 status="success", duration_ms=4061))
    assert (event.event, event.scope, event.phase, event.outcome) == (
        "layer_complete", "layer", "end", "success")
    assert event.name == "miner"
    assert event.duration == pytest.approx(4.061)


def test_layer_error_takes_the_error_field_as_message():
    event = events.detect(record("layer_error", layer=3, layer_name="researcher",
                                 status="error", error="RateLimitError: 429", duration_ms=5058))
    assert event.outcome == "error"
    assert event.error == "RateLimitError: 429"


def test_event_in_attributes_is_recognised_too():
    event = events.detect(record("something", event="pipeline_start"))
    assert (event.scope, event.phase, event.outcome) == ("pipeline", "start", "started")


@pytest.mark.parametrize("message, event_name, outcome, duration", [
    ("▶️ Stage demux started", "stage_start", "started", None),
    ("✅ Stage demux completed duration_seconds=82.9", "stage_complete", "success", 82.9),
    ("❌ Stage demux failed duration_seconds=5.0", "stage_failed", "error", 5.0),
])
def test_text_stage_lines(message, event_name, outcome, duration):
    event = events.detect(record(message))
    assert (event.event, event.name, event.outcome, event.duration) == (
        event_name, "demux", outcome, duration)


def test_duration_from_parsed_attribute_when_not_in_message():
    event = events.detect(record("Stage asr completed", duration_seconds="24.5"))
    assert event.duration == 24.5


@pytest.mark.parametrize("status, expected", [
    ("SUCCESS", "success"), ("failed", "error"), ("canceled", "cancelled"),
    ("weird-custom-status", "other"), (None, "success"),
])
def test_status_maps_to_a_small_label_set(status, expected):
    event = events.detect(record("pipeline_complete", status=status))
    assert event.outcome == expected


def test_bad_durations_are_ignored():
    assert events.detect(record("layer_complete", duration_ms="nan")).duration is None
    assert events.detect(record("layer_complete", duration_ms=-5)).duration is None
    assert events.detect(record("layer_complete", duration_ms=True)).duration is None


_GATE_MESSAGES = st.one_of(
    st.sampled_from(["pipeline_start", "layer_error", "Stage a started", "Stage b failed x",
                     "xStage c completed", "stage d started", "Stage", None, 5]),
    st.text(alphabet="Stage acdeilmoprtu_\n", max_size=30))


@settings(max_examples=300, deadline=None)
@given(_GATE_MESSAGES, st.one_of(st.none(), st.dictionaries(
    st.sampled_from(["event", "status", "layer_name"]),
    st.one_of(st.sampled_from(["pipeline_complete", "layer_start", "other"]), st.integers()),
    max_size=3)))
def test_the_cheap_gate_never_hides_an_event(message, attributes):
    """Whenever :func:`events.detect` finds an event, :func:`events.may_carry_event` (the
    tracker's gate before it) says the record may carry one."""
    rec = {"message": message}
    if attributes is not None:
        rec["attributes"] = attributes
    if events.detect(rec) is not None:
        assert events.may_carry_event(rec)


def test_the_cheap_gate_rejects_ordinary_lines():
    """Ordinary records skip :func:`events.detect` altogether."""
    assert not events.may_carry_event(record("GET /health 200", event_id="e1"))
    assert not events.may_carry_event({"message": "x", "attributes": {"event": "deploy"}})
