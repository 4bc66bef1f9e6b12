"""Python job workers, as they log by default.

* Celery: ``[2026-01-02 10:00:00,123: INFO/MainProcess] msg`` (``process``); task events
  ``Task tasks.add[<id>] received|succeeded in 0.5s: 3|retry: ...|raised unexpected: ...``
  and task-logger lines ``tasks.add[<id>]: msg`` give ``task``, ``task_id`` and (succeeded)
  ``runtime`` in seconds. Tracebacks join the record (``multiline``); the banner is text.
* Ray: the prefixes Ray puts on worker output, ``(raylet)``, ``(pid=1234)``,
  ``(MyActor pid=1234, ip=10.0.0.1)``, ``(autoscaler +2s)``: ``process``, ``pid``,
  ``host``, ``elapsed`` and Ray's ``[repeated 3x across cluster]`` (``repeated``) into the
  attributes, the rest parsed as its own line; and Ray's own logging format
  ``2026-01-02 10:00:00,123\\tINFO worker.py:1724 -- msg`` (``caller``).
* Dask: ``distributed.worker - INFO - msg`` (no time; the timestamped variant is the
  ``asctime - name - LEVEL - msg`` layout of text.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse.access import small_int
from shipper.parse.levels import normalize_level
from shipper.parse.partial import partial_record
from shipper.parse.timestamps import TimestampNormalizer

Parsed = tuple[str, dict[str, Any]]

_CELERY = re.compile(
    r"\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}): ([A-Z]+)/([\w\-]+)\] ?(.*)",
    re.S | re.ASCII)
_TASK_EVENT = re.compile(
    r"Task ([\w.:\-]+)\[([^\]\s]+)\] (?:succeeded in (\d+(?:\.\d+)?(?:e-?\d+)?)s: )?")
_TASK_LOGGER = re.compile(r"([\w.:\-]+)\[([0-9a-fA-F\-]{8,})\]: ")
_RAY_COMPONENTS = (r"raylet|gcs_server|monitor|log_monitor|dashboard|dashboard_agent|"
                   r"runtime_env_agent|ray_client_server|autoscaler|core_worker|plasma_store")
_RAY = re.compile(
    r"\((?:(?P<name>[^\s=()][^\s=]{0,200}) )?pid=(?P<pid>\d+)(?:, ip=(?P<ip>[\w.:]+))?\)"
    r"|\((?P<component>" + _RAY_COMPONENTS + r")(?:, ip=(?P<cip>[\w.:]+))?\)"
    r"|\(autoscaler \+(?P<elapsed>[\dhms.]+)\)", re.ASCII)
_REPEATED = re.compile(r" \[repeated (\d+)x across cluster\]$", re.ASCII)
_RAY_DRIVER = re.compile(r"\t([A-Z]+) ([\w.\-<>]+:\d+) -- (.*)", re.S | re.ASCII)
#: loggers Dask's default logging config formats as ``name - LEVEL - msg``
DASK_PREFIXES = ("distributed", "dask", "bokeh", "tornado")
_DASK = re.compile(r"((?:distributed|dask|bokeh|tornado)(?:\.[\w]+)*) - ([A-Z]+) - ?(.*)",
                   re.S | re.ASCII)


def celery(text: str, stamps: TimestampNormalizer) -> Parsed | None:
    """``[asctime: LEVEL/processName] message`` (Celery's worker and task formats)."""
    match = _CELERY.match(text)
    if match is None:
        return None
    date, clock, frac, word, process, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    stamp = stamps.from_iso_parts(date, clock, frac, None)
    record = partial_record(stamp, level, message, None)
    attributes = record["attributes"]
    attributes["process"] = process
    if not stamp:
        attributes["invalid_timestamp"] = f"{date} {clock},{frac}"
    _task_fields(message, attributes)
    return "celery", record


def _task_fields(message: str, attributes: dict[str, Any]) -> None:
    match = _TASK_EVENT.match(message) if message[:5] == "Task " else None
    if match is not None:
        attributes["task"], attributes["task_id"], runtime = match.groups()
        if runtime is not None:
            attributes["runtime"] = float(runtime)
        return
    match = _TASK_LOGGER.match(message) if "]: " in message else None
    if match is not None:
        attributes["task"], attributes["task_id"] = match.groups()


def ray(text: str, parse: Callable[[str], Parsed]) -> Parsed | None:
    """A line Ray prefixed with the process that wrote it; the rest parsed by ``parse``."""
    match = _RAY.match(text)
    if match is None:
        return None
    rest = text[match.end():]
    rest = rest[1:] if rest[:1] == " " else rest
    repeated = _REPEATED.search(rest) if rest[-1:] == "]" else None
    if repeated is not None:
        rest = rest[:repeated.start()]
    if rest[:1] == "(" or not rest.strip():  # never a second prefix: no recursion
        record = partial_record(None, None, rest.strip(), None)
    else:
        record = parse(rest)[1]
    attributes = record["attributes"]
    # the prefix's fields, in this order (``update`` moves none already there)
    name, pid, ip, component, cip, elapsed = match.groups()  # _RAY's groups, in order
    if elapsed is not None:
        attributes.update(process="autoscaler", elapsed=elapsed)
    elif component is not None:
        attributes["process"] = component
        ip = cip
    else:
        attributes["pid"] = small_int(pid)
        if name:
            attributes["process"] = name
    if ip:
        attributes["host"] = ip
    if repeated is not None:
        attributes["repeated"] = int(repeated.group(1))
    return "ray", record


def ray_prefix(text: str) -> bool:
    """True when ``text`` is a Ray prefix and a space, nothing else."""
    match = _RAY.match(text)
    return match is not None and text[match.end():] == " "


def ray_driver(stamp: str | None, rest: str) -> Parsed | None:
    """``\\tLEVEL file.py:N -- msg`` after the time (Ray's own logging format)."""
    match = _RAY_DRIVER.match(rest)
    if match is None:
        return None
    word, caller, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    record = partial_record(stamp, level, message, None)
    record["attributes"]["caller"] = caller
    return "ray", record


def dask(text: str) -> Parsed | None:
    """``distributed.worker - INFO - msg`` (Dask's default, no time)."""
    match = _DASK.match(text)
    if match is None:
        return None
    logger, word, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    return "dask", partial_record(None, level, message.strip(" "), logger)
