"""Generated nginx error-log and PostgreSQL server-log lines (see ``layouts.py``)."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.content_jsonsrv import (
    canonical,
    hosts,
    identifiers,
    instants,
    messages,
    pids,
)
from tests.unit.parse.families.layouts import Layout

_NGINX = {"debug": "debug", "info": "info", "notice": "info", "warn": "warning",
          "error": "error", "crit": "critical", "alert": "critical", "emerg": "critical"}
_PG = {"LOG": "info", "INFO": "info", "NOTICE": "info", "WARNING": "warning",
       "ERROR": "error", "FATAL": "critical", "PANIC": "critical", "DEBUG1": "debug",
       "DEBUG5": "debug"}
#: zones as ``%m`` prints them, with their offsets in minutes
_PG_ZONES = {"UTC": 0, "CET": 60, "CEST": 120, "EST": -300, "PDT": -420, "+03": 180,
             "-03": -180, "JST": 540}
_ips = st.builds(lambda a, b: f"10.{a}.0.{b}", st.integers(0, 255), st.integers(1, 254))
_paths = st.builds(lambda parts: "/" + "/".join(parts), st.lists(identifiers, max_size=3))


@st.composite
def nginx_error(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026/01/02 10:00:00 [error] 7#7: *12 msg, client: ip, server: s, request: "..."``
    (the connection and the trailing context only where nginx has them)."""
    moment, word = draw(instants(digits=0)), draw(st.sampled_from(sorted(_NGINX)))
    pid, tid, message = draw(pids), draw(st.integers(0, 99)), draw(messages)
    attributes: dict[str, Any] = {"pid": pid, "thread": str(tid)}
    head = f"{moment:%Y/%m/%d %H:%M:%S} [{word}] {pid}#{tid}: "
    if draw(st.booleans()):
        connection = draw(st.integers(1, 10**9))
        head += f"*{connection} "
        attributes["connection"] = connection
    tail = ""
    if draw(st.booleans()):
        client, server = draw(_ips), draw(hosts)
        method, path = draw(st.sampled_from(["GET", "POST", "PUT"])), draw(_paths)
        tail = (f', client: {client}, server: {server}, request: "{method} {path} HTTP/1.1"'
                f', host: "{server}"')
        attributes.update(client=client, server=server, method=method, path=path,
                          protocol="HTTP/1.1", host=server)
    return head + message + tail, {"timestamp": canonical(moment), "level": _NGINX[word],
                                   "message": message, "logger": None,
                                   "attributes": attributes}


def _pg_prefix(kind: str, user: str, database: str) -> tuple[str, dict[str, Any]]:
    if kind == "user@db":
        return f" {user}@{database}", {"user": user, "database": database}
    if kind == "pgbadger":
        return (f" user={user},db={database},app=psql,client=10.0.0.9",
                {"user": user, "database": database, "application": "psql",
                 "client": "10.0.0.9"})
    return "", {}


@st.composite
def postgres(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``%m [%p] `` / ``%m [%p] %q%u@%d `` / ``%t [%p]: [%l-1] user=..,db=..`` then
    ``SEVERITY:  message``, in the zone ``log_timezone`` names."""
    zone = draw(st.sampled_from(sorted(_PG_ZONES)))
    digits = draw(st.sampled_from([0, 3]))
    moment = draw(instants(digits=digits))
    local = moment.astimezone(timezone(timedelta(minutes=_PG_ZONES[zone])))
    when = f"{local:%Y-%m-%d %H:%M:%S}" + (f".{local.microsecond // 1000:03d}" if digits else "")
    pid, severity, message = draw(pids), draw(st.sampled_from(sorted(_PG))), draw(messages)
    kind = draw(st.sampled_from(["default", "user@db", "pgbadger"]))
    prefix, attributes = _pg_prefix(kind, draw(identifiers), draw(identifiers))
    session = f": [{draw(st.integers(1, 99))}-1]" if kind == "pgbadger" else ""
    line = f"{when} {zone} [{pid}]{session}{prefix} {severity}:  {message}"
    attributes.update(pid=pid, severity=severity)
    return line, {"timestamp": canonical(moment), "level": _PG[severity],
                  "message": message, "logger": None, "attributes": attributes}


LAYOUTS = [
    Layout("nginx_error", "nginx_error", nginx_error()),
    Layout("postgres", "postgres", postgres()),
]
