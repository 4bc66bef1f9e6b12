"""job_id / correlation_id / shard_index follow the documented precedence."""

import orjson
from hypothesis import given, settings, strategies as st

from shipper.enrich.ids import (
    CORRELATION_KEYS, JOB_KEYS, SHARD_KEYS, Enricher, FileContext, file_context, to_shard_index,
)
from shipper.enrich.podinfo import PodFacts
from shipper.enrich.templates import PathTemplates

K8S = {"namespace": "ns", "pod": "p"}


def enrich(attrs, *, labels=None, annotations=None, index=None, templates=(), path="/l/a.log"):
    facts = PodFacts(k8s=dict(K8S), labels=labels or {}, annotations=annotations or {},
                     completion_index=index)
    ctx = file_context(path, facts, PathTemplates(list(templates)))
    record = {"message": "m", "level": "info", "attributes": dict(attrs)}
    return Enricher(ctx)(record)


def test_line_job_id_wins_over_everything_and_leaves_attributes():
    rec = enrich({"job_id": "line"}, labels={"job-name": "label"}, templates=["{job_id}/a.log"],
                 path="/x/tpl/a.log")
    assert rec["job_id"] == "line"
    assert "job_id" not in rec["attributes"]


def test_camel_case_job_id_is_lifted():
    assert enrich({"jobId": "camel"})["job_id"] == "camel"


def test_template_then_job_name_label_then_legacy_label_then_annotation():
    assert enrich({}, templates=["{job_id}/a.log"], path="/x/tpl/a.log",
                  labels={"batch.kubernetes.io/job-name": "lbl"})["job_id"] == "tpl"
    assert enrich({}, labels={"batch.kubernetes.io/job-name": "lbl", "job-name": "old"})["job_id"] == "lbl"
    assert enrich({}, labels={"job-name": "old"}, annotations={"shipper/job-id": "ann"})["job_id"] == "old"
    assert enrich({}, annotations={"shipper/job-id": "ann"})["job_id"] == "ann"
    assert "job_id" not in enrich({})


def test_other_template_fields_go_to_attributes_unless_the_line_has_them():
    rec = enrich({}, templates=["{job_id}/{stage}/stage.log"], path="/l/j/05_asr/stage.log")
    assert rec["attributes"]["stage"] == "05_asr"
    rec = enrich({"stage": "own"}, templates=["{job_id}/{stage}/stage.log"], path="/l/j/05_asr/stage.log")
    assert rec["attributes"]["stage"] == "own"


def test_correlation_id_from_line_spellings_then_annotation():
    for key in ("correlation_id", "correlationId", "request_id", "requestId"):
        rec = enrich({key: "c-1"}, annotations={"shipper/correlation-id": "ann"})
        assert rec["correlation_id"] == "c-1"
        assert key not in rec["attributes"]
    assert enrich({}, annotations={"shipper/correlation-id": "ann"})["correlation_id"] == "ann"


def test_shard_index_is_an_int_from_line_then_env_then_annotation():
    assert enrich({"shard_index": "4"}, index="1")["shard_index"] == 4
    assert enrich({}, index="1",
                  annotations={"batch.kubernetes.io/job-completion-index": "2"})["shard_index"] == 1
    assert enrich({}, annotations={"batch.kubernetes.io/job-completion-index": "2"})["shard_index"] == 2
    assert "shard_index" not in enrich({})


def test_non_numeric_shard_index_in_a_line_stays_an_attribute():
    rec = enrich({"shard_index": "abc"}, index="5")
    assert rec["shard_index"] == 5
    assert rec["attributes"]["shard_index"] == "abc"


def test_to_shard_index_rejects_booleans_and_text():
    assert to_shard_index(True) is None
    assert to_shard_index("x1") is None
    assert to_shard_index(" 7 ") == 7
    assert to_shard_index("-3") == -3


def test_to_shard_index_rejects_non_ascii_digits_and_doubled_signs():
    """``"¹"`` and ``"٣"`` are digits to ``str.isdigit`` but ``int`` refuses the first;
    ``"--5"`` passed a ``lstrip("-")`` check: none may raise, all are not an index."""
    for text in ("¹", "٣", "--5", "-", ""):
        assert to_shard_index(text) is None


def test_k8s_fragment_is_attached():
    assert enrich({})["k8s"] == K8S


# -- the batch form: same records (values and key order) as the documented rules ----------

