"""Helpers of the chart/manifest tests: render with the real Helm engine, split the
YAML documents, validate them against Kubernetes schemas and check Pod Security
"restricted" rules on every pod spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_CHART = ROOT / "helm" / "shipper"
LIB_CHART = ROOT / "helm" / "shipper-lib"
DEPLOY = ROOT / "deploy"
#: validated against; the kind config pins a 1.32 node image
KUBE_VERSIONS = ("1.32.0", "1.36.0")
RESTRICTED_VOLUME_TYPES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
     "projected", "secret"}
)
POD_TEMPLATE_KINDS = frozenset({"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"})


def render(values: dict[str, Any] | None = None, *, kube_version: str | None = None,
           name: str = "demo", namespace: str = "logs") -> dict[str, str]:
    """Render the application chart offline; ``kube_version`` sets .Capabilities."""
    import helm_python as helm
    from helm_python import _native

    opts: dict[str, Any] = {"name": name, "namespace": namespace}
    if kube_version:
        opts["kube_version"] = kube_version
    with helm.Chart.load(APP_CHART) as chart:
        # Chart.render() has no kube_version keyword; the engine's options do.
        out = _native.call_string("helm_render", chart._raw(),
                                  json.dumps(values) if values is not None else None,
                                  json.dumps(opts))
    return json.loads(out)


def documents(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every non-empty YAML document of the rendered manifests (NOTES.txt excluded)."""
    docs: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def load_yaml_dir(path: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for file in sorted(path.glob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(file.read_text()) if doc)
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc.get("kind") == kind]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(kind/name, pod spec)`` of every Pod and pod template."""
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Pod":
            yield name, doc["spec"]
        elif doc["kind"] in POD_TEMPLATE_KINDS:
            yield name, doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            yield name, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def validate(doc: dict[str, Any], version: str) -> None:
    """Strict schema validation (unknown fields rejected) with kubernetes-validate."""
    import kubernetes_validate

    kubernetes_validate.validate(doc, version, strict=True)


def restricted_problems(spec: dict[str, Any]) -> list[str]:
    """Violations of Pod Security "restricted" (plus a read-only root filesystem)."""
    problems: list[str] = []
    pod_sc = spec.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"pod sets {key}")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds)}")
    for container in all_containers(spec):
        problems.extend(f"{container['name']}: {p}" for p in _container_problems(container, pod_sc))
    return problems


def _effective(key: str, sc: dict[str, Any], pod_sc: dict[str, Any]) -> Any:
    return sc[key] if key in sc else pod_sc.get(key)


def _container_problems(container: dict[str, Any], pod_sc: dict[str, Any]) -> list[str]:
    sc = container.get("securityContext", {})
    problems = []
    if _effective("runAsNonRoot", sc, pod_sc) is not True:
        problems.append("runAsNonRoot is not true")
    uid = _effective("runAsUser", sc, pod_sc)
    if not isinstance(uid, int) or uid == 0:
        problems.append(f"runAsUser is {uid!r}, not a non-zero UID")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        problems.append("privileged")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        problems.append("capabilities do not drop ALL")
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        problems.append(f"adds capabilities {caps['add']}")
    seccomp = (_effective("seccompProfile", sc, pod_sc) or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"seccomp profile is {seccomp!r}")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("root filesystem is writable")
    return problems


def config_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The shipper config.yaml held by the (single) shipper ConfigMap."""
    maps = [d for d in by_kind(docs, "ConfigMap") if "config.yaml" in d.get("data", {})]
    assert len(maps) == 1, f"expected one shipper ConfigMap, found {len(maps)}"
    return yaml.safe_load(maps[0]["data"]["config.yaml"])


def shipper_container(spec: dict[str, Any], name: str = "shipper") -> tuple[str, dict[str, Any]]:
    """``("initContainers" | "containers", container)`` of the sidecar."""
    for where in ("initContainers", "containers"):
        for container in spec.get(where, []):
            if container["name"] == name:
                return where, container
    raise AssertionError(f"no {name} container in the pod spec")
