"""The application chart rendered by the real Helm engine for several value sets:
every manifest is schema-valid, every pod passes Pod Security "restricted", and the
sidecar is wired (placement, env, probes, resources, volumes, config, RBAC, PodMonitor)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("helm_python")
pytest.importorskip("kubernetes_validate")

from tests.k8s.manifests import (  # noqa: E402
    KUBE_VERSIONS, all_containers, by_kind, config_of, documents, pod_specs, render,
    restricted_problems, shipper_container, validate,
)

CUSTOM_SINKS: dict[str, Any] = {
    "shipper": {
        "k8sApi": True,
        "credentials": [
            {"secretName": "loki-auth", "key": "password", "path": "loki-password"},
            {"secretName": "datadog", "key": "api-key"},
        ],
        "config": {
            "filters": {"min_level": "info"},
            "sinks": [
                {"type": "loki", "name": "loki", "url": "http://loki.monitoring:3100",
                 "password_file": "/etc/shipper/secrets/loki-password"},
                {"type": "datadog", "name": "dd", "api_key_file": "/etc/shipper/secrets/api-key"},
                {"type": "stdout", "name": "stdout"},
            ],
        },
    },
}

VALUE_SETS: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "defaults": (None, None),
    "native-on": ({"shipper": {"sidecarMode": "native"}}, "v1.29.0"),
    "native-off": ({"shipper": {"sidecarMode": "container"}}, None),
    "auto-old-cluster": (None, "v1.28.5"),
    "podmonitor-on": ({"podMonitor": {"enabled": True, "labels": {"release": "kps"}}}, None),
    "custom-sinks": (CUSTOM_SINKS, None),
    "nodeport-metrics": ({"metricsService": {"type": "NodePort", "nodePort": 30910}}, None),
}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    values, kube = VALUE_SETS[request.param]
    return request.param, documents(render(values, kube_version=kube))


def test_every_manifest_is_schema_valid(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """kubernetes-validate (strict: unknown fields fail) accepts every built-in object at
    the pinned kind version and a recent Kubernetes; the PodMonitor CRD is checked apart."""
    _, docs = rendered
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        for version in KUBE_VERSIONS:
            validate(doc, version)
        checked += 1
    assert checked >= 3


def test_every_pod_is_restricted(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """runAsNonRoot, non-zero UID, no escalation, drop ALL, RuntimeDefault seccomp,
    read-only root filesystem and no hostPath on every container of every pod."""
    name, docs = rendered
    specs = list(pod_specs(docs))
    assert specs, f"{name}: no pod rendered"
    for kind_name, spec in specs:
        assert restricted_problems(spec) == [], kind_name
        assert spec.get("enableServiceLinks") is False, kind_name


def test_every_container_has_resources(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """Requests (cpu, memory) and a memory limit on every container."""
    _, docs = rendered
    for kind_name, spec in pod_specs(docs):
        for container in all_containers(spec):
            res = container.get("resources", {})
            assert {"cpu", "memory"} <= set(res.get("requests", {})), (kind_name, container["name"])
            assert "memory" in res.get("limits", {}), (kind_name, container["name"])


def _workload_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in pod_specs(docs) if not n.startswith("Pod/")]


def test_sidecar_wiring(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """The sidecar gets the downward-API env, probes on /healthz and /readyz, the
    default resources and the read-only log mount shared with the app container."""
    _, docs = rendered
    for kind_name, spec in _workload_specs(docs):
        _, sidecar = shipper_container(spec)
        env = {e["name"]: e for e in sidecar["env"]}
        assert {"POD_NAME", "POD_NAMESPACE", "POD_UID", "NODE_NAME", "POD_IP",
                "CONTAINER_NAME"} <= set(env), kind_name
        assert env["POD_UID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.uid"
        assert env["CONTAINER_NAME"]["value"] == "app"
        assert "JOB_COMPLETION_INDEX" not in env, "the Job controller injects it"
        assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert sidecar["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert sidecar["startupProbe"]["httpGet"]["path"] == "/readyz"
        assert sidecar["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                        "limits": {"memory": "256Mi"}}
        mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
        assert mounts["/var/log/app"].get("readOnly") is True
        assert {"/var/lib/shipper", "/tmp", "/etc/podinfo", "/etc/shipper"} <= set(mounts)
        app = next(c for c in spec["containers"] if c["name"] == "app")
        assert any(m["mountPath"] == "/var/log/app" for m in app["volumeMounts"])


def test_volumes_and_checksum(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """Shared emptyDir with a size limit, the downward-API labels/annotations files, the
    config map, and a config checksum annotation on each workload's pod template."""
    _, docs = rendered
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        template = doc["spec"]["template"]
        assert len(template["metadata"]["annotations"]["shipper.io/config-checksum"]) == 64
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["shipper-logs"]["emptyDir"]["sizeLimit"] == "1Gi"
        paths = {i["path"] for i in volumes["shipper-podinfo"]["downwardAPI"]["items"]}
        assert paths == {"labels", "annotations"}
        assert volumes["shipper-config"]["configMap"]["name"] == "demo-shipper"


