"""Recognise HTTP request records and pull out method, path, status and user agent.

Three shapes are understood:

* structured request logs: ``method``/``path``/``status`` (and common variants such as
  ``http.method``, ``request_method``, ``url``, ``uri``, ``status_code``, ``http_status``,
  nested ``http: {method: ...}``) in ``attributes``;
* access-log records, for which the parser puts ``method``, ``path``, ``status`` and
  ``user_agent`` into ``attributes``;
* free text whose message carries the request line: ``GET /healthz 200 0.4ms``,
  ``"GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.31"``, ``GET /api/v1/jobs/x 200``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from shipper.record import Record
from shipper.record_fields import Walk, compile_walk

METHOD_KEYS = ("method", "http.method", "request_method", "http_method", "http.request.method",
               "request.method", "req.method", "verb", "httpMethod", "requestMethod")
PATH_KEYS = ("path", "http.path", "url", "uri", "request_uri", "request_path", "http.url",
             "http.target", "url.path", "url.original", "request.url", "request.path",
             "req.url", "req.path", "requestUri", "requestUrl", "http.uri")
STATUS_KEYS = ("status", "status_code", "http_status", "http.status_code", "statusCode",
               "http.response.status_code", "response.status", "response.status_code",
               "res.statusCode", "response_status", "http_status_code", "http.status")
AGENT_KEYS = ("user_agent", "http.user_agent", "user_agent.original", "userAgent",
              "http_user_agent", "http.request.headers.user-agent", "ua", "agent")

_METHODS = "GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|CONNECT|TRACE"
_TEXT = re.compile(
    rf'(?:^|[\s"\'])({_METHODS})\s+(/\S*|https?://\S+)(?:\s+HTTP/[\d.]+)?["\']?\s+(\d{{3}})\b'
)
_PROBE = re.compile(r"\bkube-probe/")
#: a cheap gate before ``_TEXT`` (no ``\b``: a literal alternation is searched much faster)
_METHOD_HINT = re.compile(rf"(?:{_METHODS}) ")


#: ``(method, path, status, user_agent)``: method in upper case, path without query or
#: fragment, status ``None`` when unknown, user agent ``""`` when unknown (a plain tuple:
#: built for every request record the noise presets look at)
Request = tuple[str, str, "int | None", str]


#: a nested reading of each dotted key (``http.method`` -> ``attributes["http"]["method"]``)
_NESTED: dict[str, Walk] = {
    key: compile_walk(key) for key in (*METHOD_KEYS, *PATH_KEYS, *STATUS_KEYS, *AGENT_KEYS)
    if "." in key}
_NESTED_ROOTS = frozenset(key.split(".", 1)[0] for key in _NESTED)
_KINDS = (METHOD_KEYS, PATH_KEYS, STATUS_KEYS, AGENT_KEYS)
#: keys that can change a lookup once the first spelling of each field is known (a record
#: without any reads its fields from the first spellings alone)
SECONDARY_KEYS = frozenset(key for keys in _KINDS for key in keys[1:]) | _NESTED_ROOTS


def _lookup_all(attrs: dict[str, Any]) -> list[Any]:
    """Method, path, status and user agent: for each, the value of the first of its keys
    found (a flat, possibly dotted key, else a nested path). The first spellings
    (``method``, ``path``, ``status``, ``user_agent``) settle most records at once."""
    found = [attrs.get(keys[0]) for keys in _KINDS]
    if None in found and not SECONDARY_KEYS.isdisjoint(attrs):
        found = [_lookup(attrs, keys) if value is None else value
                 for value, keys in zip(found, _KINDS, strict=True)]
    return found


def _lookup(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """First value found under one of ``keys``: a flat (possibly dotted) key, else nested."""
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    if _NESTED_ROOTS.isdisjoint(attrs):
        return None
    return _lookup_nested(attrs, keys)


def _lookup_nested(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        walk = _NESTED.get(key)
        if walk is not None:
            value = walk(attrs)
            if value is not None:
                return value
    return None


def status_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        head = value.strip()[:3]
        return int(head) if len(head) == 3 and head.isdigit() else None
    return None


def path_of(target: str) -> str:
    """The path of a URL or request target, without query or fragment."""
    if target.startswith(("http://", "https://")):
        return urlsplit(target).path or "/"
    if "?" in target:
        target = target.split("?", 1)[0]
    if "#" in target:
        target = target.split("#", 1)[0]
    return target


def from_attributes(attrs: dict[str, Any]) -> Request | None:
    method, target, status, agent = _lookup_all(attrs)
    if not isinstance(method, str) or not isinstance(target, str) or not target:
        return None
    return (method.upper(), path_of(target), status_of(status),
            agent if isinstance(agent, str) else "")


def from_text(text: str) -> Request | None:
    if not _METHOD_HINT.search(text):
        return None
    match = _TEXT.search(text)
    if match is None:
        return None
    agent = "kube-probe/" if _PROBE.search(text) else ""
    return (match.group(1), path_of(match.group(2)), int(match.group(3)), agent)


def request_of(record: Record) -> Request | None:
    """The HTTP request this record logs, or ``None`` when it is not a request record."""
    attrs = record.get("attributes")
    if attrs:
        found = from_attributes(attrs)
        if found is not None:
            return found
    message = record.get("message")
    if isinstance(message, str) and message:
        return from_text(message)
    return None
