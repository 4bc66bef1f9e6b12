"""The pure twin of the ``noise_drops`` kernel: the noise presets' drops among the records
a batch's pre-scan could not clear, judged here for the usual record shapes.

``noise_drops(records, indices, dropped, judge, classify, drop)`` is the loop of
``NoiseStage.process_batch``: for ``i`` in ``indices`` (ascending) it skips the records in
``dropped`` and those at ``warning`` or above; every other record it judges itself or, when
it cannot, asks ``classify`` (``NoiseStage.classify``) about; each noise record is reported
``drop(record, "noise", preset)`` and its index added to ``dropped``, in order.

It judges exactly as ``NoiseStage.classify`` does, reading the same fields, for the shapes
logged most: no ``logger`` field (and a raw line that does not start a legacy
``LEVEL:logger:`` prefix), request attributes spelled ``method``/``path``/``status``/
``user_agent`` (plain strings, an ``int`` status, a path starting with ``/`` without
``?``, ``#`` or newline) or a message without a request line, and successful-auth messages
whose verdict ``classify`` remembered, in a :class:`~shipper.record.Record`. Anything else
goes to ``classify``.

``judge`` is :class:`NoiseJudge`: the presets' settings as the kernel reads them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.record import Record

#: the methods ``requests.from_text`` looks for, each followed by a blank
TEXT_METHODS = ("GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS ", "CONNECT ",
                "TRACE ")
#: the starts of a legacy ``LEVEL:logger:`` line (``presets._LEGACY_STARTS``)
LEGACY_STARTS = ("TRACE:", "DEBUG:", "INFO:")
_GET_HEAD = ("GET", "HEAD")
#: ``NoiseStage.classify``: the preset calling a record noise, else ``None``
Classify = Callable[[Any], "str | None"]
#: ``Fates.dropped``
Drop = Callable[[Any, str, str], None]


#: a route matcher's routes when every one is literal or ends in one placeholder segment
#: (``routes._route_kinds``): the ``literal`` endings, the ``parents``
Routes = tuple[tuple[str, ...], tuple[str, ...]]


class NoiseJudge:
    """The enabled presets as the kernel reads them (``None``: the preset is off).
    ``auth_seen`` is the stage's table of remembered auth verdicts (read, never written).
    A plain class, not a ``NamedTuple``: building one of those costs start-up time."""

    __slots__ = ("loud", "third_party", "requests", "health", "polling", "auth", "auth_seen",
                 "secondary")

    def __init__(self, loud: frozenset[str], third_party: bool, requests: bool,
                 health: Routes | None, polling: Routes | None, auth: bool,
                 auth_seen: dict[str, bool], secondary: frozenset[str]) -> None:
        self.loud = loud
        self.third_party = third_party
        self.requests = requests
        self.health = health
        self.polling = polling
        self.auth = auth
        self.auth_seen = auth_seen
        self.secondary = secondary


def noise_drops(records: list[Any], indices: list[int], dropped: set[int],
                judge: NoiseJudge, classify: Classify, drop: Drop) -> None:
    loud = judge.loud
    for i in indices:
        if i in dropped:
            continue
        record = records[i]
        if record.get("level", "info") in loud:
            continue
        known, verdict = _judged(record, judge) if record.__class__ is Record else (False, None)
        if not known:
            verdict = classify(record)
        if verdict is not None:
            drop(record, "noise", verdict)
            dropped.add(i)


def _judged(record: Any, judge: NoiseJudge) -> tuple[bool, str | None]:
    """``(True, preset or None)`` when judged, ``(False, None)`` when not."""
    if judge.third_party and not _no_logger(record):
        return False, None
    if judge.requests:
        known, preset, decided = _request(record, judge)
        if not known:
            return False, None
        if decided:
            return True, preset
    if judge.auth:
        message = record.get("message")
        seen = judge.auth_seen.get(message) if message.__class__ is str else None
        if seen is None:
            return False, None
        return True, "auth_success" if seen else None
    return True, None


def _no_logger(record: Any) -> bool:
    """The third-party preset finds no logger: no ``logger`` string and a raw line that is
    not ``TRACE:``/``DEBUG:``/``INFO:`` followed by a name (a blank follows)."""
    if isinstance(record.get("logger"), str):
        return False
    raw = record.raw
    if not isinstance(raw, str):
        return True
    if raw.__class__ is not str:
        return False
    for start in LEGACY_STARTS:
        if raw.startswith(start):
            return raw[len(start):len(start) + 1] == " "
    return True


def _request(record: Any, judge: NoiseJudge) -> tuple[bool, str | None, bool]:
    """``(known, preset, decided)``: ``decided`` when the request presets settle the
    record (``preset`` their answer), else the auth preset decides."""
    attrs = record.get("attributes")
    if attrs:
        if attrs.__class__ is not dict:
            return False, None, False
        method, target = attrs.get("method"), attrs.get("path")
        status, agent = attrs.get("status"), attrs.get("user_agent")
        if (method is None or target is None or status is None or agent is None) \
                and not judge.secondary.isdisjoint(attrs):
            return False, None, False
        if isinstance(method, str) and isinstance(target, str) and target:
            if method.__class__ is not str or target.__class__ is not str:
                return False, None, False
            if status is None:
                return True, None, False
            if status.__class__ is not int:
                return False, None, False
            if status >= 400:
                return True, None, False
            if target[0] != "/" or "?" in target or "#" in target or "\n" in target:
                return False, None, False
            if agent.__class__ is not str:
                if isinstance(agent, str):
                    return False, None, False
                agent = ""
            method = method if method in _GET_HEAD else method.upper()
            return True, _route_preset(method, target, agent, judge), True
    message = record.get("message")
    if isinstance(message, str) and message:
        if message.__class__ is not str:
            return False, None, False
        for hint in TEXT_METHODS:
            if hint in message:
                return False, None, False
    return True, None, False


def _route_preset(method: str, path: str, agent: str, judge: NoiseJudge) -> str | None:
    health, polling = judge.health, judge.polling
    if health is not None:
        if agent.startswith("kube-probe/"):
            return "health"
        if method in _GET_HEAD and route_ends(path, *health):
            return "health"
    if polling is not None and method == "GET" and route_ends(path, *polling):
        return "polling"
    return None


def route_ends(path: str, literal: tuple[str, ...], parents: tuple[str, ...]) -> bool:
    """Whether ``path`` (starting with ``/``, no newline) ends with a literal route or a
    placeholder segment under one of ``parents``: ``filters.routes.route_matcher``'s
    answer when no route needs its regex."""
    if path.endswith(literal):
        return True
    if parents:
        parent, _, last = (path[:-1] if path[-1] == "/" else path).rpartition("/")
        if last and parent.endswith(parents):
            return True
    return False


#: ``(data, unjudged, parts)`` of :func:`joined_texts`
Joined = tuple[bytes, set[int], list[str]]


def joined_texts(records: list[Any]) -> Joined | None:
    """The raw lines of a batch as ``prescan.BatchTexts`` holds them, for the usual batch
    (every record a :class:`~shipper.record.Record` with a ``str`` raw line and a ``str``
    message; else ``None``): ``parts`` the lines, ``""`` for each line that cannot be
    judged (a multi-line message, a line not ASCII or holding a NUL), ``unjudged`` the
    indices of those, ``data`` the parts joined with NUL, in ASCII bytes."""
    parts: list[str] = []
    unjudged: set[int] = set()
    for i, record in enumerate(records):
        if record.__class__ is not Record:
            return None
        raw, message = record.raw, record.get("message")
        if raw.__class__ is not str or message.__class__ is not str:
            return None
        if "\n" in message or not raw.isascii() or "\x00" in raw:
            unjudged.add(i)
            parts.append("")
        else:
            parts.append(raw)
    return "\x00".join(parts).encode("ascii"), unjudged, parts


#: the probe lines: a kube-probe combined line (groups 1-5: time, method, path, status,
#: agent), uvicorn's access line (groups 6-8: method, path, status)
PROBE = re.compile(
    rb"(?:(?:\d{1,3}\.){3}\d{1,3} - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "
    rb'"(GET|HEAD) (/[\w/.-]{0,80}) HTTP/1\.[01]" (2\d\d) (?:\d{1,9}|-) '
    rb'"-" "(kube-probe/[\d.]{1,12})"'
    rb'|INFO:     (?:\d{1,3}\.){3}\d{1,3}:\d{1,5} - "(GET|HEAD) (/[\w/.-]{0,80}) HTTP/1\.[01]" '
    rb"(2\d\d) OK)")
#: shorter lines are never probe lines
PROBE_MIN = 40
#: ``(index, time or None, method, path, agent or "")`` of a probe line
Probe = tuple[int, "str | None", str, str, str]


def probe_lines(lines: list[Any]) -> list[Probe]:
    """The lines :data:`PROBE` matches whole, in order, with their fields (uvicorn's line
    has no time and no agent: ``None`` and ``""``). A line is a plain ``tuple``: a plain
    file's ``(offset, bytes)`` or a wrapped file's inner line ``(offset, data, stream,
    wrapper time)`` (``RuntimeUnwrapper.unwrap``), its data bytes or ASCII text (docker's);
    anything else (a ``runtime.Inner``: a line pushed through the unwrapper, perhaps
    joined from partial pieces) is skipped. Only lines of at least :data:`PROBE_MIN`
    bytes with a digit first and ``"`` last, or ``INFO:     `` first and `` OK`` last,
    are tried."""
    out: list[Probe] = []
    for i, line in enumerate(lines):
        if line.__class__ is not tuple or len(line) not in (2, 4):
            continue
        raw = line[1]
        if raw.__class__ is str and len(raw) >= PROBE_MIN and raw.isascii():
            raw = raw.encode()
        if raw.__class__ is not bytes or len(raw) < PROBE_MIN:
            continue
        if not ((raw[-1] == 34 and 48 <= raw[0] <= 57) or (
                raw[-1] == 75 and raw.startswith(b"INFO:     ") and raw.endswith(b" OK"))):
            continue
        match = PROBE.fullmatch(raw)
        if match is None:
            continue
        if match.group(2) is not None:
            when, method, path, agent = match.group(1, 2, 3, 5)
            out.append((i, when.decode(), method.decode(), path.decode(), agent.decode()))
        else:
            method, path = match.group(6, 7)
            out.append((i, None, method.decode(), path.decode(), ""))
    return out
