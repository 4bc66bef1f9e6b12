"""The /v1/* bearer token in the charts: a generated Secret (random, kept across upgrades
through ``lookup``, proved with the real Helm engine against a loopback API server), an
existing Secret, or none; mounted read-only and pointed at by ``server.token_file``."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

helm = pytest.importorskip("helm_python")
pytest.importorskip("kubernetes_validate")

from shipper.config import load_settings
from tests.k8s.fake_apiserver import FakeApiServer
from tests.k8s.manifests import (
    APP_CHART,
    KUBE_VERSIONS,
    LIB_CHART,
    by_kind,
    config_of,
    documents,
    pod_specs,
    render,
    shipper_container,
    validate,
)
from tests.k8s.test_chart_lint_schema import USER_CHART, USER_TEMPLATE

TOKEN_DIR = "/etc/shipper/api-token"
SECRET = "demo-shipper-api-token"


def token_of(docs: list[dict[str, Any]]) -> str:
    (secret,) = by_kind(docs, "Secret")
    return base64.b64decode(secret["data"]["token"]).decode()


def workloads(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Pod specs of the Deployment and the Job (the helm test pod has no sidecar)."""
    found = [(name, spec) for name, spec in pod_specs(docs) if not name.startswith("Pod/")]
    assert len(found) == 2
    return found


def token_volume(spec: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in spec["volumes"] if v["name"] == "shipper-api-token"), None)


def test_default_generates_a_secret_mounts_it_and_points_token_file_at_it() -> None:
    docs = documents(render(None))
    (secret,) = by_kind(docs, "Secret")
    assert secret["metadata"]["name"] == SECRET and secret["type"] == "Opaque"
    assert re.fullmatch(r"[A-Za-z0-9]{40}", token_of(docs))
    for version in KUBE_VERSIONS:
        validate(secret, version)
    assert config_of(docs)["server"]["token_file"] == f"{TOKEN_DIR}/token"
    for name, spec in workloads(docs):
        volume = token_volume(spec)
        assert volume == {"name": "shipper-api-token", "secret": {
            "secretName": SECRET, "optional": True, "defaultMode": 0o440,
            "items": [{"key": "token", "path": "token"}]}}, name
        _, sidecar = shipper_container(spec)
        mount = next(m for m in sidecar["volumeMounts"] if m["name"] == "shipper-api-token")
        assert mount == {"name": "shipper-api-token", "mountPath": TOKEN_DIR, "readOnly": True}
        app = next(c for c in spec["containers"] if c["name"] == "app")
        assert all(m["name"] != "shipper-api-token" for m in app["volumeMounts"]), \
            "only the sidecar sees the token"


def test_offline_renders_generate_different_tokens() -> None:
    """Random per install (no lookup offline), never a fixed value."""
    assert token_of(documents(render(None))) != token_of(documents(render(None)))


def test_token_is_kept_across_upgrades_through_lookup() -> None:
    """Cluster-aware render (what install/upgrade do): no Secret yet -> a new token; the
    Secret exists -> its token is rendered unchanged."""
    with FakeApiServer() as api, helm.Config(kubeconfig_content=api.kubeconfig,
                                             namespace="logs") as cfg, \
            helm.Chart.load(APP_CHART) as chart:
        fresh = token_of(documents(cfg.render(chart, None, name="demo", namespace="logs")))
        api.secrets[("logs", SECRET)] = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": SECRET, "namespace": "logs"},
            "data": {"token": base64.b64encode(b"installed-earlier").decode()}}
        kept = token_of(documents(cfg.render(chart, None, name="demo", namespace="logs")))
    assert re.fullmatch(r"[A-Za-z0-9]{40}", fresh)
    assert kept == "installed-earlier"
    assert any(path.startswith(f"/api/v1/namespaces/logs/secrets/{SECRET}")
               for path in api.requests)


