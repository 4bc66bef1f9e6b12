"""Generated lines of the Python worker layouts (``families/python_workers.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.layouts import Layout
from tests.unit.parse.families.python_values import (
    LEVELS,
    canonical,
    ips,
    level_words,
    messages,
    moments,
    names,
    plain_messages,
)

Case = tuple[str, dict[str, Any]]
NOW = "2026-01-01T00:00:00.000Z"  # the read time (test_golden.NOW)


def _asctime(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}"


def _celery(moment: datetime, word: str, process: str, message: str) -> Case:
    line = f"[{_asctime(moment)}: {word}/{process}] {message}"
    return line, {"timestamp": canonical(moment), "level": LEVELS[word], "message": message,
                  "logger": None, "attributes": {"process": process}}


def _celery_task(moment: datetime, task: str, task_id: str, runtime: float,
                 succeeded: bool) -> Case:
    event = f"succeeded in {runtime}s: None" if succeeded else "received"
    message = f"Task {task}[{task_id}] {event}"
    attributes: dict[str, Any] = {"task": task, "task_id": task_id,
                                  "process": "ForkPoolWorker-1" if succeeded else "MainProcess"}
    if succeeded:
        attributes["runtime"] = runtime
    line = f"[{_asctime(moment)}: INFO/{attributes['process']}] {message}"
    return line, {"timestamp": canonical(moment), "level": "info", "message": message,
                  "attributes": attributes}


def _ray_worker(name: str | None, pid: int, ip: str | None, message: str) -> Case:
    inside = f"{name + ' ' if name else ''}pid={pid}{', ip=' + ip if ip else ''}"
    attributes: dict[str, Any] = {"pid": pid, "process": name or "<missing>",
                                  "host": ip or "<missing>"}
    return f"({inside}) {message}", {"timestamp": NOW, "level": "info", "message": message,
                                     "attributes": attributes}


def _ray_inner_python(pid: int, word: str, logger: str, message: str) -> Case:
    line = f"(pid={pid}) {word}:{logger}:{message}"
    return line, {"level": LEVELS[word], "logger": logger, "message": message,
                  "attributes": {"pid": pid}}


def _ray_component(component: str, ip: str | None, message: str) -> Case:
    inside = component + (f", ip={ip}" if ip else "")
    return f"({inside}) {message}", {"message": message, "attributes": {
        "process": component, "host": ip or "<missing>"}}


def _autoscaler(elapsed: str, message: str) -> Case:
    return f"(autoscaler +{elapsed}) {message}", {"message": message, "attributes": {
        "process": "autoscaler", "elapsed": elapsed}}


def _ray_driver(moment: datetime, word: str, caller: str, message: str) -> Case:
    line = f"{_asctime(moment)}\t{word} {caller} -- {message}"
    return line, {"timestamp": canonical(moment), "level": LEVELS[word], "message": message,
                  "attributes": {"caller": caller}}


def _dask(logger: str, word: str, pad: int, message: str) -> Case:
    return f"{logger} - {word} - {' ' * pad}{message}", {
        "timestamp": NOW, "level": LEVELS[word], "logger": logger, "message": message}


def _dask_stamped(moment: datetime, logger: str, word: str, message: str) -> Case:
    return f"{_asctime(moment)} - {logger} - {word} - {message}", {
        "timestamp": canonical(moment), "level": LEVELS[word], "logger": logger,
        "message": message}


processes = st.one_of(st.just("MainProcess"), st.just("Beat"),
                      st.integers(1, 64).map(lambda n: f"ForkPoolWorker-{n}"))
tasks = st.from_regex(r"[a-z][a-z_]{0,8}(\.[a-z][a-z_]{0,10}){1,2}", fullmatch=True)
task_ids = st.uuids().map(str)
pids = st.integers(1, 4_194_304)
actors = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,15}", fullmatch=True)
maybe_ips = st.none() | ips
callers = st.from_regex(r"[a-z_]{1,12}\.py:[1-9][0-9]{0,3}", fullmatch=True)
dask_loggers = st.sampled_from(["distributed.worker", "distributed.scheduler",
                                "distributed.nanny", "distributed.core", "dask",
                                "distributed.shuffle._scheduler_plugin"])

LAYOUTS = [
    Layout("celery", "celery", st.builds(_celery, moments, level_words, processes, messages)),
    Layout("celery_task", "celery", st.builds(
        _celery_task, moments, tasks, task_ids,
        st.floats(1e-6, 1e4, allow_nan=False).map(lambda f: round(f, 6)), st.booleans())),
    Layout("ray_worker", "ray", st.builds(
        _ray_worker, st.none() | actors, pids, maybe_ips, plain_messages)),
    Layout("ray_worker_python_line", "ray", st.builds(
        _ray_inner_python, pids, level_words, names, messages)),
    Layout("ray_component", "ray", st.builds(
        _ray_component, st.sampled_from(["raylet", "gcs_server", "monitor",
                                         "dashboard_agent"]), maybe_ips, plain_messages)),
    Layout("ray_autoscaler", "ray", st.builds(
        _autoscaler, st.from_regex(r"([1-9][0-9]?h)?([1-9][0-9]?m)?[1-9][0-9]?s",
                                   fullmatch=True), plain_messages)),
    Layout("ray_driver", "ray", st.builds(_ray_driver, moments, level_words, callers,
                                          messages)),
    Layout("dask", "dask", st.builds(_dask, dask_loggers, level_words, st.integers(0, 9),
                                     messages)),
    Layout("dask_stamped", "text", st.builds(_dask_stamped, moments, dask_loggers,
                                             level_words, messages)),
]
