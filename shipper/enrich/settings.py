"""The enrichers' settings: top-level keys (``path_templates``, ``podinfo_dir``,
``k8s_api``, ``downward_api``), declared here and mixed into the top-level
:class:`~shipper.config.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from shipper.units import Model


class DownwardApiSettings(Model):
    """Names of the downward-API env vars (defaults match the Helm chart)."""

    pod_name: str = "POD_NAME"
    namespace: str = "POD_NAMESPACE"
    pod_uid: str = "POD_UID"
    node_name: str = "NODE_NAME"
    pod_ip: str = "POD_IP"
    container_name: str = "CONTAINER_NAME"
    completion_index: str = "JOB_COMPLETION_INDEX"


class EnrichSettings(Model):
    """Where pod facts come from and which path parts become fields."""

    #: path patterns with ``{field}`` parts (:mod:`shipper.enrich.templates`)
    path_templates: list[str] = []
    #: the downward-API volume (``labels``, ``annotations``); ``null`` = none mounted
    podinfo_dir: Path | None = Path("/etc/podinfo")
    #: read the pod's owner, labels and annotations from the Kubernetes API as well
    k8s_api: bool = False
    downward_api: DownwardApiSettings = DownwardApiSettings()

    @field_validator("path_templates")
    @classmethod
    def _valid_templates(cls, value: list[str]) -> list[str]:
        from shipper.enrich.templates import compile_template

        for template in value:
            compile_template(template)
        return value
