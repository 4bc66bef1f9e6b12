"""What an OTLP log record says, from one of our records: resource, severity, attributes.

Pure functions shared by both OTLP encodings (:mod:`shipper.sinks.otlp_encode`):

* :func:`resource_of`: resource attributes per the OpenTelemetry semantic conventions for
  Kubernetes, from the record's ``k8s`` facts (see :data:`SERVICE_NAME_CHAIN`);
* :data:`SEVERITY`: our levels as OTel severity numbers and short names;
* :func:`log_attributes`: the log record's attributes (ids, logger, file path, stream and
  the record's own ``attributes``, nested values kept as maps/arrays);
* :func:`any_value_json` / :func:`fill_any_value`: a Python value as an ``AnyValue``, in
  OTLP/JSON or in the protobuf message.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from shipper.record import Record

#: our level -> (SeverityNumber, SeverityText): the first number of each OTel range and its
#: short name; ``critical`` is FATAL, as the OTel data model maps Python's CRITICAL
SEVERITY: dict[str, tuple[int, str]] = {
    "trace": (1, "TRACE"), "debug": (5, "DEBUG"), "info": (9, "INFO"),
    "warning": (13, "WARN"), "error": (17, "ERROR"), "critical": (21, "FATAL")}
UNKNOWN_SEVERITY = (0, "")

#: the OTel annotation prefix: ``resource.opentelemetry.io/<attribute>: value``
RESOURCE_ANNOTATION = "resource.opentelemetry.io/"
#: ``service.name`` when nothing names the service (the OTel SDKs' default)
UNKNOWN_SERVICE = "unknown_service"
#: labels the Job controller puts on its pods
JOB_LABELS = ("batch.kubernetes.io/job-name", "job-name")
#: owner kinds (``k8s.owner`` from the Kubernetes API) with their resource attribute
OWNER_ATTRIBUTES = {"Job": "k8s.job.name", "ReplicaSet": "k8s.replicaset.name",
                    "StatefulSet": "k8s.statefulset.name", "DaemonSet": "k8s.daemonset.name"}
_K8S = (("namespace", "k8s.namespace.name"), ("pod", "k8s.pod.name"),
        ("pod_uid", "k8s.pod.uid"), ("container", "k8s.container.name"),
        ("node", "k8s.node.name"))
#: top-level record fields that are not log attributes (or are mapped on purpose)
_NOT_ATTRIBUTES = frozenset({"timestamp", "level", "message", "attributes", "k8s", "file",
                             "trace_id", "span_id", "stream"})
#: nesting below this depth is sent as a JSON string (receivers decoding protobuf with a
#: recursion limit of 100 messages refuse deeper ``AnyValue`` trees)
MAX_VALUE_DEPTH = 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Resource = tuple[tuple[str, str], ...]


def resource_of(k8s: Any, extra: dict[str, str] | None = None) -> Resource:
    """Resource attributes of a record's ``k8s`` facts, sorted by name (a grouping key).

    ``service.name``: annotation ``resource.opentelemetry.io/service.name``, else the
    labels ``app.kubernetes.io/instance``, ``app.kubernetes.io/name``, else
    ``k8s.job.name``, else the pod name (else ``unknown_service``). ``service.instance.id``:
    its annotation, else ``<namespace>.<pod>.<container>``. Every other
    ``resource.opentelemetry.io/<name>`` annotation sets ``<name>``; ``extra`` (the sink's
    ``resource_attributes``) wins over everything.
    """
    k8s = k8s if isinstance(k8s, dict) else {}
    labels = _str_map(k8s.get("labels"))
    out = _workload(k8s, labels)
    for key, value in _str_map(k8s.get("annotations")).items():
        if key.startswith(RESOURCE_ANNOTATION) and len(key) > len(RESOURCE_ANNOTATION):
            out[key[len(RESOURCE_ANNOTATION):]] = value
    if not out.get("service.name"):
        out["service.name"] = (_first(labels, ("app.kubernetes.io/instance",
                                               "app.kubernetes.io/name"))
                               or out.get("k8s.job.name") or out.get("k8s.pod.name")
                               or UNKNOWN_SERVICE)
    if not out.get("service.instance.id"):
        parts = [out.get(n) for n in ("k8s.namespace.name", "k8s.pod.name", "k8s.container.name")]
        if all(parts):
            out["service.instance.id"] = ".".join(parts)  # type: ignore[arg-type]
    if extra:
        out.update(extra)
    return tuple(sorted(out.items()))


def _workload(k8s: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    """``k8s.*`` attributes: the pod's facts, its owner, its Job and CronJob."""
    out: dict[str, str] = {}
    for key, name in _K8S:
        value = k8s.get(key)
        if value not in (None, ""):
            out[name] = str(value)
    owner_value = k8s.get("owner")
    owner: dict[str, Any] = owner_value if isinstance(owner_value, dict) else {}
    owner_attr = OWNER_ATTRIBUTES.get(str(owner.get("kind")))
    if owner_attr and owner.get("name"):
        out[owner_attr] = str(owner["name"])
    job = out.get("k8s.job.name") or _first(labels, JOB_LABELS)
    if job:
        out["k8s.job.name"] = job
    if k8s.get("cronjob"):
        out["k8s.cronjob.name"] = str(k8s["cronjob"])
    return out


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _first(mapping: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if mapping.get(key):
            return mapping[key]
    return None


def log_attributes(record: Record) -> dict[str, Any]:
    """The log record's attributes: the record's ``attributes``, then every other public
    top-level field (``job_id``, ``correlation_id``, ``shard_index``, ``logger``, ...)
    under its own name, ``file.path`` as ``log.file.path`` and ``stream`` as
    ``log.iostream`` (semantic conventions). Later ones win on a name clash."""
    attrs = record.get("attributes")
    out: dict[str, Any] = dict(attrs) if isinstance(attrs, dict) else {}
    out.update((key, value) for key, value in record.items()
               if key not in _NOT_ATTRIBUTES and key[:1] != "_" and value is not None)
    file = record.get("file")
    if isinstance(file, dict) and file.get("path"):
        out["log.file.path"] = file["path"]
    if record.get("stream"):
        out["log.iostream"] = record["stream"]
    return out


def any_value_json(value: Any, depth: int = 0) -> dict[str, Any]:
    """``value`` as an OTLP/JSON ``AnyValue`` (int64 as a string, maps as ``kvlistValue``)."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value} if math.isfinite(value) else {"stringValue": str(value)}
    if value is None:
        return {}
    if depth >= MAX_VALUE_DEPTH and isinstance(value, (dict, list)):
        return {"stringValue": _json_text(value)}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": [{"key": str(k), "value": any_value_json(v, depth + 1)}
                                           for k, v in value.items()]}}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value_json(v, depth + 1) for v in value]}}
    return {"stringValue": str(value)}


def fill_any_value(target: Any, value: Any, depth: int = 0) -> None:
    """Set the protobuf ``AnyValue`` ``target`` to ``value`` (same rules as the JSON form)."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            target.int_value = value
        else:
            target.string_value = str(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            target.double_value = value
        else:
            target.string_value = str(value)
    elif value is None:
        return
    elif depth >= MAX_VALUE_DEPTH and isinstance(value, (dict, list)):
        target.string_value = _json_text(value)
    elif isinstance(value, dict):
        kvlist = target.kvlist_value
        kvlist.SetInParent()
        for key, item in value.items():
            pair = kvlist.values.add(key=str(key))
            fill_any_value(pair.value, item, depth + 1)
    elif isinstance(value, (list, tuple)):
        array = target.array_value
        array.SetInParent()
        for item in value:
            fill_any_value(array.values.add(), item, depth + 1)
    else:
        target.string_value = str(value)


def _json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode("utf-8")


def hex_id(value: Any, size: int) -> bytes | None:
    """A trace id (``size`` 16) or span id (8) from its lowercase hex form; ``None`` if the
    value is not one (wrong length, not hex, all zeros: invalid per W3C)."""
    if not isinstance(value, str) or len(value) != size * 2:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if any(raw) else None
