"""Generated JSON lines of Node and Go loggers: pino, bunyan, winston, zerolog, slog (see
``layouts.py``). All count as ``json``; each layout has its own name."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.content_jsonsrv import (
    canonical,
    hosts,
    identifiers,
    instants,
    json_messages,
    offset_text,
    offsets,
    pids,
)
from tests.unit.parse.families.layouts import Layout

_NUMERIC = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}
_WINSTON = {"error": "error", "warn": "warning", "info": "info", "http": "info",
            "verbose": "debug", "debug": "debug", "silly": "trace"}
_ZEROLOG = {"trace": "trace", "debug": "debug", "info": "info", "warn": "warning",
            "error": "error", "fatal": "critical", "panic": "critical"}
_SLOG = {"DEBUG-4": "trace", "DEBUG": "debug", "DEBUG+2": "debug", "INFO": "info",
         "INFO+2": "info", "WARN": "warning", "WARN+3": "warning", "ERROR": "error",
         "ERROR+4": "critical"}
_MISSING = "<missing>"  # ``check_line``'s value for an attribute that is not there


def _iso(moment: Any, digits: int) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + offset_text(moment)


@st.composite
def pino(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``{"level":30,"time":<epoch ms>,"pid":..,"hostname":..,"name"?,"msg":..}``; pino
    before v7 also writes ``"v":1``."""
    moment, number = draw(instants()), draw(st.sampled_from(sorted(_NUMERIC)))
    host, pid, name, message = draw(hosts), draw(pids), draw(st.none() | identifiers), draw(
        json_messages)
    obj: dict[str, Any] = {"level": number, "time": int(moment.timestamp() * 1000),
                           "pid": pid, "hostname": host}
    if name is not None:
        obj["name"] = name
    if draw(st.booleans()):
        obj["v"] = 1
    obj["msg"] = message
    return json.dumps(obj), {"timestamp": canonical(moment), "level": _NUMERIC[number],
                             "message": message, "logger": name,
                             "attributes": {"pid": pid, "host": host, "v": _MISSING}}


@st.composite
def pino_iso_error(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """pino with ``stdTimeFunctions.isoTime`` logging an ``err`` with its stack."""
    moment, message = draw(instants()), draw(json_messages)
    host, pid = draw(hosts), draw(pids)
    err = {"type": "Error", "message": message,
           "stack": f"Error: {message}\n    at run (/app/index.js:{draw(pids)}:7)"}
    obj = {"level": 50, "time": _iso(moment, 3), "pid": pid, "hostname": host, "err": err,
           "msg": message}
    return json.dumps(obj), {"timestamp": canonical(moment), "level": "error",
                             "message": message, "attributes": {"err": err, "host": host}}


@st.composite
def bunyan(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``{"name":..,"hostname":..,"pid":..,"level":..,"msg":..,"time":<ISO>,"v":0}``, with
    ``src`` when the logger was made with ``src: true``."""
    moment, number = draw(instants()), draw(st.sampled_from(sorted(_NUMERIC)))
    name, host, pid, message = draw(identifiers), draw(hosts), draw(pids), draw(json_messages)
    obj: dict[str, Any] = {"name": name, "hostname": host, "pid": pid, "level": number,
                           "msg": message, "time": _iso(moment, 3), "v": 0}
    attributes: dict[str, Any] = {"pid": pid, "host": host, "v": _MISSING}
    if draw(st.booleans()):
        line, func = draw(st.integers(1, 9999)), draw(identifiers)
        obj["src"] = {"file": f"/app/lib/{name}.js", "line": line, "func": func}
        attributes.update(caller=f"/app/lib/{name}.js:{line}", function=func, src=_MISSING)
    return json.dumps(obj), {"timestamp": canonical(moment), "level": _NUMERIC[number],
                             "message": message, "logger": name, "attributes": attributes}


@st.composite
def winston(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``{"level":"info","message":..,"service":..,"timestamp":..}`` with ``label``
    (the logger) when the ``label`` format is on."""
    moment, word = draw(instants()), draw(st.sampled_from(sorted(_WINSTON)))
    message, service, label = draw(json_messages), draw(identifiers), draw(
        st.none() | identifiers)
    obj: dict[str, Any] = {"level": word, "message": message, "service": service}
    if label is not None:
        obj["label"] = label
    obj["timestamp"] = _iso(moment, 3)
    return json.dumps(obj), {"timestamp": canonical(moment), "level": _WINSTON[word],
                             "message": message, "logger": label,
                             "attributes": {"service": service}}


@st.composite
def zerolog(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``{"level":..,"error"?:..,"time":<unix s | ms | RFC 3339>,"caller":..,"message":..}``."""
    unit = draw(st.sampled_from(["s", "ms", "rfc3339"]))
    moment = draw(instants(digits=0 if unit in ("s", "rfc3339") else 3))
    when: Any = {"s": int(moment.timestamp()), "ms": int(moment.timestamp() * 1000),
                 "rfc3339": _iso(moment.astimezone(draw(offsets())), 0)}[unit]
    word, message = draw(st.sampled_from(sorted(_ZEROLOG))), draw(json_messages)
    caller = f"/app/{draw(identifiers)}.go:{draw(st.integers(1, 999))}"
    obj: dict[str, Any] = {"level": word}
    attributes: dict[str, Any] = {"caller": caller}
    if draw(st.booleans()):
        obj["error"] = attributes["error"] = draw(json_messages)
    obj.update(time=when, caller=caller, message=message)
    return json.dumps(obj), {"timestamp": canonical(moment), "level": _ZEROLOG[word],
                             "message": message, "attributes": attributes}


@st.composite
def slog_json(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``{"time":<RFC 3339 nano>,"level":"INFO+2","source"?:{..},"msg":..,k:v}``."""
    moment = draw(instants(digits=6)).astimezone(draw(offsets()))
    word, message = draw(st.sampled_from(sorted(_SLOG))), draw(json_messages)
    obj: dict[str, Any] = {"time": _iso(moment, 6), "level": word}
    attributes: dict[str, Any] = {}
    if draw(st.booleans()):
        function, line = f"main.{draw(identifiers)}", draw(st.integers(1, 9999))
        obj["source"] = {"function": function, "file": "/src/main.go", "line": line}
        attributes.update(caller=f"/src/main.go:{line}", function=function, source=_MISSING)
    obj["msg"] = message
    obj["job"] = attributes["job"] = draw(identifiers)
    return json.dumps(obj), {"timestamp": canonical(moment), "level": _SLOG[word],
                             "message": message, "logger": None, "attributes": attributes}


LAYOUTS = [
    Layout("pino", "json", pino()),
    Layout("pino_iso_err", "json", pino_iso_error()),
    Layout("bunyan", "json", bunyan()),
    Layout("winston_json", "json", winston()),
    Layout("zerolog_json", "json", zerolog()),
    Layout("slog_json", "json", slog_json()),
]