def test_config_map_pins_pod_layout(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    """config.yaml points at the mounted podinfo, state dir, log glob and metrics port."""
    _, docs = rendered
    config = config_of(docs)
    assert config["podinfo_dir"] == "/etc/podinfo"
    assert config["state_dir"] == "/var/lib/shipper"
    assert config["paths"] == ["/var/log/app/**/*.log"]
    assert config["server"] == {"listen": "0.0.0.0:9102",
                                "token_file": "/etc/shipper/api-token/token"}
    assert config["sinks"], "at least one sink"


def _sidecar_place(values: dict[str, Any] | None, kube: str | None) -> tuple[str, list[str]]:
    docs = documents(render(values, kube_version=kube))
    deployment = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    where, sidecar = shipper_container(deployment)
    assert (sidecar.get("restartPolicy") == "Always") == (where == "initContainers")
    return where, [d["kind"] for d in docs]


@pytest.mark.parametrize(("values", "kube", "where", "has_job"), [
    (None, "v1.29.0", "initContainers", True),
    (None, "v1.28.5", "containers", False),
    ({"shipper": {"sidecarMode": "native"}}, "v1.28.5", "initContainers", True),
    ({"shipper": {"sidecarMode": "container"}}, "v1.33.0", "containers", False),
])
def test_native_sidecar_selection(values: dict[str, Any] | None, kube: str, where: str,
                                  has_job: bool) -> None:
    """auto = native sidecar (init container, restartPolicy Always) from 1.29 on; the
    values can force either; the example Job is only rendered with a native sidecar."""
    got, kinds = _sidecar_place(values, kube)
    assert got == where
    assert ("Job" in kinds) == has_job


def test_custom_sinks_and_credentials() -> None:
    """Sinks come from values, Secret keys are projected under /etc/shipper/secrets and
    k8sApi renders the ServiceAccount, a get-only Role and its RoleBinding."""
    docs = documents(render(CUSTOM_SINKS))
    config = config_of(docs)
    assert [s["name"] for s in config["sinks"]] == ["loki", "dd", "stdout"]
    assert config["k8s_api"] is True
    spec = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    creds = next(v for v in spec["volumes"] if v["name"] == "shipper-credentials")
    sources = [s["secret"] for s in creds["projected"]["sources"]]
    assert sources[0] == {"name": "loki-auth", "items": [{"key": "password", "path": "loki-password"}]}
    assert sources[1]["items"] == [{"key": "api-key", "path": "api-key"}]
    assert spec["serviceAccountName"] == "demo-shipper"
    assert spec["automountServiceAccountToken"] is True
    role = by_kind(docs, "Role")[0]
    assert {(r["apiGroups"][0], r["resources"][0], tuple(r["verbs"])) for r in role["rules"]} == {
        ("", "pods", ("get",)), ("batch", "jobs", ("get",))}
    binding = by_kind(docs, "RoleBinding")[0]
    assert binding["subjects"][0] == {"kind": "ServiceAccount", "name": "demo-shipper",
                                      "namespace": "logs"}
    assert by_kind(docs, "ServiceAccount")[0]["metadata"]["name"] == "demo-shipper"


def test_no_rbac_and_no_token_by_default() -> None:
    """Without k8sApi no RBAC is rendered and no service-account token is mounted."""
    docs = documents(render(None))
    assert not by_kind(docs, "Role") and not by_kind(docs, "ServiceAccount")
    for _, spec in pod_specs(docs):
        assert spec["automountServiceAccountToken"] is False


def test_podmonitor_is_gated_on_value_and_selects_sidecar_pods() -> None:
    """The PodMonitor appears only when enabled and scrapes the sidecar's named port on
    pods carrying the selector labels."""
    assert not by_kind(documents(render(None)), "PodMonitor")
    docs = documents(render({"podMonitor": {"enabled": True, "labels": {"release": "kps"}}}))
    monitor = by_kind(docs, "PodMonitor")[0]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kps"
    selector = monitor["spec"]["selector"]["matchLabels"]
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["path"] == "/metrics"
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()
            _, sidecar = shipper_container(doc["spec"]["template"]["spec"])
            assert endpoint["port"] in {p["name"] for p in sidecar["ports"]}


def test_helm_test_hook_and_service_name() -> None:
    """A `helm test` hook pod checks /metrics through the Service, which is not named
    `shipper` (that would inject SHIPPER_* env vars into pods)."""
    docs = documents(render(None, name="shipper"))
    hooks = [d for d in by_kind(docs, "Pod")
             if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    assert len(hooks) == 1
    services = by_kind(docs, "Service")
    assert [s["metadata"]["name"] for s in services] == ["shipper-metrics"]
    assert "shipper-metrics:9102/metrics" in hooks[0]["spec"]["containers"][0]["args"][0]


def test_indexed_job_gets_job_name_and_completion_index() -> None:
    """The example Job is Indexed and its writer stamps job_id and shard_index."""
    job = by_kind(documents(render(None)), "Job")[0]
    assert job["spec"]["completionMode"] == "Indexed"
    app = next(c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "app")
    script = app["args"][0]
    assert '\\"shard_index\\":$JOB_COMPLETION_INDEX' in script
    assert app["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['batch.kubernetes.io/job-name']")


def test_notes_show_queries() -> None:
    """NOTES.txt gives the kubectl, PromQL and LogQL to try."""
    notes = render(None)["shipper/templates/NOTES.txt"]
    assert "shipper_records_forwarded_total" in notes
    assert '{namespace="logs"} | json' in notes
    assert "logs deploy/demo-example -c shipper" in notes
