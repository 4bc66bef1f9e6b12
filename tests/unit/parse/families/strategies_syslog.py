"""Generated syslog lines: RFC 3164 with and without ``<PRI>``, RFC 5424 (see
``layouts.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.content_jsonsrv import (
    canonical,
    hosts,
    identifiers,
    instants,
    messages,
    offset_text,
    offsets,
)
from tests.unit.parse.families.layouts import Layout

_LEVELS = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")
_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
               "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
               "local0", "local1", "local2", "local3", "local4", "local5", "local6",
               "local7")
_SOON = datetime(2026, 1, 2, tzinfo=UTC)  # the read time (test_golden.NOW) + one day
_apps = st.sampled_from(["sshd", "CRON", "systemd", "jobrunner", "postfix/smtpd", "su"])
_pri = st.integers(0, 191)
_sd_values = st.text(alphabet='abc XYZ019"\\]=-', max_size=8)


def _pri_fields(pri: int) -> dict[str, Any]:
    facility, severity = divmod(pri, 8)
    return {"facility": _FACILITIES[facility], "severity": _SEVERITIES[severity]}


@st.composite
def _yearless(draw: st.DrawFn) -> tuple[str, str]:
    """``("Oct 11 22:14:15", stamp)``: this year's date unless it is ahead of the read
    time by more than a day, then last year's."""
    moment = draw(instants(digits=0)).replace(year=2026)
    if moment > _SOON:
        moment = moment.replace(year=2025)
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S}", canonical(moment)


@st.composite
def rfc3164(draw: st.DrawFn, with_pri: bool) -> tuple[str, dict[str, Any]]:
    """``<34>Oct 11 22:14:15 host app[123]: msg`` (``app:`` without a pid; with a PRI and
    a pid also without the host, as Go's ``log/syslog`` writes to a local socket)."""
    when, stamp = draw(_yearless())
    host, app, message = draw(hosts), draw(_apps), draw(messages)
    pid = draw(st.none() | st.integers(1, 99999))
    tag = app if pid is None else f"{app}[{pid}]"
    attributes: dict[str, Any] = {"host": host, "pid": "<missing>" if pid is None else pid}
    level, head = "info", ""
    if with_pri:
        pri = draw(_pri)
        head, level = f"<{pri}>", _LEVELS[pri % 8]
        attributes.update(_pri_fields(pri))
        if pid is not None and draw(st.booleans()):  # a local socket's: no host
            attributes["host"] = "<missing>"
            return f"{head}{when} {tag}: {message}", {
                "timestamp": stamp, "level": level, "logger": app, "message": message,
                "attributes": attributes}
    return f"{head}{when} {host} {tag}: {message}", {
        "timestamp": stamp, "level": level, "logger": app, "message": message,
        "attributes": attributes}


def _sd_text(elements: dict[str, dict[str, str]]) -> str:
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")

    return "".join(
        f"[{sd_id}" + "".join(f' {key}="{escaped(value)}"' for key, value in params.items())
        + "]" for sd_id, params in elements.items()) or "-"


@st.composite
def rfc5424(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg``, ``-`` for any
    missing field, a BOM before the message sometimes."""
    pri, moment = draw(_pri), draw(instants()).astimezone(draw(offsets()))
    host, app, msgid = draw(st.none() | hosts), draw(st.none() | identifiers), draw(
        st.none() | st.sampled_from(["ID47", "audit", "job-start"]))
    procid = draw(st.none() | st.integers(1, 99999))
    elements = draw(st.dictionaries(
        st.builds(lambda name, pen: f"{name}@{pen}", identifiers, st.integers(1, 99999)),
        st.dictionaries(identifiers, _sd_values, max_size=3), max_size=2))
    message, bom = draw(messages), draw(st.sampled_from(["", "\ufeff"]))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    fields = [str(v) if v is not None else "-" for v in (host, app, procid, msgid)]
    line = f"<{pri}>1 {when}{offset_text(moment)} {' '.join(fields)} {_sd_text(elements)}"
    line += f" {bom}{message}"
    attributes: dict[str, Any] = {**_pri_fields(pri), **elements}
    for key, value in (("host", host), ("pid", procid), ("msgid", msgid)):
        attributes[key] = "<missing>" if value is None else value
    return line, {"timestamp": canonical(moment), "level": _LEVELS[pri % 8], "logger": app,
                  "message": message, "attributes": attributes}


LAYOUTS = [
    Layout("syslog_rfc3164", "syslog", rfc3164(with_pri=True)),
    Layout("syslog_rfc3164_no_pri", "syslog", rfc3164(with_pri=False)),
    Layout("syslog_rfc5424", "syslog", rfc5424()),
]
