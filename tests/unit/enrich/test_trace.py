"""Trace context lifted from a line into top-level ``trace_id``/``span_id`` (lowercase hex):
every spelling the module documents, W3C ``traceparent``, Datadog decimal ids, text lines,
and what must not be lifted (wrong length, all zeros, non-hex, version ff)."""

from __future__ import annotations

import pytest

from shipper.enrich.trace import lift_one, lift_trace_context
from tests.unit.helpers import rec as beside

T, S = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
TP = f"00-{T}-{S}-01"


def rec(message: str = "m", **attrs):
    return {"message": message, "attributes": attrs}


@pytest.mark.parametrize(("tkey", "skey"), [("trace_id", "span_id"), ("traceId", "spanId"),
                                            ("traceID", "spanID"), ("trace.id", "span.id")])
def test_hex_fields_are_moved_to_the_top_level(tkey, skey):
    record = lift_one(rec(**{tkey: T.upper(), skey: S, "user": "u"}))
    assert record["trace_id"] == T and record["span_id"] == S
    assert record["attributes"] == {"user": "u"}


def test_ecs_nested_trace_and_span_objects():
    record = lift_one(rec(trace={"id": T}, span={"id": S, "name": "db"}))
    assert (record["trace_id"], record["span_id"]) == (T, S)
    assert record["attributes"] == {"span": {"name": "db"}}


def test_traceparent_field_gives_both_ids_and_stays_as_written():
    record = lift_one(rec(traceparent=TP))
    assert (record["trace_id"], record["span_id"]) == (T, S)
    assert record["attributes"] == {"traceparent": TP}


@pytest.mark.parametrize("attrs", [{"dd.trace_id": "1234567890123456789", "dd.span_id": 42},
                                   {"dd": {"trace_id": 1234567890123456789, "span_id": "42"}}])
def test_datadog_decimal_ids_become_zero_padded_hex_and_stay(attrs):
    record = lift_one(rec(**attrs))
    assert record["trace_id"] == format(1234567890123456789, "032x")
    assert record["span_id"] == "000000000000002a"
    assert record["attributes"] == attrs


@pytest.mark.parametrize("message", [
    f"GET /api 200 traceparent={TP} took 3ms",
    f"GET /api 200 trace_id={T} span_id={S}",
    f'handled {{"traceId": "{T}", "spanId": "{S}"}}',
    f"[dd.service=api dd.trace_id={int(T, 16)} dd.span_id={int(S, 16)}] handled",
])
def test_text_lines_name_the_ids(message):
    record = lift_one(rec(message))
    assert (record["trace_id"], record.get("span_id")) == (T, S)
    assert record["message"] == message


@pytest.mark.parametrize("record", [
    rec(trace_id="0" * 32),                    # all zeros: invalid per W3C
    rec(trace_id=T[:-1]),                      # 31 digits
    rec(trace_id="z" * 32),                    # not hex
    rec(trace_id=12345),                       # not a hex string
    rec(traceparent=f"ff-{T}-{S}-01"),         # version ff is invalid
    rec(f"no ids here, only a stacktrace_id={T}"),
    rec("Traceback (most recent call last):"),
    rec(f"trace_id={T[:20]}"),
])
def test_invalid_or_absent_ids_add_nothing(record):
    before = repr(record)
    lift_trace_context([record])
    assert "trace_id" not in record and "span_id" not in record
    assert repr(record) == before


def test_a_span_without_a_trace_is_not_lifted_and_running_twice_is_stable():
    lone = lift_one(rec(span_id=S))
    assert "span_id" not in lone and lone["attributes"] == {"span_id": S}
    record = lift_one(lift_one(rec(trace_id=T, span_id=S, traceparent=TP)))
    assert (record["trace_id"], record["span_id"]) == (T, S)


def test_a_batch_mixes_records_with_and_without_context():
    records = [rec("plain"), rec(trace_id=T), rec(f"traceparent={TP}"), rec(level="x")]
    lift_trace_context(records)
    assert [r.get("trace_id") for r in records] == [None, T, T, None]


def test_the_processor_lifts_trace_context_from_json_logfmt_and_text_lines(monkeypatch):
    """Wired in ``Processor.process`` after enrichment, so ``run`` and ``explain`` see it;
    a lifting that raises costs nothing (per-record retry, counted as a stage failure)."""
    import asyncio

    from shipper.config import Settings
    from shipper.enrich import trace as trace_module
    from shipper.enrich.podinfo import PodInfo
    from shipper.parse import FileParser, ParseCounts
    from shipper.parse.settings import ParseSettings
    from shipper.processor import Processor
    from shipper.stages import RecordingFates

    settings = Settings(paths=["/var/log/a.log"], once=True)
    podinfo = PodInfo({"POD_NAME": "p"}, settings.downward_api, None)
    asyncio.run(podinfo.refresh())
    processor = Processor(settings, podinfo=podinfo, fates=RecordingFates(), clock=lambda: 1.7e9)
    lines = [f'{{"msg": "a", "level": "info", "trace_id": "{T}", "span_id": "{S}"}}',
             f"level=info msg=b traceparent={TP}",
             f"2026-01-02T10:00:00Z INFO c trace_id={T}",
             "2026-01-02T10:00:00Z INFO nothing"]
    parser = FileParser("/var/log/a.log", ParseSettings(), ParseCounts(), clock=lambda: 1.7e9)
    records = parser.feed([(i, line.encode()) for i, line in enumerate(lines)])
    records += parser.flush(force=True)
    out = processor.process(records, "/var/log/a.log")
    assert [r.get("trace_id") for r in out] == [T, T, T, None]
    assert [r.get("span_id") for r in out] == [S, S, None, None]
    assert "trace_id" not in out[0]["attributes"]

    def boom(records):
        raise RuntimeError("bug")

    monkeypatch.setattr("shipper.processor.lift_trace_context", boom)
    again = processor.process([beside({**records[3], "attributes": {}}, records[3].raw)],
                              "/var/log/a.log")
    assert len(again) == 1 and again[0]["message"] == "nothing"
    assert processor.counts.errors["stage_failed"] == 1
    assert trace_module.lift_trace_context is not boom


def test_a_trace_context_from_the_attributes_wins_over_one_in_the_message():
    """The message is read only when the attributes gave no trace id: a message naming
    another trace (and span) leaves the attributes' ids, and a record that already has a
    top-level ``trace_id`` (a second run) keeps it, message or not."""
    other_t, other_s = "1" * 32, "2" * 16
    record = lift_one(rec(f"retry trace_id={other_t} span_id={other_s}", trace_id=T, span_id=S))
    assert (record["trace_id"], record["span_id"]) == (T, S)
    again = {**rec(f"trace_id={other_t}"), "trace_id": T}
    lift_trace_context([again])
    assert again["trace_id"] == T and "span_id" not in again
    alone = lift_one(rec(f"trace_id={other_t} span_id={other_s}"))
    assert (alone["trace_id"], alone["span_id"]) == (other_t, other_s)
