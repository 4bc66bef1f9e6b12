"""The ``noise_drops`` kernel: the compiled kernel makes exactly its pure twin's calls, and
drops what ``NoiseStage.classify`` (the reference) calls noise, with the same preset,
on parsed lines of the bench corpus's noise layouts, their near misses (status 400/500,
WARN level, POST, ``/healthz`` and health-like paths, lower-case methods, queries, JSON
escapes, legacy ``INFO:logger:`` prefixes), the golden corpus's lines and generated
records. The usual noise layouts are judged by the kernel itself (``classify`` is not
called)."""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.filters.presets import NoiseStage
from shipper.filters.settings import FilterSettings
from shipper.kernels import pure_noise
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.record import Record
from shipper.stages import RecordingFates

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: only the twin against the reference
    compiled = None  # type: ignore[assignment]

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus"
TS = "2025-07-06T10:30:00Z"
IP = "10.42.1.2"
PATHS = ["/health", "/healthz", "/health/", "/healthcheck", "/api/health", "/health?x=1",
         "/api/v1/jobs/job-1", "/api/v1/jobs/", "/jobs", "/status", "/statusx", "/h#f",
         "http://h/healthz", "/livez/x", "/"]
METHODS = ["GET", "HEAD", "POST", "get", "Get", "DELETE"]
STATUSES = ["200", "204", "301", "399", "400", "404", "500", "503"]
LEVELS = ["INFO", "DEBUG", "WARN", "WARNING", "ERROR", "info"]


def _layouts(method: str, path: str, status: str, level: str) -> list[str]:
    """The bench corpus's noise layouts (``gen_corpus.noise_line``) with these parts."""
    event = f"{method} {path} {status}"
    return [
        f'{IP} - - [06/Jul/2025:10:30:00 +0000] "{method} {path} HTTP/1.1" {status} 2 "-" '
        f'"kube-probe/1.29"',
        f'{IP} - - [06/Jul/2025:10:30:00 +0000] "{method} {path} HTTP/1.1" {status} 2 "-" '
        f'"curl/8"',
        f'{level}:     {IP}:5000 - "{method} {path} HTTP/1.1" {status} OK',
        f"{TS} {event}",
        f"{TS} {level} {event} 1.2ms",
        orjson.dumps({"timestamp": TS, "level": level.lower(), "event": event,
                      "client": IP, "duration_ms": 1.5}).decode(),
        orjson.dumps({"timestamp": TS, "level": level.lower(), "method": method, "path": path,
                      "status": int(status), "user_agent": "kube-probe/1.31"}).decode(),
    ]


def _auth_lines() -> list[str]:
    out = []
    for level, message in product(LEVELS, ["User authenticated", "User not authenticated",
                                           "login successful", "GET /x 200 authenticated"]):
        out.append(f"{TS} {level} {message} user_id=u-1 method=jwt")
        out.append(orjson.dumps({"timestamp": TS, "level": level.lower(), "event": message,
                                 "user_id": "u-1"}).decode())
    return out + ["INFO:urllib3.connectionpool:Starting new HTTPS connection",
                  "INFO:app:GET /health 200", "DEBUG:     GET /health 200",
                  '{"level":"info","event":"GET \\/health 200"}',
                  '{"level":"info","event":"GET /health 200","logger":"uvicorn.access"}']


def noise_lines() -> list[str]:
    lines = [line for method, path, status, level in product(METHODS, PATHS, STATUSES, LEVELS)
             for line in _layouts(method, path, status, level)]
    return lines + _auth_lines()


def corpus_lines() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return [line for path in sorted(CORPUS.glob("*/input/**/*")) if path.is_file()
            for line in path.read_text(errors="replace").splitlines()]


def parse(lines: list[str]) -> list[Record]:
    parser = FileParser("/a.log", ParseSettings(), ParseCounts(), clock=lambda: 1.7e9)
    records = parser.feed([(i, line.encode()) for i, line in enumerate(lines)])
    return records + parser.flush(force=True)


def _stage(filters: FilterSettings | None = None) -> NoiseStage:
    return NoiseStage(filters or FilterSettings(), RecordingFates())


Event = tuple[str, int, str | None]


def _run(kernel: Any, records: list[Any], stage: NoiseStage, dropped: set[int]) -> list[Event]:
    """``kernel``'s calls of ``classify`` and ``drop``, in order, and what it drops."""
    events: list[Event] = []
    position = {id(record): i for i, record in enumerate(records)}

    def classify(record: Any) -> str | None:
        preset = stage.classify(record)
        events.append(("classify", position[id(record)], preset))
        return preset

    def drop(record: Any, reason: str, preset: str) -> None:
        assert reason == "noise"
        events.append(("drop", position[id(record)], preset))

    out = set(dropped)
    assert stage.judge is not None
    kernel(records, list(range(len(records))), out, stage.judge, classify, drop)
    assert out == dropped | {i for kind, i, _ in events if kind == "drop"}
    return events


