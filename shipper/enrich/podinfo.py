"""Pod facts from the downward API: env vars and the ``labels``/``annotations`` files.

The kubelet writes the downward-API volume as ``key="value"`` lines (Go-quoted values)
behind a ``..data`` symlink that it swaps atomically on change; :meth:`PodInfo.refresh`
re-reads the files when that link points somewhere new. Reads are on the cold path and
go through aiofiles; nothing here blocks the event loop.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiofiles

from shipper.enrich.settings import DownwardApiSettings

log = logging.getLogger("shipper.enrich")

#: annotations that name OpenTelemetry resource attributes (``resource.opentelemetry.io/
#: service.name``); the only annotations records carry (``k8s.annotations``), at most
#: :data:`MAX_RESOURCE_ANNOTATIONS` of them, values up to :data:`MAX_ANNOTATION_CHARS`
RESOURCE_ANNOTATION_PREFIX = "resource.opentelemetry.io/"
MAX_RESOURCE_ANNOTATIONS, MAX_ANNOTATION_CHARS = 32, 1024
_ENV_FIELDS = (("namespace", "namespace"), ("pod", "pod_name"), ("pod_uid", "pod_uid"),
               ("node", "node_name"), ("container", "container_name"), ("pod_ip", "pod_ip"))


def parse_kubelet_file(text: str) -> dict[str, str]:
    """Parse the kubelet's ``key="value"`` format; malformed lines are skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        out[key] = unquote_go(value.strip())
    return out


def unquote_go(value: str) -> str:
    """Undo Go's ``%q`` quoting (JSON-compatible for what the kubelet writes)."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        unquoted = json.loads(value)
    except ValueError:
        inner = value[1:-1]
        return inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return unquoted if isinstance(unquoted, str) else value


@dataclass(slots=True)
class PodFacts:
    """What is known about the pod; ``k8s`` is the fragment every record carries."""

    k8s: dict[str, object] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    completion_index: str | None = None


def resource_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """The pod's ``resource.opentelemetry.io/*`` annotations (bounded), for ``k8s``."""
    out: dict[str, str] = {}
    for key, value in sorted(annotations.items()):
        if key.startswith(RESOURCE_ANNOTATION_PREFIX) and len(value) <= MAX_ANNOTATION_CHARS:
            out[key] = value
            if len(out) >= MAX_RESOURCE_ANNOTATIONS:
                break
    return out


def with_api_facts(facts: PodFacts, api: dict[str, object]) -> PodFacts:
    """Fill what the downward API did not say from the Kubernetes API's view of the pod:
    labels and annotations, ``k8s.owner``, ``k8s.cronjob``, and the owning Job's name as
    the lowest-precedence ``job_id`` source."""
    labels = facts.labels or dict(api.get("labels") or {})  # type: ignore[call-overload]
    annotations = dict(api.get("annotations") or {})  # type: ignore[call-overload]
    annotations.update(facts.annotations)
    job_name = api.get("job_name")
    if job_name and "shipper/job-id" not in annotations:
        annotations["shipper/job-id"] = str(job_name)
    k8s = dict(facts.k8s)
    if labels and "labels" not in k8s:
        k8s["labels"] = labels
    otel = resource_annotations(annotations)
    if otel:
        k8s["annotations"] = otel
    for key in ("owner", "cronjob"):
        if api.get(key):
            k8s[key] = api[key]
    return PodFacts(k8s=k8s, labels=labels, annotations=annotations,
                    completion_index=facts.completion_index)


class PodInfo:
    """Downward-API facts; :attr:`facts` is replaced (never mutated) on change."""

    def __init__(self, env: Mapping[str, str], names: DownwardApiSettings,
                 podinfo_dir: Path | None) -> None:
        self._env = env
        self._names = names
        self._dir = podinfo_dir
        self._data_target: str | None = None
        self._api: dict[str, object] = {}
        self._local = self._build({}, {})
        self.facts = self._local

    def _build(self, labels: dict[str, str], annotations: dict[str, str]) -> PodFacts:
        k8s: dict[str, object] = {}
        for key, name_attr in _ENV_FIELDS:
            value = self._env.get(getattr(self._names, name_attr))
            if value:
                k8s[key] = value
        if labels:
            k8s["labels"] = labels
        otel = resource_annotations(annotations)
        if otel:
            k8s["annotations"] = otel
        index = self._env.get(self._names.completion_index) or None
        return PodFacts(k8s=k8s, labels=labels, annotations=annotations, completion_index=index)

    async def refresh(self) -> bool:
        """Re-read labels/annotations if the volume changed; True when facts changed."""
        if self._dir is None:
            return False
        target = self._link_target()
        if target is not None and target == self._data_target:
            return False
        labels = await self._read("labels")
        annotations = await self._read("annotations")
        self._data_target = target
        self._local = self._build(labels, annotations)
        return self._combine()

    def set_api_facts(self, api: dict[str, object]) -> bool:
        """Facts read from the Kubernetes API (optional); True when the result changed."""
        self._api = api
        return self._combine()

    def _combine(self) -> bool:
        facts = with_api_facts(self._local, self._api) if self._api else self._local
        changed = facts != self.facts
        self.facts = facts
        return changed

    def _link_target(self) -> str | None:
        try:
            target: str = os.readlink(self._dir / "..data")  # type: ignore[operator]
            return target
        except OSError:
            return None

    async def _read(self, name: str) -> dict[str, str]:
        path = self._dir / name  # type: ignore[operator]
        try:
            async with aiofiles.open(path, encoding="utf-8", errors="replace") as handle:
                return parse_kubelet_file(await handle.read())
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read downward-API file",
                        extra={"path": str(path), "error": exc.strerror})
            return {}
