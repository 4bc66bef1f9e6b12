"""Noise presets: health checks, status polling, successful auth, chatty libraries.

One stage runs every enabled preset. Guard: a record at ``warning`` or above is never
noise, and neither is a request answered with a status of 400 or more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.filters.prescan import BatchScan, BatchTexts, Screen, ci_literal, escape
from shipper.filters.requests import Request, request_of
from shipper.filters.settings import FilterSettings
from shipper.record import WARNING_RANK, Record
from shipper.record_fields import record_rank
from shipper.stages import Fates

_AUTH_OK = re.compile(
    r"(?i)\b(?:(?:user|client|principal|account|caller|subject|token|jwt|session|api[ _-]?key|"
    r"request)\b[\w\s'\".:@-]{0,60}?\b(?:successfully\s+)?(?:authenticated|verified|validated)"
    r"|(?:authentication|authorization|verification|login|sign[ -]?in|auth)\s+"
    r"(?:succeeded|successful|success|ok)"
    r"|^\s*(?:successfully\s+)?authenticated"
    r"|successfully\s+(?:authenticated|verified|logged\s+in|signed\s+in))\b"
)
_AUTH_BAD = re.compile(
    r"(?i)\b(?:not|fail\w*|invalid|denied|den(?:y|ies)|unauthori[sz]ed|error|expired|"
    r"reject\w*|unable|cannot|could\s+not|mismatch|missing|bad|wrong|revoked)\b"
)
_LEGACY_LOGGER = re.compile(r"^(?:TRACE|DEBUG|INFO):([\w.]+):")
#: what every :data:`_LEGACY_LOGGER` match starts with (a cheap gate before the regex)
_LEGACY_STARTS = ("TRACE:", "DEBUG:", "INFO:")
#: every request a preset drops has a GET/HEAD method (any case) or a kube-probe agent
REQUEST_NEEDLES = ("get", "head", "kube-probe/")
#: every _AUTH_OK match holds one of these (case-insensitive)
AUTH_NEEDLES = ("auth", "verifi", "validated", "login", "logged", "sign")


def route_regex(routes: list[str]) -> re.Pattern[str]:
    """Routes like ``/jobs/{id}`` -> one regex matching a path that ends with any of them
    (``{name}`` = one path segment; a route also matches under any prefix)."""
    return re.compile(rf"^(?:/.*)?(?:{_route_alternatives(routes)})/?$")


def _route_alternatives(routes: list[str]) -> str:
    parts = []
    for route in routes:
        pieces = re.split(r"\{[^{}/]*\}", route.rstrip("/") or "/")
        parts.append("[^/]+".join(re.escape(piece) for piece in pieces))
    return "|".join(parts)


def route_matcher(routes: list[str]) -> Callable[[str], bool]:
    """``path -> bool``, the same answer as ``route_regex(routes).match(path)``, faster:
    the routes are searched for at the end of the path (every route starts with ``/``,
    so a match further in needs a prefix that starts with ``/`` and holds no newline)."""
    tail = re.compile(rf"(?:{_route_alternatives(routes)})/?$")

    def matches(path: str) -> bool:
        found = tail.search(path)
        if found is None:
            return False
        start = found.start()
        return start == 0 or (path[0] == "/" and "\n" not in path[:start])

    return matches


def logger_regex(loggers: list[str]) -> re.Pattern[str] | None:
    if not loggers:
        return None
    names = "|".join(re.escape(name) for name in loggers)
    return re.compile(rf"^(?:{names})(?:\.|$)")


def _ok(request: Request) -> bool:
    status = request[2]
    return status is not None and status < 400


class NoiseStage:
    """Drops noise with ``fates.dropped(record, "noise", <preset name>)``."""

    def __init__(self, settings: FilterSettings, fates: Fates) -> None:
        enabled = set(settings.presets.enabled())
        self._fates = fates
        self._health = route_matcher(settings.health_paths) if "health" in enabled else None
        self._polling = route_matcher(settings.polling_routes) if "polling" in enabled else None
        self._auth = "auth_success" in enabled
        third_party = "third_party" in enabled
        self._loggers = logger_regex(settings.third_party_loggers) if third_party else None
        self._requests = self._health is not None or self._polling is not None
        self._scan = self._batch_scan(settings.third_party_loggers)
        self._screen: Screen | None = None

    def _batch_scan(self, loggers: list[str]) -> BatchScan | None:
        """One RE2 pattern matching every raw line an enabled preset could drop."""
        parts = [r"\\"]
        if self._requests:
            parts += [ci_literal(word) for word in REQUEST_NEEDLES]
        if self._auth:
            parts += [ci_literal(word) for word in AUTH_NEEDLES]
        if self._loggers is not None:
            parts += [escape(name) for name in loggers]
        scan = BatchScan("|".join(parts))
        return scan if scan.usable else None

    @property
    def batch_scan(self) -> BatchScan | None:
        return self._scan

    def prepare(self, records: list[Record], extra: dict[str, Any] | None = None,
                texts: BatchTexts | None = None, facts: object = None) -> None:
        """Pre-scan a batch (``texts``: its raw lines, when the caller has them already):
        records whose raw line no preset could match pass until :meth:`release` (with
        ``extra`` attributes added after parsing, none do)."""
        self._screen = None
        if self._scan is None or extra:
            return
        hits = self._scan.hits(texts if texts is not None else BatchTexts.of_records(records))
        if hits is not None:
            self._screen = Screen(records, hits)

    def release(self) -> None:
        """End of the batch: forget the pre-scan (ids are only unique while it lives)."""
        self._screen = None

    @property
    def active(self) -> bool:
        return self._requests or self._auth or self._loggers is not None

    def process_batch(self, records: list[Record], dropped: set[int]) -> None:
        """Drop the noise of a batch: the indices of the records it drops go into
        ``dropped`` (records already in it are gone). After :meth:`prepare` of the same
        list, only the records the pre-scan could not clear are looked at."""
        screen = self._screen
        for i in range(len(records)) if screen is None else screen.to_check(records):
            if i not in dropped and self._judge(records[i]) is None:
                dropped.add(i)

    def __call__(self, record: Record) -> Record | None:
        if self._screen is not None and self._screen.cleared(record):
            return record
        return self._judge(record)

    def _judge(self, record: Record) -> Record | None:
        if record_rank(record) >= WARNING_RANK:
            return record
        preset = self.classify(record)
        if preset is None:
            return record
        self._fates.dropped(record, "noise", preset)
        return None

    def classify(self, record: Record) -> str | None:
        """Name of the preset that calls this (below-warning) record noise, else ``None``."""
        if self._loggers is not None and self._third_party(record):
            return "third_party"
        if self._requests:
            request = request_of(record)
            if request is not None and _ok(request):
                return self._request_preset(request)
        if self._auth and _auth_success(record.get("message")):
            return "auth_success"
        return None

    def _third_party(self, record: Record) -> bool:
        logger = record.get("logger")
        if not isinstance(logger, str):
            raw = record.raw
            match = _LEGACY_LOGGER.match(raw) if isinstance(raw, str) \
                and raw.startswith(_LEGACY_STARTS) else None
            logger = match.group(1) if match else None
        return logger is not None and self._loggers.match(logger) is not None  # type: ignore[union-attr]

    def _request_preset(self, request: Request) -> str | None:
        method, path, _status, agent = request
        if self._health is not None:
            if agent.startswith("kube-probe/"):
                return "health"
            if method in ("GET", "HEAD") and self._health(path):
                return "health"
        if self._polling is not None and method == "GET" and self._polling(path):
            return "polling"
        return None


def _auth_success(message: object) -> bool:
    if not isinstance(message, str) or len(message) > 500:
        return False
    return _AUTH_OK.search(message) is not None and _AUTH_BAD.search(message) is None

