"""The plain `extraContainers` values snippet in the README ("Run it in Kubernetes") builds a valid,
restricted pod (so users of charts without the library get a working sidecar)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.k8s.manifests import ROOT, restricted_problems

kv = pytest.importorskip("kubernetes_validate")


def _snippet() -> dict:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if b.startswith("extraContainers:")]
    return yaml.safe_load(block)


def test_extra_containers_snippet_is_a_valid_restricted_pod() -> None:
    """Sidecar + volumes from the snippet, with an app container, validate strictly and
    pass the restricted checks; the sidecar has the downward-API env."""
    snippet = _snippet()
    app = {"name": "app", "image": "busybox:1.36.1",
           "securityContext": snippet["extraContainers"][0]["securityContext"],
           "volumeMounts": [{"name": "shipper-logs", "mountPath": "/var/log/app"}]}
    spec = {"enableServiceLinks": False, "containers": [app, *snippet["extraContainers"]],
            "volumes": snippet["extraVolumes"]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    kv.validate(pod, "1.32.0", strict=True)
    assert restricted_problems(spec) == []
    env = {e["name"] for e in snippet["extraContainers"][0]["env"]}
    assert {"POD_NAME", "POD_NAMESPACE", "POD_UID", "NODE_NAME", "POD_IP", "CONTAINER_NAME"} <= env
    mounts = {m["name"] for m in snippet["extraContainers"][0]["volumeMounts"]}
    assert mounts <= {v["name"] for v in snippet["extraVolumes"]}
