"""The Loki sink's fast paths give what the reference paths give.

* the push body written by ``loki_push`` (:mod:`shipper.kernels`: the pure-Python twin and,
  where it is built, the compiled kernel) is byte for byte what the protobuf runtime
  serializes for the same streams;
* :class:`~shipper.sinks.loki_encode.LokiEncoder` groups records into the same streams,
  labels, structured metadata, lines and timestamps as the encoder it replaced (kept here
  as ``reference_streams``: labeler dict + ``label_string`` per record, one compiled
  getter per metadata, ``rfc3339_to_ns``), over records of several streams and tenants,
  out of order, with odd values and odd shapes;
* the sink's whole payloads (order rewriting, tenants, protobuf and JSON) decode to the
  reference streams.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import snappy
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure, snappy_compress_into, snappy_max_len
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.record_fields import compile_getter, first_of
from shipper.sinks.fields import rfc3339_to_ns
from shipper.sinks.loki import LokiSink
from shipper.sinks.loki_encode import LokiEncoder, StampReader
from shipper.sinks.loki_fields import FieldReader
from shipper.sinks.loki_labels import StreamLabeler, label_string
from shipper.sinks.loki_order import Entry
from shipper.sinks.loki_push import KEEP_OUT, SnappyBlocks
from shipper.sinks.loki_tenants import TenantOf
from shipper.sinks.proto import load_push_schema
from shipper.sinks.settings import LokiSinkSettings

SCHEMA = load_push_schema()
try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twin alone is compared with the runtime
    _compiled = None  # type: ignore[assignment]
WRITERS = [pytest.param(pure.loki_push, id="pure"),
           pytest.param(getattr(_compiled, "loki_push", None), id="compiled",
                        marks=pytest.mark.skipif(_compiled is None,
                                                 reason="the compiled kernels are not built"))]
NOW = 1_751_800_000.0  # 2025-07-06T11:06:40Z: after the records below


def runtime_bytes(streams: list[tuple[str, list[Entry]]]) -> bytes:
    """The reference: the push built through the protobuf runtime (the sink's former path)."""
    request = SCHEMA.PushRequest()
    for labels, entries in streams:
        pushed = request.streams.add(labels=labels)
        for entry in entries:
            added = pushed.entries.add(line=entry.line)
            added.timestamp.seconds, added.timestamp.nanos = divmod(entry.ns, 1_000_000_000)
            for name, value in entry.meta:
                added.structuredMetadata.add(name=name, value=value)
    data: bytes = request.SerializeToString()
    return data


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NS = st.one_of(st.integers(-(2**62), 2**62),
               st.sampled_from([0, 1, 10**9, 1_751_797_800_002_000_000]))
LINE = st.one_of(TEXT, st.sampled_from(["", "x" * 127, "x" * 128, "é" * 9000]))
PAIR = st.tuples(st.sampled_from(["level", "job_id", ""]), st.one_of(TEXT, st.just("v" * 200)))
ENTRY = st.builds(lambda ns, line, meta: Entry(ns, line, meta, 0),
                  NS, LINE, st.lists(PAIR, max_size=4))


@pytest.mark.parametrize("push_request", WRITERS)
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(TEXT, st.just('{app="a"}')), st.lists(ENTRY, max_size=6)),
                max_size=4))
def test_wire_bytes_are_the_protobuf_runtimes_bytes_for_any_streams(push_request, streams):
    assert push_request(streams) == runtime_bytes(streams)


