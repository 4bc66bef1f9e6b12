"""The Loki sink column-wise: side data read into metadata columns, a push written from a
batch's rows, entry objects made only when a stream is settled or refused.

* ``loki_read_cols`` (both kernels) reads what ``loki_read`` reads, as columns;
* ``loki_push_rows`` (both kernels) writes the bytes ``loki_push`` writes for the entries
  the rows are (lines read in place from the buffered NDJSON, or their own);
* ``loki_sort_rows`` gives what sorting entries gives, ``loki_cols_bytes`` charges a
  record, a pair and each value's length;
* the sink's whole-batch push is built from rows, without an entry object.
"""

from __future__ import annotations

from array import array
from itertools import accumulate
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure, pure_loki, pure_loki_rows
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.batch import Envelope, Lines, Span
from shipper.sinks.loki import LokiSink
from shipper.sinks.loki_fields import FieldReader
from shipper.sinks.loki_rows import BatchColumns, Rows
from shipper.sinks.settings import LokiSinkSettings

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twins alone are checked
    _compiled = None  # type: ignore[assignment]


def _both(name: str) -> list[Any]:
    return [pytest.param(getattr(pure_loki_rows, name), id="pure"),
            pytest.param(getattr(_compiled, name, None), id="compiled",
                         marks=pytest.mark.skipif(_compiled is None,
                                                  reason="the compiled kernels are not built"))]


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
JSONISH = st.one_of(st.none(), st.booleans(), st.integers(), TEXT,
                    st.lists(st.integers(), max_size=2))
PATHS = ["k8s.namespace", "k8s.labels.app", "level", "job_id", "k8s.pod", "x",
         "attributes.x"]


@pytest.mark.parametrize("read_cols", _both("loki_read_cols"))
@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["level", "job_id", "k8s", "attributes", "x"]),
                                st.one_of(JSONISH, st.dictionaries(
                                    st.sampled_from(["namespace", "pod", "labels", "x"]),
                                    JSONISH, max_size=3)), max_size=5), max_size=5),
       st.sampled_from([dict, Record]), st.sampled_from([2, 3]))
def test_read_cols_reads_what_loki_read_reads_as_columns(read_cols, records, kind, split):
    """The same label tuples, and each metadata pair ``loki_read`` gives as its column's
    value (``None`` where it gives none), over k8s-shaped and misshapen records."""
    records = [kind(record) for record in records]
    reader = FieldReader(PATHS)
    names = [f"m{i}" for i in range(len(PATHS) - split)]
    expected = pure.loki_read(records, reader.steps, reader.getters, split, names)
    labels, cols = read_cols(records, reader.steps, reader.getters, split, names)
    assert labels == [values for values, _ in expected]
    assert [[(n, col[i]) for n, col in zip(names, cols, strict=True) if col[i] is not None]
            for i in range(len(records))] == [meta for _, meta in expected]


@pytest.mark.parametrize("read_cols", _both("loki_read_cols"))
def test_read_cols_refuses_a_name_count_unlike_the_metadata_paths(read_cols):
    reader = FieldReader(["level", "job_id"])
    with pytest.raises(ValueError):
        read_cols([{"level": "info"}], reader.steps, reader.getters, 1, ["a", "b"])


@pytest.mark.parametrize("cols_bytes", _both("loki_cols_bytes"))
def test_cols_bytes_charge_what_the_pairs_were_charged(cols_bytes):
    cols = [["info", None, "é" * 3], [None, None, "job-1"]]
    metas = [[("level", "info")], [], [("level", "é" * 3), ("job_id", "job-1")]]
    pairs = [pair for meta in metas for pair in meta]
    assert cols_bytes(cols, 3, 128, 100) == (
        128 * len(metas) + 100 * len(pairs) + sum(len(value) for _, value in pairs))


@pytest.mark.parametrize("cols_bytes", _both("loki_cols_bytes"))
def test_cols_bytes_charge_an_empty_value_as_a_pair_of_no_length(cols_bytes: Any) -> None:
    assert cols_bytes([["", None, "ab"], [None, None, None]], 3, 128, 100) == 3 * 128 + 2 * 100 + 2


@pytest.mark.parametrize("sort_rows", _both("loki_sort_rows"))
def test_sort_rows_is_a_stable_sort_by_timestamp(sort_rows):
    nanos = [5, 3, 5, 1, 3]
    rows = [0, 1, 2, 3, 4]
    assert sort_rows(nanos, rows) == [3, 1, 4, 0, 2]
    in_order = [3, 1, 4]
    assert sort_rows(nanos, in_order) is in_order
    for outside in ([0, 5], [-1]):
        with pytest.raises(IndexError):
            sort_rows(nanos, outside)


@pytest.mark.parametrize("sort_rows", _both("loki_sort_rows"))
@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 40), st.integers(-(2**63), 2**63 - 1)),
                min_size=1, max_size=300),
       st.randoms(use_true_random=False), st.sampled_from([None, 2**64, 1.5, True]))
