"""The ``/metrics`` body without ``prometheus_client.exposition``.

The library's exposition module carries its push-gateway client and stand-alone servers:
it imports ``http.server``, ``urllib.request``, ``wsgiref`` and ``ssl`` (6 MiB resident
together, the TLS library most of it), for a body a sidecar writes every scrape. Here the
negotiation is the library's (:func:`choose`: the same ``Accept`` header gives the same
format, escaping and content type), the OpenMetrics body comes from the library's own
light ``openmetrics.exposition`` module, and the Prometheus text format is written by
:func:`prometheus_text`, byte for byte what the library writes (a test compares both on
every kind of metric and every escaping).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.utils import floatToGoString, parse_version

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
_OPENMETRICS = "application/openmetrics-text"
_ESCAPINGS = (openmetrics.ALLOWUTF8, openmetrics.UNDERSCORES, openmetrics.DOTS,
              openmetrics.VALUES)
#: how an OpenMetrics type is written in the Prometheus text format (name suffix, type)
_AS_PROMETHEUS = {"counter": ("_total", "counter"), "info": ("_info", "gauge"),
                  "stateset": ("", "gauge"), "gaugehistogram": ("", "histogram"),
                  "unknown": ("", "untyped")}
#: OpenMetrics-only samples, each written as a gauge family of its own after the metric
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")

Encoder = Callable[[Any], bytes]


def choose(accept: str) -> tuple[Encoder, str]:
    """The encoder and content type for an ``Accept`` header: the first OpenMetrics or
    ``text/plain`` (version 1.0.0 or later) entry decides, else the text format 0.0.4."""
    for accepted in (accept or "").split(","):
        tokens = accepted.split(";")
        kind = tokens[0].strip()
        if kind not in (_OPENMETRICS, "text/plain"):
            continue
        version, escaping = _parameter(tokens, "version"), _escaping(tokens)
        if kind == _OPENMETRICS and not version:
            return (partial(openmetrics.generate_latest, escaping=openmetrics.UNDERSCORES,
                            version="1.0.0"), openmetrics.CONTENT_TYPE_LATEST)
        if version and parse_version(version) >= (1, 0, 0):
            if kind == _OPENMETRICS:
                return (partial(openmetrics.generate_latest, escaping=escaping,
                                version=version),
                        f"{_OPENMETRICS}; version={version}; charset=utf-8; "
                        f"escaping={escaping}")
            return (partial(prometheus_text, escaping=escaping),
                    f"{CONTENT_TYPE_PLAIN_1_0_0}; escaping={escaping}")
    return prometheus_text, CONTENT_TYPE_PLAIN_0_0_4


def _parameter(tokens: list[str], name: str) -> str:
    """The value of the first ``name=value`` parameter of an Accept entry, else ``""``."""
    for token in tokens:
        key, equals, value = token.strip().partition("=")
        if equals and key == name:
            return value
    return ""


def _escaping(tokens: list[str]) -> str:
    escaping = _parameter(tokens, "escaping")
    return escaping if escaping in _ESCAPINGS else openmetrics.UNDERSCORES


def prometheus_text(registry: Any, escaping: str = openmetrics.UNDERSCORES) -> bytes:
    """Every metric ``registry`` collects in the Prometheus text format."""
    output: list[str] = []
    for metric in registry.collect():
        try:
            _family(output, metric, escaping)
        except Exception as exc:  # re-raised: the library names the metric the same way
            exc.args = (*(exc.args or ("",)), metric)
            raise
    return "".join(output).encode("utf-8")


def _family(output: list[str], metric: Any, escaping: str) -> None:
    suffix, kind = _AS_PROMETHEUS.get(metric.type, ("", metric.type))
    _family_head(output, metric.name + suffix, kind, metric.documentation, escaping)
    extra: dict[str, list[str]] = {}
    for sample in metric.samples:
        om_suffix = _om_suffix(metric.name, sample.name)
        lines = extra.setdefault(om_suffix, []) if om_suffix else output
        lines.append(_sample_line(sample, escaping))
    for om_suffix, lines in sorted(extra.items()):
        _family_head(output, metric.name + om_suffix, "gauge", metric.documentation,
                     escaping)
        output.extend(lines)


def _om_suffix(family: str, sample: str) -> str:
    for suffix in _OM_SUFFIXES:
        if sample == family + suffix:
            return suffix
    return ""


def _family_head(output: list[str], name: str, kind: str, documentation: str,
                 escaping: str) -> None:
    escaped = openmetrics.escape_metric_name(name, escaping)
    text = documentation.replace("\\", r"\\").replace("\n", r"\n")
    output.append(f"# HELP {escaped} {text}\n# TYPE {escaped} {kind}\n")


def _sample_line(sample: Any, escaping: str) -> str:
    """``name{labels} value[ timestamp]``; a name only UTF-8 allows is quoted inside the
    braces: ``{"name",labels} value``."""
    labels = ",".join(f'{openmetrics.escape_label_name(key, escaping)}="{_label_value(value)}"'
                      for key, value in sorted(sample.labels.items()))
    stamp = "" if sample.timestamp is None else f" {int(float(sample.timestamp) * 1000):d}"
    name = openmetrics.escape_metric_name(sample.name, escaping)
    value: str = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
    if name.startswith('"'):  # not a legacy name, and allowed as UTF-8
        return f"{{{name}{',' if labels else ''}{labels}}} {value}{stamp}\n"
    return f"{name}{{{labels}}} {value}{stamp}\n" if labels else f"{name} {value}{stamp}\n"


def _label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
