"""A Loki push receiver that behaves like a Loki 3.x single binary (distributor + ingester).

Decodes raw-snappy protobuf with the schema generated from Loki's ``push.proto`` (any
``Content-Type`` other than ``application/json``, as Loki does) or JSON (optionally gzip).

Like Loki's distributor it validates each stream and entry and *keeps the valid ones*:
label syntax and names, at most ``max_labels`` labels, line size, timestamps more than
``creation_grace`` in the future (``timestamp too new``), optionally older than
``reject_old_after``, structured metadata only when allowed. Like the ingester (unordered
writes, Loki's default) it refuses, per stream, entries more than ``max_behind`` (half of
``max_chunk_age``: 1 h) behind the stream's newest entry, and skips an exact repeat of the
stream's last line. Refusals are answered as Loki does: ``400`` with the ingester's
message for the **last** stream of the push (``entry with timestamp ... ignored, reason:
'entry too far behind, ...',`` lines, at most 10, then ``user 'T', total ignored: N out of
M for stream: {...}``; other streams' refusals are not reported, as in Loki), else the
distributor's validation errors grouped like Loki's ``GroupedErrors`` (``; ``-joined,
``N errors like: ...``). ``strict_order`` emulates ``unordered_writes: false``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import snappy
from aiohttp import web
from google.protobuf.message import DecodeError

from shipper.sinks.proto import load_push_schema
from tests.receivers.common import HttpReceiver, Rejected, decode_body

_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
HOUR = 3600 * 10**9
MAX_RETURNED_ERRORS = 10  # the ingester's default max_returned_stream_errors


@dataclass
class LokiEntry:
    labels: dict[str, str]
    ts_ns: int
    line: str
    metadata: dict[str, str]
    tenant: str = ""


@dataclass
class _Stream:
    """What the ingester remembers of a stream."""

    highest: int = 0
    last: tuple[int, str] | None = None
    entries: list[LokiEntry] = field(default_factory=list)


def parse_labels(text: str) -> dict[str, str]:
    """``{a="x", b="y"}`` -> dict, like Loki's selector parser (400 if malformed)."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"error parsing labels {text!r}")
    inner, labels, pos = text[1:-1], {}, 0
    while pos < len(inner):
        match = _PAIR.match(inner, pos)
        if not match:
            raise ValueError(f"parse error at {pos}: unexpected character")
        labels[match.group(1)] = match.group(2).encode().decode("unicode_escape")
        pos = match.end()
    return labels


