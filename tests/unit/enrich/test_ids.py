"""job_id / correlation_id / shard_index follow the documented precedence."""

from shipper.enrich.ids import Enricher, file_context, to_shard_index
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


def test_k8s_fragment_is_attached():
    assert enrich({})["k8s"] == K8S
