"""Generated lines of the Python web layouts (``shipper/parse/families/python_web.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.layouts import Layout
from tests.unit.parse.families.python_values import (
    LEVELS,
    MONTHS,
    canonical,
    ips,
    level_words,
    local,
    messages,
    methods,
    moments,
    offsets,
    paths,
    status_level,
    statuses,
)

Case = tuple[str, dict[str, Any]]


def _uvicorn(word: str, message: str) -> Case:
    return f"{word + ':':<9} {message}", {"level": LEVELS[word], "message": message,
                                          "logger": None}


def _uvicorn_access(ip: str, port: int, method: str, path: str, status: int) -> Case:
    line = f'INFO:     {ip}:{port} - "{method} {path} HTTP/1.1" {status} OK'
    return line, {"level": "info", "attributes": {
        "client": f"{ip}:{port}", "method": method, "path": path, "status": status}}


def _gunicorn(moment: datetime, minutes: int, pid: int, word: str, message: str) -> Case:
    seen, zone = local(moment.replace(microsecond=0), minutes)
    line = f"[{seen:%Y-%m-%d %H:%M:%S} {zone}] [{pid}] [{word}] {message}"
    return line, {"timestamp": canonical(moment, millis=False), "level": LEVELS[word],
                  "message": message, "logger": None, "attributes": {"pid": pid}}


def _combined(ip: str, moment: datetime, method: str, path: str, status: int, size: int,
              agent: str) -> Case:
    stamp = f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"
    line = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}"'
    return line, {"timestamp": canonical(moment, millis=False), "level": status_level(status),
                  "attributes": {"client": ip, "method": method, "path": path,
                                 "status": status, "bytes": size, "user_agent": agent}}


def _flask(moment: datetime, word: str, module: str, message: str) -> Case:
    line = f"[{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}] {word} in " \
           f"{module}: {message}"
    return line, {"timestamp": canonical(moment), "level": LEVELS[word], "logger": module,
                  "message": message}


def _server_time(moment: datetime) -> str:
    return f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment:%Y %H:%M:%S}"


def _django_request(moment: datetime, method: str, path: str, status: int,
                    size: int) -> Case:
    message = f'"{method} {path} HTTP/1.1" {status} {size}'
    return f"[{_server_time(moment)}] {message}", {
        "timestamp": canonical(moment, millis=False), "level": status_level(status),
        "message": message,
        "attributes": {"method": method, "path": path, "status": status, "bytes": size}}


def _django_message(moment: datetime, message: str) -> Case:
    return f"[{_server_time(moment)}] {message}", {
        "timestamp": canonical(moment, millis=False), "level": "info", "message": message}


def _django_verbose(word: str, moment: datetime, module: str, pid: int, thread: int,
                    message: str) -> Case:
    line = (f"{word} {moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d} {module} "
            f"{pid} {thread} {message}")
    return line, {"timestamp": canonical(moment), "level": LEVELS[word], "logger": module,
                  "message": message, "attributes": {"pid": pid, "thread": str(thread)}}


def _werkzeug(ip: str, moment: datetime, method: str, path: str, status: int,
              behind_logging: bool) -> Case:
    request = f'{ip} - - [{_server_time(moment)}] "{method} {path} HTTP/1.1" {status} -'
    expected: dict[str, Any] = {
        "timestamp": canonical(moment, millis=False),
        "attributes": {"client": ip, "method": method, "path": path, "status": status}}
    if behind_logging:
        expected.update(level="info", logger="werkzeug", message=request)
        return f"INFO:werkzeug:{request}", expected
    expected.update(level=status_level(status), message=request)
    return request, expected


modules = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
pids = st.integers(1, 4_194_304)
seconds = moments.map(lambda m: m.replace(microsecond=0))

LAYOUTS = [
    Layout("uvicorn", "uvicorn", st.builds(_uvicorn, level_words, messages)),
    Layout("uvicorn_access", "access", st.builds(
        _uvicorn_access, ips, st.integers(1024, 65535), methods, paths, statuses)),
    Layout("gunicorn_error", "gunicorn", st.builds(
        _gunicorn, moments, offsets, pids, level_words, messages)),
    Layout("gunicorn_access", "access", st.builds(
        _combined, ips, seconds, methods, paths, statuses, st.integers(0, 10**9),
        st.sampled_from(["curl/8.5.0", "python-requests/2.31.0", "kube-probe/1.31"]))),
    Layout("flask", "flask", st.builds(_flask, moments, level_words, modules, messages)),
    Layout("django_server_request", "access", st.builds(
        _django_request, seconds, methods, paths, statuses, st.integers(0, 10**6))),
    Layout("django_server_message", "django", st.builds(_django_message, seconds, messages)),
    Layout("django_verbose", "django", st.builds(
        _django_verbose, level_words, moments, modules, pids, st.integers(1, 2**47),
        messages)),
    Layout("werkzeug", "access", st.builds(
        _werkzeug, ips, seconds, methods, paths, statuses, st.just(False))),
    Layout("werkzeug_logging", "access", st.builds(
        _werkzeug, ips, seconds, methods, paths, statuses, st.just(True))),
]