def _reference(record: dict, ctx: FileContext) -> dict:
    """The rules of the module docstring, one record at a time, written plainly."""
    attrs = record["attributes"]

    def lift(keys, convert=lambda v: v if v is not None and v != "" else None):
        for key in keys:
            if key in attrs and convert(attrs[key]) is not None:
                return convert(attrs.pop(key))
        return None

    job, corr, shard = lift(JOB_KEYS), lift(CORRELATION_KEYS), lift(SHARD_KEYS, to_shard_index)
    for key, value in ctx.path_fields.items():
        attrs.setdefault(key, value)
    for key, own, default in (("job_id", job, ctx.job_id), ("correlation_id", corr, ctx.correlation_id)):
        if (own if own is not None else default) is not None:
            record[key] = str(own if own is not None else default)
    if (shard if shard is not None else ctx.shard_index) is not None:
        record["shard_index"] = shard if shard is not None else ctx.shard_index
    record["k8s"] = ctx.k8s
    return record


id_values = st.one_of(st.none(), st.just(""), st.text(max_size=3), st.integers(-3, 3),
                      st.sampled_from(["7", " 2 ", "-1", "x"]))
attributes = st.dictionaries(
    st.sampled_from([*JOB_KEYS, *CORRELATION_KEYS, *SHARD_KEYS, "stage", "msg", "n"]), id_values,
    max_size=6)
contexts = st.builds(
    lambda fields, job, corr, shard: FileContext(k8s=dict(K8S), path_fields=fields, job_id=job,
                                                 correlation_id=corr, shard_index=shard),
    st.dictionaries(st.sampled_from(["stage", "request_id", "n"]), st.text(max_size=2), max_size=2),
    st.one_of(st.none(), st.just("file-job")), st.one_of(st.none(), st.just("file-corr")),
    st.one_of(st.none(), st.integers(0, 3)))


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(attributes, max_size=6), ctx=contexts)
def test_enrich_batch_matches_the_documented_rules_key_order_included(batch, ctx):
    """The batch form's short paths (string ids, no ids) give exactly the plain rules'
    records, down to the order of their keys (the NDJSON output is compared byte for byte)."""
    made = [{"message": "m", "level": "info", "attributes": dict(attrs)} for attrs in batch]
    expected = [_reference({"message": "m", "level": "info", "attributes": dict(attrs)}, ctx)
                for attrs in batch]
    Enricher(ctx).enrich_batch(made)
    assert [orjson.dumps(r) for r in made] == [orjson.dumps(r) for r in expected]


def test_single_record_call_is_the_batch_of_one():
    """``enricher(record)`` (explain, tests) returns the record it was given, enriched."""
    ctx = FileContext(k8s=dict(K8S), path_fields={}, job_id=None, correlation_id=None,
                      shard_index=None)
    record = {"message": "m", "attributes": {"jobId": 5, "requestId": "r"}}
    assert Enricher(ctx)(record) is record
    assert (record["job_id"], record["correlation_id"], record["attributes"]) == ("5", "r", {})


def test_enrich_batch_hands_the_trace_gate_its_hint():
    """``enrich_batch`` returns the kernel's hint for the trace gate (compiled: a flag per
    record, set for the usual line without a gate key; pure: none), and
    ``lift_trace_context`` given it lifts the trace context as it does without it."""
    from shipper.enrich.trace import lift_trace_context
    from shipper.kernels import IMPLEMENTATION

    ctx = FileContext(k8s=dict(K8S), path_fields={}, job_id=None, correlation_id=None,
                      shard_index=None)

    def batch():
        return [{"message": "m", "attributes": {"job_id": "j", "correlation_id": "c"}},
                {"message": "m", "attributes": {"job_id": "j", "correlation_id": "c",
                                                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736"
                                                               "-00f067aa0ba902b7-01"}},
                {"message": "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "attributes": {}}]
    hinted, plain = batch(), batch()
    clean = Enricher(ctx).enrich_batch(hinted)
    assert clean == (bytearray([1, 0, 1]) if IMPLEMENTATION == "compiled" else None)
    Enricher(ctx).enrich_batch(plain)
    lift_trace_context(hinted, clean)
    lift_trace_context(plain)
    assert hinted == plain
    assert [r.get("trace_id") for r in hinted] == [None, "4bf92f3577b34da6a3ce929d0e0e4736",
                                                   "4bf92f3577b34da6a3ce929d0e0e4736"]
