"""Datadog ``ddtags`` from what the record knows about its pod (pure).

Tags, in this order, each only when known: ``kube_namespace``, ``pod_name``,
``kube_container_name``, ``kube_job``, ``kube_cronjob``, ``kube_app_name`` (label
``app.kubernetes.io/name``), then ``env``/``service``/``version`` from the unified service
tagging labels ``tags.datadoghq.com/{env,service,version}``, then the configured ``tags``.

The Job is the pod's owner (``k8s.owner`` of kind ``Job``, from the Kubernetes API), else
the label the Job controller sets on its pods (``batch.kubernetes.io/job-name``, older
``job-name``). The CronJob is ``k8s.cronjob`` (the Job's owner, from the API), else derived
from the Job name the way the CronJob controller builds it: ``<cronjob>-<scheduled minute
since the epoch>``, accepted only when that minute is a plausible schedule time (after
2015, at most a day ahead), so ``backup-20240101`` is not taken for a CronJob.
"""

from __future__ import annotations

import re
from typing import Any

_POD_TAGS = (("kube_namespace", "namespace"), ("pod_name", "pod"),
             ("kube_container_name", "container"))
#: Datadog unified service tagging: pod label -> tag
UNIFIED_LABELS = (("env", "tags.datadoghq.com/env"), ("service", "tags.datadoghq.com/service"),
                  ("version", "tags.datadoghq.com/version"))
JOB_LABELS = ("batch.kubernetes.io/job-name", "job-name")
APP_LABEL = "app.kubernetes.io/name"
_CRONJOB_JOB = re.compile(r"^(.+)-(\d{8,10})$")
#: 2015-01-01T00:00Z in minutes since the epoch (CronJob-made Jobs are newer)
_FIRST_MINUTE = 23_667_840
#: Datadog keeps at most 200 characters of a tag
MAX_TAG_CHARS = 200


def tag(name: str, value: Any) -> str:
    """``name:value``; a comma (the ``ddtags`` separator) becomes ``_``, at most 200 chars."""
    return f"{name}:{value}".replace(",", "_")[:MAX_TAG_CHARS]


def job_name(k8s: dict[str, Any]) -> str | None:
    owner = k8s.get("owner")
    if isinstance(owner, dict) and owner.get("kind") == "Job" and owner.get("name"):
        return str(owner["name"])
    labels = k8s.get("labels") or {}
    for key in JOB_LABELS:
        if labels.get(key):
            return str(labels[key])
    return None


def cronjob_name(k8s: dict[str, Any], job: str | None, now: float) -> str | None:
    if k8s.get("cronjob"):
        return str(k8s["cronjob"])
    match = _CRONJOB_JOB.match(job or "")
    if match is None:
        return None
    minute = int(match.group(2))
    if _FIRST_MINUTE <= minute <= now / 60 + 24 * 60:
        return match.group(1)
    return None


def pod_tags(k8s: dict[str, Any], now: float) -> list[str]:
    """The tags of one record's pod facts (``k8s``), ``now`` the wall clock in seconds."""
    tags = [tag(name, k8s[key]) for name, key in _POD_TAGS if k8s.get(key)]
    labels = k8s.get("labels") or {}
    job = job_name(k8s)
    cronjob = cronjob_name(k8s, job, now)
    for name, value in (("kube_job", job), ("kube_cronjob", cronjob),
                        ("kube_app_name", labels.get(APP_LABEL))):
        if value:
            tags.append(tag(name, value))
    tags.extend(tag(name, labels[key]) for name, key in UNIFIED_LABELS if labels.get(key))
    return tags