def _check(records: list[Any], stage: NoiseStage,
           dropped: set[int] | None = None) -> list[Event]:
    """Twin and kernel make the same calls; the drops are the reference loop's (every
    record not dropped and below warning classified, in order), with the same presets."""
    if dropped is None:
        dropped = {len(records) - 1} if records else set()
    seen = dict(stage._auth_seen)  # what classify remembers decides what it is asked
    twin = _run(pure_noise.noise_drops, records, stage, dropped)
    if compiled is not None:
        stage._auth_seen.clear()
        stage._auth_seen.update(seen)
        assert _run(compiled.noise_drops, records, stage, dropped) == twin
    reference = [("drop", i, stage.classify(record)) for i, record in enumerate(records)
                 if i not in dropped
                 and record.get("level", "info") not in ("warning", "error", "critical")
                 and stage.classify(record) is not None]
    assert [event for event in twin if event[0] == "drop"] == reference
    return twin


def test_noise_layouts_and_near_misses_are_judged_as_classify_judges() -> None:
    records = parse(noise_lines())
    stage = _stage()
    _check(records, stage)
    _check(records, stage)  # the auth verdicts classify remembered are read now


def test_the_bench_noise_layouts_are_judged_by_the_kernel() -> None:
    """The drops the bench corpus makes are decided without ``classify`` (once the auth
    verdicts are remembered): the kernel pays where the noise is."""
    lines = _layouts("GET", "/health", "200", "INFO") + _layouts(
        "GET", "/api/v1/jobs/job-1", "200", "INFO")[3:6] + _auth_lines()[:2]
    records = parse(lines)
    stage = _stage()
    for record in records:
        stage.classify(record)
    events = _check(records, stage, set())
    assert [kind for kind, _, _ in events] == ["drop"] * 12
    assert [preset for _, _, preset in events] == [
        "health", "health", "health", "health", "health", "health", "health",
        "polling", "polling", "polling", "auth_success", "auth_success"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared golden corpus is not here")
def test_golden_corpus_lines_are_judged_as_classify_judges() -> None:
    records = parse(corpus_lines())
    assert records
    stage = _stage()
    _check(records, stage)
    _check(records, stage)


def test_settings_whose_routes_need_the_regex_use_no_kernel() -> None:
    odd = FilterSettings.model_validate({"health_paths": ["/v1/{a}/{b}/poll"]})
    assert _stage(odd).judge is None
    assert _stage(FilterSettings.model_validate({"health_paths": []})).judge is None
    assert _stage().judge is not None


_VALUES: Any = st.one_of(
    st.none(), st.booleans(), st.integers(100, 599), st.floats(100, 599, allow_nan=False),
    st.sampled_from(["GET", "get", "HEAD", "POST", "200", "", "kube-probe/1.31", "curl/8",
                     "/health", "/healthz/", "/jobs/1", "/x?y", "/a\n", "health", "/"]))
_ATTRS = st.dictionaries(st.sampled_from(
    ["method", "path", "status", "user_agent", "url", "status_code", "http", "client"]),
    _VALUES, max_size=5)


class _Str(str):
    """A string subclass (the kernel hands such values back)."""


@st.composite
def records(draw: st.DrawFn) -> Record:
    record = Record({"level": draw(st.sampled_from(["info", "debug", "warning", "INFO"])),
                     "message": draw(st.sampled_from(
                         ["User authenticated", "GET /health 200", "x", "", None, 7,
                          _Str("User authenticated"), "HEAD /ping 204 ok"])),
                     "attributes": draw(st.one_of(st.none(), _ATTRS))})
    if draw(st.booleans()):
        record["logger"] = draw(st.sampled_from(["urllib3", "app", 3, _Str("asyncio")]))
    record.raw = draw(st.sampled_from([None, "INFO:     x", "INFO:urllib3:x", "x", "INFO:",
                                       _Str("DEBUG: y")]))
    return record


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records(), max_size=10),
       presets=st.lists(st.sampled_from(["health", "polling", "auth_success", "third_party"]),
                        unique=True))
def test_generated_records_are_judged_as_classify_judges(batch: list[Record],
                                                         presets: list[str]) -> None:
    stage = _stage(FilterSettings.model_validate({"presets": presets}))
    for record in batch:
        stage.classify(record)
    _check(batch, stage)
