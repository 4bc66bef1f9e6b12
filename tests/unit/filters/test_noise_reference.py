"""The noise stage's verdicts against the reference judge (main ``ff7111d``'s, kept here
verbatim in its plain form): same records dropped, same ``reason``/preset, whatever the
level, the request spelling, the presets switched on and the routes configured."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.filters.presets import (
    NoiseStage,
    _auth_success,
    logger_regex,
    route_matcher,
    route_regex,
)
from shipper.filters.requests import Request, request_of
from shipper.filters.settings import FilterSettings
from shipper.record import LEVEL_RANK, WARNING_RANK, Record
from shipper.stages import RecordingFates

from .conftest import make_record


class ReferenceJudge:
    """The judge as it was before the inline reading: ``request_of`` for every record,
    ``route_regex`` for routes, the auth regexes every time, ranks by ``LEVEL_RANK``."""

    def __init__(self, settings: FilterSettings) -> None:
        on = set(settings.presets.enabled())
        self.health = route_regex(settings.health_paths) if "health" in on else None
        self.polling = route_regex(settings.polling_routes) if "polling" in on else None
        self.auth = "auth_success" in on
        self.loggers = logger_regex(settings.third_party_loggers) if "third_party" in on else None

    def verdict(self, record: Record) -> str | None:
        if LEVEL_RANK.get(record.get("level", "info"), LEVEL_RANK["info"]) >= WARNING_RANK:
            return None
        if self.loggers is not None:
            logger = record.get("logger")
            if not isinstance(logger, str):
                import re
                raw = record.raw
                match = re.match(r"^(?:TRACE|DEBUG|INFO):([\w.]+):", raw) \
                    if isinstance(raw, str) else None
                logger = match.group(1) if match else None
            if logger is not None and self.loggers.match(logger):
                return "third_party"
        if self.health is not None or self.polling is not None:
            request = request_of(record)
            if request is not None and request[2] is not None and request[2] < 400:
                return self.request_preset(request)
        if self.auth and _auth_success(record.get("message")):
            return "auth_success"
        return None

    def request_preset(self, request: Request) -> str | None:
        method, path, _status, agent = request
        if self.health is not None:
            if agent.startswith("kube-probe/"):
                return "health"
            if method in ("GET", "HEAD") and self.health.match(path):
                return "health"
        if self.polling is not None and method == "GET" and self.polling.match(path):
            return "polling"
        return None


PATHS = ["/health", "/healthz/", "/api/v1/jobs/j-1", "/jobs/", "/tasks/7/", "/status",
         "http://h:8/readyz?x=1", "https://h", "/x?y#z", "", "/a\n", "health", "/ping\n",
         "/login", "/jobs/1/status", "/metricsx", "/v1/custom/42/poll", "#f", "/"]
VALUES: Any = st.one_of(
    st.none(), st.booleans(), st.integers(100, 599), st.floats(100, 599, allow_nan=False),
    st.sampled_from(["GET", "get", "HEAD", "Head", "POST", "200", " 204 OK", "5xx", "",
                     "kube-probe/1.31", "curl/8"]),
    st.sampled_from(PATHS))
REQUEST_KEYS = st.sampled_from([
    "method", "path", "status", "user_agent", "url", "uri", "status_code", "http.method",
    "http.status_code", "userAgent", "verb", "http", "request", "client", "user_id"])
ATTRS = st.dictionaries(REQUEST_KEYS, st.one_of(
    VALUES, st.dictionaries(st.sampled_from(["method", "url", "status_code", "path"]), VALUES,
                            max_size=3)), max_size=5)
MESSAGES = st.one_of(st.sampled_from([
    "GET /healthz 200 0.4ms", "User authenticated", "user authentication failed",
    "token verified", "login successful", "GET /api/v1/jobs/x 200", "HEAD /readyz 204",
    '1.2.3.4 - - "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"', "POST /jobs/1 200",
    "GET /health 503", "GET http://h/status?x 200", "", "x" * 501 + " authenticated"]),
    st.text(max_size=40))
LEVELS = st.sampled_from(["trace", "debug", "info", "warning", "error", "critical", "INFO",
                          "verbose", None])
RAWS = st.one_of(st.none(), st.sampled_from([
    "INFO:urllib3.connectionpool:Starting", "DEBUG:app:x", "INFO:     10.0.0.1 - GET /",
    "TRACE:botocore.hooks:event"]))
LOGGERS = st.one_of(st.none(), st.sampled_from(["urllib3.connectionpool", "botocore", "app",
                                                "asyncio", "urllib3x", 7]))
ROUTES = st.lists(st.sampled_from(["/health", "/healthz", "/jobs/{id}", "/tasks/{id}/", "/status",
                                   "/", "/health/live", "/v1/{a}/{b}/poll", "/x{id}", "/{id}",
                                   "/a/{id}.json", "/login"]), max_size=4)
SETTINGS = st.builds(
    lambda presets, health, polling, loggers: FilterSettings.model_validate(
        {"presets": presets, **({"health_paths": health} if health is not None else {}),
         **({"polling_routes": polling} if polling is not None else {}),
         "third_party_loggers": loggers}),
    st.lists(st.sampled_from(["health", "polling", "auth_success", "third_party"]), unique=True),
    st.one_of(st.none(), ROUTES), st.one_of(st.none(), ROUTES),
    st.lists(st.sampled_from(["urllib3", "botocore", "asyncio", "app.db"]), max_size=3))


def _record(message: Any, level: Any, attrs: Any, raw: Any, logger: Any) -> Record:
    record = make_record("", attrs=attrs)
    record["message"] = message
    if level is None:
        del record["level"]
    else:
        record["level"] = level
    if logger is not None:
        record["logger"] = logger
    record.raw = raw
    return record


BATCH = st.lists(st.builds(_record, MESSAGES, LEVELS, ATTRS, RAWS, LOGGERS), max_size=12)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_=SETTINGS, batch=BATCH)
@example(settings_=FilterSettings(), batch=[_record("User authenticated", "info",
         {"method": "GET", "path": "/login", "status": 200}, None, None)])
def test_noise_verdicts_are_the_reference_judges(settings_, batch):
    """Per record and per batch, the stage drops exactly what the reference judge calls
    noise, with the same preset, and never a record at warning or above."""
    reference = ReferenceJudge(settings_)
    expected = [reference.verdict(record) for record in batch]
    fates = RecordingFates()
    stage = NoiseStage(settings_, fates)
    for record, preset in zip(batch, expected, strict=True):
        assert (stage(record) is None) is (preset is not None)
        assert fates.reset() == ([("dropped", "noise", preset)] if preset else [])
    for _ in range(2):  # the second pass answers from what the first one remembered
        dropped: set[int] = set()
        stage.process_batch(batch, dropped)
        assert dropped == {i for i, preset in enumerate(expected) if preset}
        assert fates.reset() == [("dropped", "noise", p) for p in expected if p]


_SEGMENTS = ["/", "health", "healthz", "jobs", "tasks", "7", "status", "live", "x", "\n", "",
             "api", "v1", "poll", "a", "{id}", ".json", "//", "login"]


@settings(max_examples=400, deadline=None)
@given(path=st.lists(st.sampled_from(_SEGMENTS), max_size=7).map("".join), routes=ROUTES)
@example(path="/a/7.json/", routes=["/a/{id}.json"])
@example(path="/v1/x/y/poll", routes=["/v1/{a}/{b}/poll"])
@example(path="/jobs//", routes=["/jobs/{id}"])
@example(path="/7", routes=["/{id}"])
def test_route_matcher_kinds_answer_like_the_route_regex(path, routes):
    """Literal routes, routes ending in a placeholder segment and every other shape (a
    placeholder inside a segment, several placeholders, an empty list) match exactly the
    paths the anchored regex matches."""
    assert route_matcher(routes)(path) == (route_regex(routes).match(path) is not None)