@pytest.mark.parametrize("push_request", WRITERS)
def test_wire_bytes_for_shared_and_long_parts_match_the_runtime(push_request):
    """Many entries sharing seconds, nanos and pairs (the caches), long lines and values
    (multi-byte lengths), a zero and a negative timestamp."""
    meta = [("level", "info"), ("pod", "p" * 300), ("job_id", "")]
    entries = [Entry(1_751_797_800_000_000_000 + (i % 7) * 1_000_000 + (i // 3) * 10**9,
                     f"line {i} " + "y" * ((i % 40) * 500), list(meta) + [("n", str(i))], i)
               for i in range(2000)]
    entries += [Entry(0, "", [], 0), Entry(-1, "neg", [("a", "b")], 0)]
    streams = [('{app="a"}', entries[:1000]), ('{app="b"}', entries[1000:])]
    assert push_request(streams) == runtime_bytes(streams)


@pytest.mark.skipif(_compiled is None, reason="the compiled kernels are not built")
def test_compiled_writer_equals_the_pure_twin_at_and_past_the_int64_edges():
    """Timestamps at the int64 bounds and past them (Python ints; the runtime refuses
    those), negative ones a nanosecond off a second, and every varint length of a line."""
    stamps = [-(2**63), 2**63 - 1, -(2**63) - 1, 2**63, 2**70, -(2**70), -1, -(10**9) - 1,
              10**9 - 1, 10**9]
    entries = [Entry(ns, "x" * size, [("level", "é" * (size % 70))], 0)
               for ns in stamps for size in (0, 1, 127, 128, 16383, 16384, 2**21)]
    streams = [("", entries[:7]), ('{a="b"}', entries[7:]), ("", [])]
    assert _compiled.loki_push(streams) == pure.loki_push(streams)


@pytest.mark.parametrize("push_request", WRITERS)
def test_writer_refuses_what_utf8_cannot_carry_and_misshapen_entries(push_request):
    """A lone surrogate cannot be written (as the pure twin's ``encode``); a metadata pair
    that is not a (name, value) tuple of strings is refused, not written half."""
    with pytest.raises(UnicodeEncodeError):
        push_request([("", [Entry(1, "bad \ud800", [], 0)])])
    for meta in ([("level",)], [["level", "info"]], [("level", 3)]):
        with pytest.raises((TypeError, ValueError, AttributeError)):
            push_request([("", [Entry(1, "ok", meta, 0)])])  # type: ignore[arg-type]


# --- the encoder: fast path against the reference -----------------------------------------

def reference_streams(settings: LokiSinkSettings, records: list[dict[str, Any]]) -> dict:
    """The former ``LokiEncoder.streams`` (record by record through the compiled getters)."""
    labeler, tenant_of = StreamLabeler(settings), TenantOf(settings)
    meta_getters = [(n, compile_getter(p)) for n, p in settings.structured_metadata.items()]
    meta_getters += [(n, first_of(settings.labels[n])) for n in labeler.demoted
                     if n not in settings.structured_metadata]
    streams: dict = {}
    for i, record in enumerate(records):
        labels = labeler(record)
        ns = rfc3339_to_ns(record.get("timestamp"))
        meta = [(n, str(v)) for n, get in meta_getters if (v := get(record)) not in (None, "")]
        line = orjson.dumps(record).decode()
        key = (tenant_of(record), label_string(labels))
        streams.setdefault(key, (labels, []))[1].append((NOW_NS if ns is None else ns, line,
                                                         meta, i))
    for _, entries in streams.values():
        entries.sort(key=lambda e: e[0])
    return streams


NOW_NS = int(NOW * 1e9)
STAMPS = ["2025-07-06T10:30:00Z", "2025-07-06T10:30:00.5Z", "2025-07-06T10:29:59.123456789Z",
          "2025-07-06T10:30:00.002Z", "2025-07-06T12:30:00+02:00", "2025-07-06T10:30:00.1+00:00",
          "2025-07-06T10:30:00.Z", "2025-07-06T10:30:00.1234567891Z", "2025-07-06T10:30:00z",
          "2025-07-06 10:30:00Z", "2025-07-06T10:30:60Z", "2025-07-06T10:30:00.１Z", "yesterday",
          "", None, 1751797800, "2025-07-06T10:30:00", "2025-07-06T10:30:00.12x4Z",
          "2025-13-06T10:30:00.1Z", "2025-07-06T10:30:00 Z", "1969-12-31T23:59:59.5Z"]
K8S = [{"namespace": "video", "pod": "enc-1", "node": "n1", "container": "worker",
        "labels": {"app.kubernetes.io/name": "encoder", "app": "legacy"}},
       {"namespace": "video", "pod": "enc-2", "node": "n1", "labels": {"app": "legacy"}},
       {"namespace": "batch", "pod": "b-1", "node": "n2", "labels": "not-a-dict"},
       {"namespace": "", "labels": {}}, {"namespace": 7, "pod": 3.5, "container": True},
       {"namespace": ["a"], "labels": {"app": {"nested": 1}}}, {}, None, "k8s-as-text", [1]]
ATTRIBUTES = [None, {}, {"shard_index": 4, "trace_id": "t1"}, {"level": "warn"}, "text", [1],
              {"span_id": "", "job_id": None}]


def varied_records(n: int = 600) -> list[dict[str, Any]]:
    """Records of several streams and tenants, timestamps out of order and odd, metadata of
    every JSON type, missing or misshapen ``k8s`` / ``attributes``."""
    out = []
    for i in range(n):
        record: dict[str, Any] = {"timestamp": STAMPS[(i * 7) % len(STAMPS)] if i % 5 == 0 else
                                  f"2025-07-06T10:{(37 * i) % 60:02d}:{i % 60:02d}.{i:03d}Z",
                                  "level": ["info", "error", "", None, 3][i % 5],
                                  "message": f"m{i} é"}
        if i % 3:
            record["job_id"] = f"job-{i % 11}"
        if i % 4 == 1:
            record["correlation_id"] = {"deep": i}
        if i % 6 == 2:
            record["shard_index"] = [0, 1.5, False, "", "2"][i % 5]
        if (k8s := K8S[i % len(K8S)]) is not None:
            record["k8s"] = k8s
        if (attributes := ATTRIBUTES[i % len(ATTRIBUTES)]) is not None:
            record["attributes"] = attributes
        if i % 9 == 4:
            record["tenant"] = ["team-a", "team b", "", 5][i % 4]
        out.append(record)
    return out


CONFIGS = [
    {},
    {"tenant_from": "tenant", "tenant_id": "fallback"},
    {"labels": {"namespace": ["k8s.namespace"], "pod": ["k8s.pod", "k8s.node"],
                "level": ["level", "attributes.level"]},
     "unbounded_labels": "demote", "static_labels": {"env": "prod"}},
    {"labels": {"team": ["k8s.labels.team", "attributes.deep.team"]},
     "structured_metadata": {"route": "attributes.http.route", "file": "file.path"}},
    {"labels": {"x": ["nowhere"]}, "structured_metadata": {}},
]


@pytest.mark.parametrize("extra", CONFIGS)
def test_encoder_streams_equal_the_reference_encoders_over_varied_records(extra):
    s = LokiSinkSettings(url="http://127.0.0.1:3100", **extra)
    records = varied_records()
    raws = [memoryview(orjson.dumps(r)) for r in records]
    for given_raws in (raws, None):
        got = LokiEncoder(s, lambda: NOW).streams(records, given_raws)
        expected = reference_streams(s, records)
        assert list(got) == list(expected)
        for key, (labels, entries) in got.items():
            assert labels == expected[key][0]
            assert [(e.ns, e.line, e.meta, e.index) for e in entries] == expected[key][1]


def sink(**kw: Any) -> LokiSink:
    return LokiSink(LokiSinkSettings(url="http://127.0.0.1:3100", **kw),
                    metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


def decoded(payload: Any, encoding: str) -> list[tuple[str, list[tuple[int, str, list]]]]:
    if encoding == "json":
        body = orjson.loads(payload.body)
        return [(label_string(s["stream"]),
                 [(int(v[0]), v[1], list(v[2].items()) if len(v) > 2 else []) for v in s["values"]])
                for s in body["streams"]]
    push = SCHEMA.PushRequest.FromString(snappy.uncompress(payload.body))
    return [(s.labels, [(e.timestamp.seconds * 10**9 + e.timestamp.nanos, e.line,
                         [(p.name, p.value) for p in e.structuredMetadata]) for e in s.entries])
            for s in push.streams]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_sink_payloads_carry_the_reference_streams_with_order_rewriting_and_tenants(encoding):
    """Two batches: the second holds entries more than an hour behind the first's newest,
    which the sink rewrites (original_timestamp in the metadata); every entry of a payload
    points at its own record."""
    s = sink(encoding=encoding, tenant_from="tenant")
    first = [r for r in varied_records() if isinstance(r.get("timestamp"), str)]
    s.encode(first)
    late = [{**r, "timestamp": "2025-07-06T08:00:00.001Z"} for r in first[:50]]
    payloads = s.encode(late)
    expected = reference_streams(s.settings, late)
    newest = {}
    for (tenant, key), (_, entries) in reference_streams(s.settings, first).items():
        newest[(tenant, key)] = max(e[0] for e in entries)
    got = {(p.tenant, labels): entries for p in payloads
           for labels, entries in decoded(p, encoding)}
    for payload in payloads:  # each entry points at its own record (refusals rely on it)
        assert [orjson.dumps(payload.records[e.index]).decode() for st in payload.streams
                for e in st.entries] == [e.line for st in payload.streams for e in st.entries]
    assert set(got) == set(expected)
    for key, (_, entries) in expected.items():
        want = [(newest[key] + step, line, meta + [("original_timestamp",
                                                    "2025-07-06T08:00:00.001000000Z")])
                for step, (_, line, meta, _) in enumerate(entries)]
        assert got[key] == want


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.sampled_from(STAMPS), st.from_regex(
    r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,12})?[Zz+-]?(\d\d:\d\d)?\Z")))
def test_stamp_reader_reads_what_rfc3339_to_ns_reads(value):
    reader = StampReader(limit=4)
    assert reader(value) == rfc3339_to_ns(value) and reader(value) == rfc3339_to_ns(value)


STAMPERS = [pytest.param(pure.loki_stamps, id="pure"),
            pytest.param(getattr(_compiled, "loki_stamps", None), id="compiled",
                         marks=pytest.mark.skipif(_compiled is None,
                                                  reason="the compiled kernels are not built"))]


@pytest.mark.parametrize("loki_stamps", STAMPERS)
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(STAMPS), st.from_regex(
    r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.[\d١]{0,12})?[Zz+-]?(\d\d:\d\d)?\Z")),
    max_size=12))
