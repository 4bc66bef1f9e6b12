"""Noise presets: health checks, status polling, successful auth, chatty libraries.

One stage runs every enabled preset. Guard: a record at ``warning`` or above is never
noise, and neither is a request answered with a status of 400 or more.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from shipper.filters.prescan import BatchScan, BatchTexts, Screen, ci_literal, escape
from shipper.filters.requests import (
    SECONDARY_KEYS,
    Request,
    from_text,
    path_of,
    request_of,
    status_of,
)
from shipper.filters.routes import kernel_routes
from shipper.filters.routes import route_matcher as route_matcher
from shipper.filters.routes import route_regex as route_regex
from shipper.filters.settings import FilterSettings
from shipper.kernels import IMPLEMENTATION, noise_drops
from shipper.kernels.pure_noise import NoiseJudge
from shipper.record import LEVEL_RANK, WARNING_RANK, Record
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
#: levels never noise (a level not named here, or none, ranks as ``info``)
_LOUD = frozenset(name for name, rank in LEVEL_RANK.items() if rank >= WARNING_RANK)
_GET_HEAD = ("GET", "HEAD")
#: the request presets' answer for a record that logs no request answered below 400
#: (the auth preset decides then); preset names are never empty
NOT_A_REQUEST = ""
#: messages longer than this are never successful-auth noise
AUTH_MAX_LEN = 500
#: the auth verdicts of at most this many messages are remembered (per stage)
SEEN_MAX = 256


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
        #: the drops of the batch's lines skipped unparsed (:mod:`shipper.filters.raw_noise`):
        #: ``(records before it, preset)`` in order, reported for ``raw_record``
        self.raw_drops: list[tuple[int, str]] = []
        self.raw_record = Record()
        self._auth_seen: dict[str, bool] = {}
        #: the presets as ``noise_drops`` reads them, when the compiled kernel is live
        #: (the pure twin, the reference, costs more than the loop here: tests use it)
        self.judge = self._kernel_judge(settings)
        self._judge = self.judge if IMPLEMENTATION == "compiled" else None

    def _kernel_judge(self, settings: FilterSettings) -> NoiseJudge | None:
        """The presets as ``noise_drops`` reads them; ``None`` (every record classified
        here) when a route matcher needs its regex."""
        health = kernel_routes(settings.health_paths) if self._health is not None else None
        polling = kernel_routes(settings.polling_routes) if self._polling is not None else None
        if (health is None) != (self._health is None) or \
                (polling is None) != (self._polling is None):
            return None
        return NoiseJudge(_LOUD, self._loggers is not None, self._requests, health, polling,
                          self._auth, self._auth_seen, SECONDARY_KEYS)

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

    @property
    def requests(self) -> bool:
        """Whether a request preset (health, polling) is on."""
        return self._requests

    def process_batch(self, records: list[Record], dropped: set[int]) -> None:
        """Drop the noise of a batch: the indices of the records it drops go into
        ``dropped`` (records already in it are gone). After :meth:`prepare` of the same
        list, only the records the pre-scan could not clear are looked at. The kernel
        ``noise_drops`` is this loop, judging the usual shapes itself (the records it
        cannot judge are classified here), in the same order. The drops of lines skipped
        unparsed (``raw_drops``) are reported in their places among the others."""
        screen = self._screen
        to_check = range(len(records)) if screen is None else screen.to_check(records)
        if not self.raw_drops:
            self._drop_noise(records, to_check, dropped)
            return
        checks, start, raw = list(to_check), 0, self.raw_drops
        record, drop = self.raw_record, self._fates.dropped
        while raw:
            at, preset = raw[0]
            stop = bisect_left(checks, at, start)
            if stop > start:
                self._drop_noise(records, checks[start:stop], dropped)
                start = stop
            del raw[0]
            drop(record, "noise", preset)
        self._drop_noise(records, checks[start:], dropped)

    def report_raw(self) -> None:
        """Report the drops left in ``raw_drops`` (the batch did not reach this stage's
        batch form) and forget them."""
        raw, self.raw_drops = self.raw_drops, []
        for _at, preset in raw:
            self._fates.dropped(self.raw_record, "noise", preset)

    def _drop_noise(self, records: list[Record], to_check: Iterable[int],
                    dropped: set[int]) -> None:
        classify, drop = self.classify, self._fates.dropped
        if self._judge is not None:
            noise_drops(records, list(to_check), dropped, self._judge, classify, drop)
            return
        for i in to_check:
            if i not in dropped:
                record = records[i]
                if record.get("level", "info") not in _LOUD:
                    preset = classify(record)
                    if preset is not None:
                        drop(record, "noise", preset)
                        dropped.add(i)

    def __call__(self, record: Record) -> Record | None:
        if self._screen is not None and self._screen.cleared(record):
            return record
        if record.get("level", "info") in _LOUD:
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
            preset = self._request_noise(record)
            if preset is not NOT_A_REQUEST:
                return preset
        if self._auth:
            message = record.get("message")
            known = self._auth_seen.get(message) if message.__class__ is str else None
            if known is None:
                known = self._auth_success(message)
            return "auth_success" if known else None
        return None

    def _auth_success(self, message: object) -> bool:
        """:func:`_auth_success`, remembered for up to :data:`SEEN_MAX` messages (the
        same few success messages repeat; a full table starts again)."""
        known = _auth_success(message)
        if isinstance(message, str) and len(message) <= AUTH_MAX_LEN:
            if len(self._auth_seen) >= SEEN_MAX:
                self._auth_seen.clear()
            self._auth_seen[message] = known
        return known

    def _third_party(self, record: Record) -> bool:
        logger = record.get("logger")
        if not isinstance(logger, str):
            raw = record.raw
            match = _LEGACY_LOGGER.match(raw) if isinstance(raw, str) \
                and raw.startswith(_LEGACY_STARTS) else None
            logger = match.group(1) if match else None
        return logger is not None and self._loggers.match(logger) is not None  # type: ignore[union-attr]

    def _request_noise(self, record: Record) -> str | None:
        """The request presets' answer (:data:`NOT_A_REQUEST` when the record logs no
        request answered below 400): ``request_of``'s reading, with the usual spellings
        ``method``/``path``/``status``/``user_agent`` read inline."""
        attrs = record.get("attributes")
        if attrs:
            method, target = attrs.get("method"), attrs.get("path")
            status, agent = attrs.get("status"), attrs.get("user_agent")
            if (method is None or target is None or status is None or agent is None) \
                    and not SECONDARY_KEYS.isdisjoint(attrs):
                return self._request_preset(request_of(record))
            if isinstance(method, str) and isinstance(target, str) and target:
                if status.__class__ is not int:
                    status = status_of(status)
                if status is None or status >= 400:
                    return NOT_A_REQUEST
                if target[0] != "/" or "?" in target or "#" in target:
                    target = path_of(target)
                return self._route_preset(method if method in _GET_HEAD else method.upper(),
                                          target, agent if isinstance(agent, str) else "")
        message = record.get("message")
        if isinstance(message, str) and message:
            return self._request_preset(from_text(message))
        return NOT_A_REQUEST

    def _request_preset(self, request: Request | None) -> str | None:
        if request is None or not _ok(request):
            return NOT_A_REQUEST
        method, path, _status, agent = request
        return self._route_preset(method, path, agent)

    def route_preset(self, method: str, path: str, agent: str) -> str | None:
        """The request presets' verdict on a request answered below 400 (``GET``/``HEAD``
        upper-case), ``None`` when it is not noise."""
        return self._route_preset(method, path, agent)

    def _route_preset(self, method: str, path: str, agent: str) -> str | None:
        if self._health is not None:
            if agent.startswith("kube-probe/"):
                return "health"
            if method in _GET_HEAD and self._health(path):
                return "health"
        if self._polling is not None and method == "GET" and self._polling(path):
            return "polling"
        return None


def _auth_success(message: object) -> bool:
    if not isinstance(message, str) or len(message) > AUTH_MAX_LEN:
        return False
    return _AUTH_OK.search(message) is not None and _AUTH_BAD.search(message) is None