def test_sort_rows_of_long_batches_is_python_sorted(sort_rows, nanos, rnd, odd):
    """Batches past one insertion run (16 rows: the compiled kernel then merges runs),
    nearly or not at all in order, any 64-bit timestamps, and one timestamp that is not a
    64-bit ``int`` (Python's comparisons then): what ``sorted`` gives, stable."""
    rows = list(range(len(nanos)))
    if rnd.random() < 0.5:  # nearly in order: a few neighbours swapped
        nanos.sort()
        for _ in range(len(nanos) // 10):
            k = rnd.randrange(len(nanos))
            nanos[k - 1], nanos[k] = nanos[k], nanos[k - 1]
    rnd.shuffle(rows)
    if odd is not None:
        nanos[rnd.randrange(len(nanos))] = odd
    assert sort_rows(nanos, rows) == sorted(rows, key=nanos.__getitem__)


def _batch(records: list[dict[str, Any]], nanos: list[int], cols: list[list[str | None]],
           names: tuple[str, ...], cut: int, overrides: dict[int, str]) -> BatchColumns:
    """The records as two envelopes' NDJSON (cut at ``cut``), as spans of one batch."""
    spans = []
    for first, part in ((0, records[:cut]), (cut, records[cut:])):
        lines = [orjson.dumps(r) + b"\n" for r in part]
        pad = b"{}\n"  # a record before the span's first, not in the batch
        data = pad + b"".join(lines)
        ends = array("I", accumulate((len(x) for x in lines), initial=len(pad)))[1:]
        spans.append((data, ends, len(pad), first))
    return BatchColumns(nanos, cols, names, spans, overrides)


ROWS = st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.dictionaries(st.sampled_from(["message", "level"]), TEXT, max_size=2),
             min_size=n, max_size=n),
    st.lists(st.integers(-(2**70), 2**70), min_size=n, max_size=n),
    st.lists(st.lists(st.one_of(st.none(), TEXT), min_size=n, max_size=n), max_size=3),
    st.integers(0, n), st.permutations(range(n)), st.integers(0, n),
    st.dictionaries(st.integers(0, n - 1), TEXT, max_size=2)))


@pytest.mark.parametrize("push_rows", _both("loki_push_rows"))
@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_push_rows_writes_what_loki_push_writes_for_the_entries(push_rows, case):
    """Rows of two spans (the lines read from the NDJSON without their newline, or their
    own), in any order, in two streams: the bytes ``loki_push`` writes for the entries the
    rows are."""
    records, nanos, cols, cut, order, split, overrides = case
    names = tuple(f"m{i}" for i in range(len(cols)))
    batch = _batch(records, nanos, cols, names, cut, overrides)
    streams = [("{a=\"1\"}", list(order[:split])), ("", list(order[split:]))]
    expected = pure.loki_push([(labels, Rows(batch, rows).entries())
                               for labels, rows in streams])
    assert push_rows(streams, nanos, cols, names, batch.spans, overrides) == expected


@pytest.mark.parametrize("push_rows", _both("loki_push_rows"))
def test_push_rows_writes_each_value_past_the_pairs_a_request_remembers(push_rows: Any) -> None:
    """More distinct metadata values than a request remembers (``SHARED_PARTS``): the
    later ones written each time, as ``loki_push`` writes them for the entries."""
    n = pure_loki.SHARED_PARTS + 5
    records = [{"message": f"m{i}"} for i in range(n)]
    nanos = list(range(0, n * 7_000_000_000, 7_000_000_000))
    cols: list[list[str | None]] = [[f"v{i}" if i % 3 else None for i in range(n)],
                                    ["same"] * n]
    names = ("a", "b")
    batch = _batch(records, nanos, cols, names, n // 2, {})
    streams = [("{a=\"1\"}", list(range(n)))]
    expected = pure.loki_push([(labels, Rows(batch, rows).entries())
                               for labels, rows in streams])
    assert push_rows(streams, nanos, cols, names, batch.spans, {}) == expected


@pytest.mark.parametrize("push_rows", _both("loki_push_rows"))
def test_push_rows_refuses_rows_outside_the_batch(push_rows):
    batch = _batch([{"a": 1}], [1], [], (), 1, {})
    for rows in ([1], [-1]):
        with pytest.raises(ValueError):
            push_rows([("", rows)], [1], [], (), batch.spans, {})
    with pytest.raises(ValueError):  # a column shorter than the batch
        push_rows([("", [0])], [1], [[]], ("m",), batch.spans, {})


def test_a_whole_batch_push_is_built_from_rows_without_entries():
    """The usual batch (one stream, in order, recent): the payload's streams are rows,
    and its entries are made (each pointing at its record's row) only when asked."""
    now = 1_751_800_000.0
    sink = LokiSink(LokiSinkSettings(url="http://127.0.0.1:1"),
                    metrics=Metrics(collectors=False), wall_clock=lambda: now)
    records = [Record({"timestamp": f"2025-07-06T11:06:{i:02d}Z", "level": "info",
                       "message": f"m{i}", "k8s": {"namespace": "ns", "container": "c"}})
               for i in range(5)]
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    ends = array("I", accumulate(len(orjson.dumps(r)) + 1 for r in records))
    env = Envelope(data, ends, None, None, 0.0, side=sink.side(records))  # type: ignore[arg-type]
    lines = Lines()
    lines.add(Span(env, data, ends, 0, env.side, 0))
    (payload,) = sink.encode_lines(lines)
    (stream,) = payload.streams
    assert stream.rows is not None
    entries = stream.entries
    assert stream.rows is None and stream.entries is entries
    assert [e.index for e in entries] == list(range(5))
    assert [e.line for e in entries] == [orjson.dumps(r).decode() for r in records]
    assert entries[0].meta == [("level", "info")]