def test_both_stamp_kernels_read_what_rfc3339_to_ns_reads(loki_stamps, values):
    """A batch at a time, through a seconds cache that fills (limit 3) and is cleared;
    non-ASCII digits in the fraction are left to ``rfc3339_to_ns``."""
    seconds: dict[str, int] = {}
    records = [{"timestamp": v} for v in values] + [{}]
    for _ in range(2):
        got = loki_stamps(records, "timestamp", seconds, 3, rfc3339_to_ns)
        assert got == [rfc3339_to_ns(v) for v in values] + [None]
        assert len(seconds) <= 3


@pytest.mark.skipif(_compiled is None, reason="the compiled kernels are not built")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(STAMPS + ["2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.25Z",
                                          "2024-05-01T10:00:01.5Z", "2024-05-01T10:00:0١.5Z",
                                          "9999-12-31T23:59:59.5Z", "9999-12-31T23:59:59Z"]),
                max_size=16))
def test_both_stamp_kernels_leave_the_same_seconds_cache(values):
    """The compiled kernel reuses the previous value's seconds when its first 19
    characters are the same (in C when they leave room for a fraction in 64 bits, as a
    Python int past that: year 9999): same answers, and the cache (filled, cleared at 3) holds what
    the pure twin's holds after every batch."""
    ours: dict[str, int] = {}
    theirs: dict[str, int] = {}
    records = [Record({"timestamp": v}) for v in values]
    for _ in range(2):
        got = _compiled.loki_stamps(records, "timestamp", ours, 3, rfc3339_to_ns)
        assert got == pure.loki_stamps(records, "timestamp", theirs, 3, rfc3339_to_ns)
        assert ours == theirs


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
                       lambda inner: st.one_of(st.lists(inner, max_size=2),
                                               st.dictionaries(st.sampled_from(
                                                   ["labels", "app", "pod", "level", "x"]),
                                                   inner, max_size=3)), max_leaves=6)