def test_an_existing_secret_is_mounted_and_none_is_generated() -> None:
    docs = documents(render({"shipper": {"apiToken": {"existingSecret": "ops-token",
                                                      "key": "bearer"}}}))
    assert not by_kind(docs, "Secret")
    for _, spec in workloads(docs):
        volume = token_volume(spec)
        assert volume is not None
        assert volume["secret"]["secretName"] == "ops-token"
        assert volume["secret"]["items"] == [{"key": "bearer", "path": "token"}]
    assert config_of(docs)["server"]["token_file"] == f"{TOKEN_DIR}/token"


def test_disabled_means_no_secret_no_mount_and_a_loopback_only_config(tmp_path: Path) -> None:
    docs = documents(render({"shipper": {"apiToken": {"disabled": True}}}))
    assert not by_kind(docs, "Secret")
    for _, spec in workloads(docs):
        assert token_volume(spec) is None
        _, sidecar = shipper_container(spec)
        assert all(m["name"] != "shipper-api-token" for m in sidecar["volumeMounts"])
    config = config_of(docs)
    assert config["server"] == {"listen": "0.0.0.0:9102"}
    (tmp_path / "config.yaml").write_text(
        next(d for d in by_kind(docs, "ConfigMap"))["data"]["config.yaml"])
    server = load_settings(str(tmp_path / "config.yaml")).server
    assert server.token_file is None and server.v1_open is False


def test_rendered_token_file_setting_is_accepted_by_the_shipper(tmp_path: Path) -> None:
    docs = documents(render(None))
    (tmp_path / "config.yaml").write_text(by_kind(docs, "ConfigMap")[0]["data"]["config.yaml"])
    assert str(load_settings(str(tmp_path / "config.yaml")).server.token_file) == (
        f"{TOKEN_DIR}/token")


@pytest.mark.parametrize("bad", [
    {"shipper": {"apiToken": {"existing": "x"}}},
    {"shipper": {"apiToken": {"disabled": "yes"}}},
    {"shipper": {"apiToken": {"key": ""}}},
    {"shipper": {"apiToken": {"existingSecret": "Not_A_Name"}}},
])
def test_schema_rejects_bad_api_token_values(bad: dict[str, Any]) -> None:
    with helm.Chart.load(APP_CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(bad)


@pytest.mark.parametrize("values", [
    {"shipper": {"apiToken": {"existingSecret": "ops-token"}}},
    {"shipper": {"apiToken": {"disabled": True}}},
])
def test_api_token_variants_lint_strictly(values: dict[str, Any]) -> None:
    report = helm.lint(APP_CHART, values, strict=True, with_subcharts=True, namespace="logs",
                       kube_version="v1.32.0")
    bad = [m for m in report["messages"] if m["severity"] >= 2] + list(report["errors"])
    assert bad == []


def test_a_users_chart_gets_the_secret_through_the_config_map_include(tmp_path: Path) -> None:
    """Charts that include shipper-lib.configMap (as the README shows) get the Secret
    without a new include; its mount and the config agree."""
    import json

    from helm_python import _native

    chart_dir = tmp_path / "myapp"
    (chart_dir / "templates").mkdir(parents=True)
    shutil.copytree(LIB_CHART, chart_dir / "charts" / "shipper-lib")
    (chart_dir / "Chart.yaml").write_text(USER_CHART)
    (chart_dir / "values.yaml").write_text("shipper:\n  appContainerName: web\n")
    (chart_dir / "templates" / "app.yaml").write_text(USER_TEMPLATE)
    with helm.Chart.load(chart_dir) as chart:
        out = json.loads(_native.call_string(
            "helm_render", chart._raw(), None,
            json.dumps({"name": "web", "namespace": "shop", "kube_version": "v1.30.0"})))
    docs = documents(out)
    (secret,) = by_kind(docs, "Secret")
    assert secret["metadata"]["name"] == "web-shipper-api-token"
    validate(secret, "1.32.0")
    (_, spec), = pod_specs(docs)
    assert token_volume(spec)["secret"]["secretName"] == "web-shipper-api-token"
    assert config_of(docs)["server"]["token_file"] == f"{TOKEN_DIR}/token"
