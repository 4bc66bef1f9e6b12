"""Helm lint (strict) of both charts, values.schema.json strictness, the library used
from a user's own chart, and the chart/config contract with shipper.config."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

helm = pytest.importorskip("helm_python")

from shipper.config import load_settings  # noqa: E402
from shipper.enrich.settings import DownwardApiSettings  # noqa: E402
from tests.k8s.manifests import (  # noqa: E402
    APP_CHART,
    LIB_CHART,
    by_kind,
    config_of,
    documents,
    pod_specs,
    render,
    restricted_problems,
    shipper_container,
    validate,
)


def _findings(report: dict[str, Any]) -> list[str]:
    """Lint messages at warning level or above, and hard errors."""
    bad = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2]
    return bad + list(report["errors"])


@pytest.mark.parametrize("values", [
    None,
    {"shipper": {"sidecarMode": "container"}},
    {"podMonitor": {"enabled": True}, "shipper": {"k8sApi": True}},
])
def test_app_chart_lints_strictly(values: dict[str, Any] | None) -> None:
    """`helm lint --strict --with-subcharts` reports no warning or error."""
    report = helm.lint(APP_CHART, values, strict=True, with_subcharts=True,
                       namespace="logs", kube_version="v1.32.0")
    assert report["total_charts_linted"] >= 1
    assert _findings(report) == []


def test_library_chart_lints_strictly() -> None:
    """The library chart on its own lints clean."""
    report = helm.lint(LIB_CHART, strict=True)
    assert _findings(report) == []


@pytest.mark.parametrize("bad", [
    {"bogus": True},
    {"shipper": {"bogus": True}},
    {"shipper": {"config": {"bogus": True}}},
    {"shipper": {"resources": {"request": {"cpu": "1"}}}},
    {"example": {"job": {"completion": 3}}},
    {"podMonitor": {"enabled": True, "intervall": "10s"}},
])
def test_schema_rejects_unknown_keys(bad: dict[str, Any]) -> None:
    """values.schema.json has additionalProperties: false at every level, so a typo fails
    validation and rendering instead of being silently ignored."""
    with helm.Chart.load(APP_CHART) as chart:
        with pytest.raises(helm.HelmValuesError, match="additional properties"):
            chart.validate_schema(bad)
        with pytest.raises(helm.HelmValuesError):
            chart.render(bad, name="demo")


@pytest.mark.parametrize("bad", [
    {"shipper": {"sidecarMode": "sometimes"}},
    {"shipper": {"uid": 0}},
    {"shipper": {"config": {"sinks": [{"type": "kafka", "name": "k"}]}}},
    {"shipper": {"config": {"sinks": []}}},
    {"metricsService": {"type": "LoadBalancer"}},
])
def test_schema_rejects_bad_values(bad: dict[str, Any]) -> None:
    """Enums and bounds: unknown sidecar mode, root UID, unknown sink type, no sink."""
    with helm.Chart.load(APP_CHART) as chart:
        with pytest.raises(helm.HelmValuesError):
            chart.validate_schema(bad)


def test_default_values_pass_schema() -> None:
    """The chart's own defaults satisfy its schema."""
    with helm.Chart.load(APP_CHART) as chart:
        chart.validate_schema(chart.values)


def test_rendered_config_is_accepted_by_the_shipper(tmp_path: Path) -> None:
    """config.yaml from the default values loads with shipper.config.load_settings."""
    config_file = tmp_path / "config.yaml"
    docs = documents(render(None))
    maps = [d for d in by_kind(docs, "ConfigMap") if "config.yaml" in d["data"]]
    config_file.write_text(maps[0]["data"]["config.yaml"])
    settings = load_settings(str(config_file))
    assert str(settings.state_dir) == "/var/lib/shipper"
    assert settings.server.listen == "0.0.0.0:9102"
    assert settings.paths == config_of(docs)["paths"]


def test_env_names_match_downward_api_settings() -> None:
    """The env vars the templates set are the names shipper.config reads by default."""
    docs = documents(render(None))
    spec = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    names = {e["name"] for e in shipper_container(spec)[1]["env"]}
    expected = set(DownwardApiSettings().model_dump().values()) - {"JOB_COMPLETION_INDEX"}
    assert expected <= names