PATHS = ["level", "job_id", "x", "k8s.pod", "k8s.labels.app", "k8s.annotations.app",
         "k8s.labels", "attributes.x", "file.path", "k8s.labels.a.b"]


READERS = [pytest.param(pure.loki_read, id="pure"),
           pytest.param(getattr(_compiled, "loki_read", None), id="compiled",
                        marks=pytest.mark.skipif(_compiled is None,
                                                 reason="the compiled kernels are not built"))]


@pytest.mark.parametrize("loki_read", READERS)
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["level", "job_id", "k8s", "attributes", "file", "x"]),
                       JSONISH, max_size=5))
def test_field_reader_reads_what_the_compiled_getters_read(loki_read, record):
    """Both kernels: every path's value as its compiled getter reads it, cut into the
    label values and the metadata pairs (``None`` and ``""`` left out, the rest as text)."""
    for paths in (PATHS, PATHS[:7]):
        reader = FieldReader(paths)
        expected = [compile_getter(p)(record) for p in paths]
        got = loki_read([record, record], reader.steps, reader.getters, len(paths), [])
        assert got == [(tuple(expected), [])] * 2
        names = [f"m{i}" for i in range(len(paths) - 2)]
        got = loki_read([record], reader.steps, reader.getters, 2, names)
        assert got == [(tuple(expected[:2]),
                        [(n, v if type(v) is str else str(v))
                         for n, v in zip(names, expected[2:], strict=True)
                         if v is not None and v != ""])]


