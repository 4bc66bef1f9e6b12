"""deploy/: the kustomize base and example overlay, built with a kustomize-equivalent
merge, are schema-valid, restricted, and the base stays in sync with the chart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s import kustomize_lite
from tests.k8s.manifests import (
    DEPLOY, KUBE_VERSIONS, by_kind, documents, pod_specs, render, restricted_problems,
    shipper_container,
)

kv = pytest.importorskip("kubernetes_validate")


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def built(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, kustomize_lite.build(DEPLOY / request.param)


def test_every_object_is_schema_valid(built: tuple[str, list[dict[str, Any]]]) -> None:
    """Strict kubernetes-validate at the pinned kind version and a recent one."""
    _, objects = built
    assert len(objects) >= 4
    for obj in objects:
        for version in KUBE_VERSIONS:
            kv.validate(obj, version, strict=True)


def test_every_pod_is_restricted(built: tuple[str, list[dict[str, Any]]]) -> None:
    """Pod Security "restricted" on every container, no service links."""
    _, objects = built
    specs = list(pod_specs(objects))
    assert len(specs) == 2
    for name, spec in specs:
        assert restricted_problems(spec) == [], name
        assert spec["enableServiceLinks"] is False


def test_overlay_applies_namespace_image_labels_and_patch() -> None:
    """The example overlay moves everything into a restricted namespace, uses the
    kind-loaded image and patches the Deployment's replicas and sidecar memory."""
    objects = kustomize_lite.build(DEPLOY / "overlays" / "example")
    namespace = by_kind(objects, "Namespace")[0]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "shipper-demo"}
    deployment = by_kind(objects, "Deployment")[0]
    assert deployment["spec"]["replicas"] == 2
    where, sidecar = shipper_container(deployment["spec"]["template"]["spec"])
    assert where == "initContainers" and sidecar["image"] == "shipper:dev"
    assert sidecar["resources"]["limits"]["memory"] == "384Mi"
    assert sidecar["resources"]["requests"]["cpu"] == "50m", "patch merged, not replaced"
    assert len(sidecar["env"]) >= 6, "named lists merge by name"
    assert all(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shipper-demo"
               for o in objects)


def test_base_matches_the_chart() -> None:
    """deploy/base is the chart's example (release demo, native sidecar): same pod specs
    and config, so users without Helm run what the chart tests cover."""
    pytest.importorskip("helm_python")
    chart = documents(render(
        {"helmTest": {"enabled": False}}, kube_version="v1.32.0", name="demo",
        namespace="default"))
    base = kustomize_lite.build(DEPLOY / "base")
    assert dict(pod_specs(base)) == dict(pod_specs(chart))
    assert by_kind(base, "ConfigMap")[0]["data"] == by_kind(chart, "ConfigMap")[0]["data"]


def test_merge_by_name_and_unsupported_fields(tmp_path) -> None:
    """The kustomize subset merges named lists by name and rejects fields it does not
    implement instead of ignoring them."""
    merged = kustomize_lite.merge({"c": [{"name": "a", "x": 1}, {"name": "b"}]},
                                  {"c": [{"name": "a", "y": 2}, {"name": "z"}]})
    assert merged == {"c": [{"name": "a", "x": 1, "y": 2}, {"name": "b"}, {"name": "z"}]}
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplacements: []\n")
    with pytest.raises(ValueError, match="replacements"):
        kustomize_lite.build(tmp_path)