USER_CHART = """\
apiVersion: v2
name: myapp
version: 1.0.0
dependencies:
  - name: shipper-lib
    version: 0.1.0
    repository: file://../shipper-lib
"""
USER_TEMPLATE = """\
{{- $ctx := dict "root" $ "values" .Values.shipper }}
{{- include "shipper-lib.configMap" $ctx }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: myapp
spec:
  serviceName: myapp
  selector: {matchLabels: {app: myapp}}
  template:
    metadata:
      labels: {app: myapp}
      annotations:
        {{- include "shipper-lib.podAnnotations" $ctx | nindent 8 }}
    spec:
      enableServiceLinks: false
      securityContext:
        {{- include "shipper-lib.podSecurityContext" $ctx | nindent 8 }}
      {{- if eq (include "shipper-lib.isNative" $ctx) "true" }}
      initContainers:
        {{- include "shipper-lib.initContainers" $ctx | nindent 8 }}
      {{- end }}
      containers:
        - name: web
          image: nginx:1.27
          resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 64Mi}}
          securityContext:
            {{- include "shipper-lib.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "shipper-lib.appVolumeMounts" $ctx | nindent 12 }}
        {{- include "shipper-lib.containers" $ctx | nindent 8 }}
      volumes:
        {{- include "shipper-lib.volumes" $ctx | nindent 8 }}
"""


@pytest.fixture()
def user_chart(tmp_path: Path) -> Path:
    """A user's own chart that includes the library's named templates."""
    shutil.copytree(LIB_CHART, tmp_path / "shipper-lib")
    chart = tmp_path / "myapp"
    (chart / "templates").mkdir(parents=True)
    (chart / "charts").mkdir()
    shutil.copytree(LIB_CHART, chart / "charts" / "shipper-lib")
    (chart / "Chart.yaml").write_text(USER_CHART)
    (chart / "values.yaml").write_text(
        "shipper:\n  appContainerName: web\n  logsVolume: {mountPath: /var/log/nginx}\n")
    (chart / "templates" / "app.yaml").write_text(USER_TEMPLATE)
    return chart


@pytest.mark.parametrize(("kube", "where"), [("v1.30.0", "initContainers"),
                                             ("v1.27.0", "containers")])
def test_library_in_users_chart(user_chart: Path, kube: str, where: str) -> None:
    """A user's StatefulSet gets the sidecar (placed by cluster version), its volumes and
    config; the result is schema-valid and restricted, and partial values merge over the
    library defaults."""
    import json

    from helm_python import _native

    with helm.Chart.load(user_chart) as chart:
        out = json.loads(_native.call_string(
            "helm_render", chart._raw(), None,
            json.dumps({"name": "web", "namespace": "shop", "kube_version": kube})))
    docs = documents(out)
    for doc in docs:
        validate(doc, "1.32.0")
    (_, spec), = pod_specs(docs)
    assert restricted_problems(spec) == []
    got, sidecar = shipper_container(spec)
    assert got == where
    assert {"name": "CONTAINER_NAME", "value": "web"} in sidecar["env"]
    assert config_of(docs)["paths"] == ["/var/log/nginx/**/*.log"]
    assert sidecar["resources"]["limits"]["memory"] == "256Mi"


def test_the_schema_takes_every_key_of_the_config_sections_it_describes() -> None:
    """A config section the schema closes (``additionalProperties: false``, its keys
    listed) lists every field of its model: a key added to the model (``cpu.batch``, say)
    and forgotten here would make the chart refuse a setting the shipper takes."""
    import json

    from pydantic import BaseModel

    from shipper.config import Settings

    schema = json.loads((Path(APP_CHART) / "values.schema.json").read_text())
    sections = schema["properties"]["shipper"]["properties"]["config"]["properties"]
    checked = []
    for name, node in sections.items():
        model = Settings.model_fields[name].annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        if node.get("additionalProperties") is False and "properties" in node:
            assert set(model.model_fields) <= set(node["properties"]), name
            checked.append(name)
    assert "cpu" in checked


def test_tailing_settings_pass_the_schema_and_reach_the_shipper(tmp_path: Path) -> None:
    """``sources``, ``follow_symlinks``, ``symlink_roots`` and ``cpu.batch`` given as chart
    values pass the schema, render into config.yaml and load with the values given (the
    schema used to refuse the first three: a chart user could not tune inotify or the
    rotation grace)."""
    values = {"shipper": {"config": {
        "follow_symlinks": "always", "symlink_roots": ["/data"],
        "sources": {"rotate_grace": "3s", "max_inotify_watches": 100},
        "cpu": {"batch": False}, "sinks": [{"type": "stdout", "name": "stdout"}]}}}
    with helm.Chart.load(APP_CHART) as chart:
        chart.validate_schema(values)
    docs = documents(render(values))
    config_file = tmp_path / "config.yaml"
    maps = [d for d in by_kind(docs, "ConfigMap") if "config.yaml" in d["data"]]
    config_file.write_text(maps[0]["data"]["config.yaml"])
    settings = load_settings(str(config_file))
    assert settings.follow_symlinks == "always" and settings.symlink_roots == ["/data"]
    assert settings.sources.rotate_grace == 3.0
    assert settings.sources.max_inotify_watches == 100 and settings.cpu.batch is False
