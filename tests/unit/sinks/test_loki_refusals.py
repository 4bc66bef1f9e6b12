"""Reading Loki 3.x's 400 answers: the ingester's per-stream text and the distributor's
grouped validation errors (texts as Loki's own formats write them)."""

from __future__ import annotations

from shipper.sinks.loki_refusals import go_time_ns, parse_refusal

NS = 1_000_000_000

INGESTER = (
    "entry with timestamp 2024-05-01 08:00:00 +0000 UTC ignored, reason: 'entry too far behind, "
    "entry timestamp is: 2024-05-01T08:00:00Z, oldest acceptable timestamp is: "
    "2024-05-01T09:00:02Z',\n"
    "entry with timestamp 2024-05-01 08:00:00.5 +0000 UTC ignored, reason: 'entry too far "
    "behind, entry timestamp is: 2024-05-01T08:00:00Z, oldest acceptable timestamp is: "
    "2024-05-01T09:00:02Z',\n"
    "user 'fake', total ignored: 25 out of 30 for stream: {app=\"x\", namespace=\"video\"}")


def test_ingester_text_gives_the_stream_the_count_and_the_cutoff():
    behind = parse_refusal(INGESTER).behind
    assert behind is not None
    assert behind.stream == {"app": "x", "namespace": "video"}
    assert (behind.count, behind.total, behind.ordering) == (25, 30, True)
    assert behind.cutoff_ns == 1_714_554_002 * NS


def test_ingester_text_with_another_reason_is_not_an_ordering_refusal():
    text = ("entry with timestamp 2024-05-01 08:00:00 +0000 UTC ignored, reason: 'something "
            "else',\nuser 'fake', total ignored: 1 out of 1 for stream: {app=\"x\"}")
    behind = parse_refusal(text).behind
    assert behind is not None and not behind.ordering and behind.reason == "something else"


def test_grouped_validation_errors_name_each_entry_or_stream():
    text = ("2 errors like: entry for stream '{app=\"x\"}' has timestamp too new: "
            "2024-05-01 11:00:00.123 +0000 UTC; 1 errors like: entry for stream '{app=\"y\"}' "
            "has 16 label names; limit 15; 1 errors like: Max entry size '1000' bytes exceeded "
            "for stream '{app=\"x\"}' while adding an entry with length '5000' bytes")
    refusal = parse_refusal(text)
    assert refusal.behind is None
    kinds = sorted((i.kind, i.stream["app"], i.ts_ns, i.length) for i in refusal.invalid)
    assert kinds == [("future", "x", 1_714_561_200_123_000_000, None),
                     ("stream", "y", None, None), ("too-long", "x", None, 5000)]


def test_a_single_validation_error_is_not_grouped():
    text = "entry for stream '{app=\"x\"}' has timestamp too new: 2024-05-01 11:00:00 +0000 UTC"
    assert [i.kind for i in parse_refusal(text).invalid] == ["future"]


def test_an_answer_that_is_not_lokis_names_nothing():
    for text in ("", "bad request", "error at least one valid stream is required for ingestion",
                 "user 'x', total ignored: 1 out of 1 for stream: not-labels"):
        assert parse_refusal(text).empty


def test_go_time_strings_with_fractions_and_offsets():
    assert go_time_ns("2024-05-01 10:00:00 +0000 UTC") == 1_714_557_600 * NS
    assert go_time_ns("2024-05-01 10:00:00.000000001 +0000 UTC") == 1_714_557_600 * NS + 1
    assert go_time_ns("2024-05-01 12:00:00.5 +0200 CEST") == 1_714_557_600 * NS + NS // 2
    assert go_time_ns("yesterday") is None