@pytest.mark.parametrize("loki_read", READERS)
@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["level", "job_id", "k8s", "attributes", "x"]),
                                JSONISH, max_size=5), max_size=4),
       st.sampled_from([dict, Record]))
def test_k8s_labelled_records_read_what_the_compiled_getters_read(loki_read, records, kind):
    """Labels all ``k8s`` paths (the defaults' shape: the compiled kernel reads a ``dict``
    or a ``Record`` without a values list): every value is what its getter reads."""
    records = [kind(record) for record in records]
    paths = ["k8s.pod", "k8s.labels.app", "level", "job_id", "x", "k8s.annotations.app",
             "attributes.x"]
    reader = FieldReader(paths)
    got = loki_read(records, reader.steps, reader.getters, 2, paths[2:])
    for record, (labels, meta) in zip(records, got, strict=True):
        values = [compile_getter(p)(record) for p in paths]
        assert labels == tuple(values[:2])
        assert meta == [(n, v if type(v) is str else str(v))
                        for n, v in zip(paths[2:], values[2:], strict=True)
                        if v is not None and v != ""]


@pytest.mark.parametrize("loki_read", READERS)
def test_records_sharing_a_k8s_object_read_what_each_records_getters_read(loki_read):
    """Runs of records sharing one ``k8s`` dict (read once), runs switching between two,
    a misshapen record between them (read by the getters), ``k8s`` missing: every value
    is what the record's own getters read; a run's label tuple is shared only when every
    label is a ``k8s`` path."""
    pod_a = {"namespace": "a", "pod": "p-a", "labels": {"app": "x"}, "container": "c"}
    pod_b = {"namespace": "b", "pod": "p-b", "labels": "not-a-dict"}
    records: list[dict[str, Any]] = []
    for i in range(30):
        k8s = [pod_a, pod_a, pod_b, None, pod_a, "text"][i % 6]
        record: dict[str, Any] = {"level": ["info", "", None][i % 3], "job_id": f"j{i % 4}",
                                  "attributes": {"level": "warn", "x": i} if i % 5 else None}
        if k8s is not None:
            record["k8s"] = k8s
        records.append(record)
    records.insert(7, {"k8s": pod_a, "attributes": [1]})
    for paths, split in ((["k8s.namespace", "k8s.labels.app", "k8s.pod", "level", "x"], 2),
                         (["level", "k8s.namespace", "job_id", "k8s.labels.app"], 2)):
        reader = FieldReader(paths)
        got = loki_read(records, reader.steps, reader.getters, split, paths[split:])
        for record, (labels, meta) in zip(records, got, strict=True):
            values = [compile_getter(p)(record) for p in paths]
            assert labels == tuple(values[:split])
            assert meta == [(n, v if type(v) is str else str(v))
                            for n, v in zip(paths[split:], values[split:], strict=True)
                            if v is not None and v != ""]
        if paths[0].startswith("k8s"):
            assert got[0][0] is got[1][0]  # one run, one tuple