def go_label_string(labels: dict[str, str]) -> str:
    """Prometheus' ``labels.String()``: sorted, ``, ``-separated, Go-quoted values."""
    def quote(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ", ".join(f'{k}="{quote(v)}"' for k, v in sorted(labels.items())) + "}"


def go_time(ns: int) -> str:
    """Go's ``time.Time.String()`` in UTC: ``2024-05-01 10:00:01.5 +0000 UTC``."""
    seconds, nanos = divmod(ns, 10**9)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{base}{frac} +0000 UTC"


def rfc3339(ns: int) -> str:
    """Go's ``Format(time.RFC3339)``: whole seconds."""
    return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LokiReceiver(HttpReceiver):
    path = "/loki/api/v1/push"

    def __init__(self, *, max_labels: int = 15, max_line_bytes: int = 256_000,
                 strict_order: bool = False, tenant: str | None = None, delay: float = 0.0,
                 auth: str | None = None, multi_tenant: bool = False,
                 max_behind_ns: int = HOUR, creation_grace_ns: int = 10 * 60 * 10**9,
                 reject_old_after_ns: int | None = None, allow_metadata: bool = True,
                 now: Callable[[], float] = time.time) -> None:
        super().__init__(delay=delay)
        self.schema = load_push_schema()
        self.max_labels, self.max_line_bytes = max_labels, max_line_bytes
        self.strict_order, self.tenant, self.auth = strict_order, tenant, auth
        self.multi_tenant, self.allow_metadata = multi_tenant, allow_metadata
        self.max_behind, self.grace, self.max_age = max_behind_ns, creation_grace_ns, reject_old_after_ns
        self.now = now
        self.entries: list[LokiEntry] = []
        #: refused entries by reason (too_far_behind, too_far_in_future, ...), like
        #: ``loki_discarded_samples_total{reason}``
        self.discarded: Counter[str] = Counter()
        self.streams: dict[tuple[str, str], _Stream] = {}

    # --- the request ----------------------------------------------------------------------
    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        tenant = self._tenant(request)
        if self.auth is not None and request.headers.get("Authorization") != self.auth:
            raise Rejected(401, "unauthorized")
        pushed = self._decode(request, body)
        errors: list[str] = []
        valid = [(key, kept) for key, entries in pushed
                 if (kept := self._validate(key, entries, errors))]
        ingester_error = ""
        for key, entries in valid:  # the ingester reports only the last stream's outcome
            ingester_error = self._ingest(tenant, key, entries)
        if ingester_error:
            return 400, ingester_error
        if errors:
            return 400, grouped(errors)
        return 204, ""

    def _tenant(self, request: web.Request) -> str:
        org = request.headers.get("X-Scope-OrgID", "")
        if self.multi_tenant:
            if not org:
                raise Rejected(401, "no org id")
            return org
        if self.tenant is not None and org != self.tenant:
            raise Rejected(401, "no org id")
        return org or "fake"

    def _decode(self, request: web.Request, body: bytes) -> list[tuple[str, list[LokiEntry]]]:
        if request.headers.get("Content-Type", "").split(";")[0].strip() == "application/json":
            try:
                data = orjson.loads(decode_body(body, request.headers.get("Content-Encoding")))
                return [(go_label_string(s["stream"]),
                         [LokiEntry({}, int(v[0]), v[1], dict(v[2]) if len(v) > 2 else {})
                          for v in s["values"]]) for s in data["streams"]]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
                raise Rejected(400, f"loghttp.PushRequest.Streams: {exc}") from None
        try:
            push = self.schema.PushRequest.FromString(snappy.uncompress(body))
        except (DecodeError, snappy.UncompressError, ValueError) as exc:
            raise Rejected(400, f"snappy: corrupt input ({exc})") from None
        return [(s.labels, [LokiEntry({}, e.timestamp.seconds * 10**9 + e.timestamp.nanos,
                                      e.line, {p.name: p.value for p in e.structuredMetadata})
                            for e in s.entries]) for s in push.streams]

    # --- the distributor ------------------------------------------------------------------
    def _validate(self, key: str, entries: list[LokiEntry], errors: list[str]) -> list[LokiEntry]:
        if not entries:
            return []
        try:
            labels = parse_labels(key)
        except ValueError as exc:
            return self._refuse_stream(entries, errors, "invalid_labels",
                                       f"Error parsing labels '{key}' with error: {exc}")
        stream = go_label_string(labels)
        problem = self._label_problem(labels, stream, entries)
        if problem:
            return self._refuse_stream(entries, errors, *problem)
        now = int(self.now() * 10**9)
        kept = []
        for entry in entries:
            entry.labels = labels
            error = self._entry_problem(entry, stream, now)
            if error:
                self.discarded[error[0]] += 1
                errors.append(error[1])
            else:
                kept.append(entry)
        return kept

    def _label_problem(self, labels: dict[str, str], stream: str,
                       entries: list[LokiEntry]) -> tuple[str, str] | None:
        if not labels:
            return "missing_labels", "error at least one label pair is required per stream"
        bad = [name for name in labels if not _NAME.match(name)]
        if bad:
            return "invalid_labels", f"Error parsing labels '{stream}' with error: invalid label name {bad[0]!r}"
        if len(labels) > self.max_labels:
            return ("max_label_names_per_series",
                    f"entry for stream '{stream}' has {len(labels)} label names; limit {self.max_labels}")
        if not self.allow_metadata and any(e.metadata for e in entries):
            return ("disallowed_structured_metadata",
                    f"stream '{stream}' includes structured metadata, but this feature is disallowed.")
        return None

    def _entry_problem(self, entry: LokiEntry, stream: str, now: int) -> tuple[str, str] | None:
        if entry.ts_ns > now + self.grace:
            return "too_far_in_future", f"entry for stream '{stream}' has timestamp too new: {go_time(entry.ts_ns)}"
        if self.max_age is not None and entry.ts_ns < now - self.max_age:
            oldest = go_time(now - self.max_age)
            text = (f"entry for stream '{stream}' has timestamp too old: {go_time(entry.ts_ns)}, "
                    f"oldest acceptable timestamp is: {oldest}")
            return "greater_than_max_sample_age", text
        size = len(entry.line.encode())
        if size > self.max_line_bytes:
            return "line_too_long", (f"Max entry size '{self.max_line_bytes}' bytes exceeded for stream "
                                     f"'{stream}' while adding an entry with length '{size}' bytes")
        return None

    def _refuse_stream(self, entries: list[LokiEntry], errors: list[str], reason: str,
                       message: str) -> list[LokiEntry]:
        self.discarded[reason] += len(entries)
        errors.append(message)
        return []

    # --- the ingester ---------------------------------------------------------------------
    def _ingest(self, tenant: str, key: str, entries: list[LokiEntry]) -> str:
        """Store what the stream accepts; Loki's error text for what it ignored ("" if none)."""
        labels = entries[0].labels
        name = go_label_string(labels)
        state = self.streams.setdefault((tenant, name), _Stream())
        failed: list[tuple[LokiEntry, str]] = []
        for entry in entries:
            if state.last == (entry.ts_ns, entry.line):
                continue  # an exact repeat of the last line: skipped, no error
            reason = self._order_problem(state, entry)
            if reason:
                failed.append((entry, reason))
                continue
            entry.tenant = tenant
            state.last = (entry.ts_ns, entry.line)
            state.highest = max(state.highest, entry.ts_ns)
            state.entries.append(entry)
            self.entries.append(entry)
        if not failed:
            return ""
        self.discarded["too_far_behind" if not self.strict_order else "out_of_order"] += len(failed)
        lines = [f"entry with timestamp {go_time(e.ts_ns)} ignored, reason: '{why}',\n"
                 for e, why in failed[:MAX_RETURNED_ERRORS]]
        return "".join(lines) + (f"user '{tenant}', total ignored: {len(failed)} out of "
                                 f"{len(entries)} for stream: {name}")

    def _order_problem(self, state: _Stream, entry: LokiEntry) -> str:
        if not state.highest:
            return ""
        if self.strict_order:
            return "entry out of order" if entry.ts_ns < state.highest else ""
        cutoff = state.highest - self.max_behind
        if entry.ts_ns < cutoff:
            return (f"entry too far behind, entry timestamp is: {rfc3339(entry.ts_ns)}, "
                    f"oldest acceptable timestamp is: {rfc3339(cutoff)}")
        return ""


def grouped(errors: list[str]) -> str:
    """Loki's ``util.GroupedErrors``: distinct messages ``; ``-joined with their count."""
    counts = Counter(errors)
    if len(counts) == 1 and len(errors) == 1:
        return errors[0]
    return "; ".join(f"{n} errors like: {message}" for message, n in counts.items())
