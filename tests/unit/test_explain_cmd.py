"""``shipper explain`` reads a file through the ``run`` processor (``Processor.feed``,
``close``, ``flush``): a record held across two chunks, dedupe summaries and the last held
record all come out as one row per input line, in order, each with its own fate."""

import io
import json

from shipper.config import Settings
from shipper.enrich.podinfo import PodInfo
from shipper.explain import render_json
from shipper.explain_cmd import ExplainProcessor, explain_lines
from shipper.stages import RecordingFates

LINES = [
    b"2024-01-01T00:00:00Z ERROR boom",
    b"  at frame 1",
    b"  at frame 2",
    b"2024-01-01T00:00:01Z INFO Calling adapter scene=1",
    b"2024-01-01T00:00:02Z INFO Calling adapter scene=2",
    b"2024-01-01T00:00:03Z INFO Calling adapter scene=3",
    b"2024-01-01T00:00:04Z INFO done",
]


def batches(sizes):
    """The lines as ``(offset, line)`` batches of these sizes."""
    offsets, at = [], 0
    for line in LINES:
        offsets.append((at, line))
        at += len(line) + 1
    out, start = [], 0
    for size in sizes:
        out.append(offsets[start:start + size])
        start += size
    return out


def explain(sizes):
    settings = Settings(filters={"dedupe": {"enabled": True}})
    podinfo = PodInfo({}, settings.downward_api, settings.podinfo_dir)
    processor = ExplainProcessor(settings, podinfo=podinfo, fates=RecordingFates())
    out = io.StringIO()
    render_json(explain_lines(processor, "/var/log/app.log", iter(batches(sizes))), out)
    return [json.loads(line) for line in out.getvalue().splitlines()], processor


def test_every_line_gets_its_fate_in_order_across_chunks():
    rows, processor = explain([2, 5])  # the traceback is held across the two chunks
    assert [(r["fate"], r["reason"]) for r in rows] == [
        ("kept", None), ("merged", None), ("merged", None),
        ("kept", None), ("deduped", "deduped"), ("deduped", "deduped"),
        ("summary", None),  # just before the record that ended the run
        ("kept", None),     # held to the end: shipped when the file is closed
    ]
    assert rows[0]["record"]["message"].count("\n") == 2
    assert rows[6]["record"]["attributes"]["repeated"] == 2
    assert rows[7]["record"]["message"] == "done"
    assert len(processor.streams) == 0 and processor.explained == {}


def test_the_chunking_does_not_change_the_rows():
    whole, _ = explain([7])
    one_by_one, _ = explain([1] * 7)
    assert [r["fate"] for r in one_by_one] == [r["fate"] for r in whole]
    assert [r["line"] for r in one_by_one] == [r["line"] for r in whole]