@pytest.mark.parametrize("loki_read", READERS)
def test_field_reader_refuses_a_name_count_unlike_the_metadata_paths(loki_read):
    reader = FieldReader(["level", "job_id"])
    with pytest.raises(ValueError):
        loki_read([{"level": "info"}], reader.steps, reader.getters, 1, ["a", "b"])


def test_the_sink_no_longer_imports_the_protobuf_runtime_to_send():
    """Protobuf pushes are written without ``google.protobuf`` (start-up time and memory)."""
    import subprocess
    import sys

    code = ("import sys; from shipper.sinks.loki import LokiSink; "
            "print('google.protobuf' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_snappy_blocks_give_snappy_through_one_kept_buffer():
    """Bodies compressed one after another into the builder's kept output buffer are
    snappy that decodes to each push's bytes, each body its own copy (a later push does not
    change an earlier body: all are checked after the last) and the bytes the live kernel
    gives for that push alone; one too large to keep has a buffer of its own and the kept
    one stays."""
    compress = SnappyBlocks()
    text = b"".join(orjson.dumps({"n": i, "message": "x" * (i % 97)}) for i in range(4000))
    bodies = [(raw, compress(raw)) for raw in (text, b"", text[:999], text * 3, text[:5])]
    huge = bytes(range(256)) * (KEEP_OUT // 256 + 1)
    bodies.append((huge, compress(huge)))
    bodies.append((text[7:], compress(text[7:])))
    for raw, body in bodies:
        out = bytearray(snappy_max_len(len(raw)))
        alone = bytes(out[:snappy_compress_into(raw, out)])
        assert type(body) is bytes and body == alone
        assert snappy.uncompress(body) == raw


def test_side_streams_of_equal_label_values_are_those_of_each_record():
    """Records whose label values are equal tuples of strings share the first record's
    stream (found once); equal values of other types (1, 1.0, True) may label differently
    (their text), so each record keeps its own."""
    s = LokiSinkSettings(url="http://127.0.0.1:3100", labels={"app": ["app"]})
    encoder = LokiEncoder(s, lambda: NOW)
    texts = [{"app": "a" * 3}, {"app": "".join("aaa")}, {"app": "aaa"}]
    assert {key for _, key in encoder.side(texts).streams} == {'{app="aaa"}'}
    mixed = [{"app": 1}, {"app": True}, {"app": 1.0}]
    assert [key for _, key in encoder.side(mixed).streams] == [
        '{app="1"}', '{app="True"}', '{app="1.0"}']
