"""Records carry the pod's ``resource.opentelemetry.io/*`` annotations (and only those) in
``k8s.annotations``: the OTLP sink makes them resource attributes (``service.name``)."""

from __future__ import annotations

from shipper.enrich.podinfo import (
    MAX_ANNOTATION_CHARS,
    MAX_RESOURCE_ANNOTATIONS,
    PodFacts,
    PodInfo,
    resource_annotations,
    with_api_facts,
)
from shipper.enrich.settings import DownwardApiSettings
from tests.unit.enrich.test_podinfo import ENV, make_volume


async def test_only_resource_annotations_reach_the_record_k8s(tmp_path):
    make_volume(tmp_path, 1, 'app="v1"\n',
                'resource.opentelemetry.io/service.name="checkout"\n'
                'kubectl.kubernetes.io/last-applied-configuration="{\\"big\\": 1}"\n'
                'shipper/job-id="j-1"\n')
    info = PodInfo(ENV, DownwardApiSettings(), tmp_path)
    await info.refresh()
    assert info.facts.k8s["annotations"] == {"resource.opentelemetry.io/service.name": "checkout"}
    assert info.facts.annotations["shipper/job-id"] == "j-1"  # the id rules still see all


async def test_no_resource_annotation_means_no_annotations_key(tmp_path):
    make_volume(tmp_path, 1, 'app="v1"\n', 'shipper/job-id="j-1"\n')
    info = PodInfo(ENV, DownwardApiSettings(), tmp_path)
    await info.refresh()
    assert "annotations" not in info.facts.k8s


def test_api_annotations_count_too_and_the_set_is_bounded():
    merged = with_api_facts(PodFacts(k8s={"pod": "p"}), {
        "annotations": {"resource.opentelemetry.io/service.name": "api-svc"}})
    assert merged.k8s["annotations"] == {"resource.opentelemetry.io/service.name": "api-svc"}
    many = {f"resource.opentelemetry.io/a{i:03d}": "v" for i in range(100)}
    many["resource.opentelemetry.io/huge"] = "x" * (MAX_ANNOTATION_CHARS + 1)
    got = resource_annotations(many)
    assert len(got) == MAX_RESOURCE_ANNOTATIONS and "resource.opentelemetry.io/huge" not in got
