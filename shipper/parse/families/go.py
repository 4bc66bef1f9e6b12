"""Go layouts: the standard library's ``log``, ``log/slog``'s text handler, logrus text.

* ``log`` (format ``go_log``): ``[prefix]2026/01/02 10:00:00[.000000] [file.go:12: ][prefix]msg``;
  the time has no zone (``LUTC`` prints UTC without saying so): ``parse.default_timezone``
  applies. ``file.go:12`` (``Lshortfile``/``Llongfile``) goes to ``attributes.caller``, a
  prefix before the date to ``logger``. The slog default logger writes through ``log``:
  ``2026/01/02 10:00:00 INFO hello k=v`` gives the level and the trailing pairs; any other
  leading level word (``ERROR: x``, ``[warn] x``) gives the level as in the generic layouts.
* slog's text handler (format ``slog``): ``time=... level=INFO [source=f.go:1] msg=...``
  (a logfmt line: unquoted time, upper-case level, levels with offsets such as ``INFO+2``
  mapped to the nearest level below); ``source`` goes to ``attributes.caller``.
* logrus (format ``logrus``): ``time="..." level=info msg="..." k=v`` (``file``/``func``
  with ``ReportCaller`` go to ``caller``/``function``) and its terminal form
  ``INFO[0000] msg   k=v`` (``[0000]`` is seconds since start: the read time applies,
  unless ``FullTimestamp`` printed a time there that we read).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse import levels
from shipper.parse.levels import level_word
from shipper.parse.logfmt import logfmt_record
from shipper.parse.timestamps import TimestampNormalizer

#: ``partial.partial_record``: (timestamp, level, message, logger) -> record
Finish = Callable[[str | None, str | None, str, str | None], dict[str, Any]]

#: what follows the date-time: ``file.go:12: `` and/or a slog level word
_AFTER = re.compile(r" (?:([\w.\-/@+]+\.go:\d+): )?(?:(DEBUG|INFO|WARN|ERROR)([+-]\d+)? )?(.*)",
                    re.S | re.ASCII)
#: nginx's error log shares the date: ``2026/01/02 10:00:00 [error] 7#7: ...`` is not ours
_NGINX = re.compile(r" \[[a-z]+\] \d+#\d+: ", re.ASCII)
_PREFIXED = re.compile(r"(\S{1,32}? ?)(\d{4}/\d{2}/\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{6}))?(?= )",
                       re.ASCII)
_SLOG_LEVEL = re.compile(r"(DEBUG|INFO|WARN|ERROR)([+-]\d+)?", re.ASCII)
_LOGRUS_TTY = re.compile(r"(DEBU|INFO|WARN|ERRO|FATA|PANI|TRAC)\[([^\]]*)\] ?(.*)",
                         re.S | re.ASCII)
_LOGRUS_LEVELS = {"DEBU": "debug", "INFO": "info", "WARN": "warning", "ERRO": "error",
                  "FATA": "critical", "PANI": "critical", "TRAC": "trace"}
_LOGRUS_WORDS = frozenset({"trace", "debug", "info", "warning", "error", "fatal", "panic"})


def slog_level(word: str, offset: str | None) -> str:
    """slog's level name, with an offset (``INFO+2``, ``DEBUG-4``), as one of ours (the
    scale is :func:`shipper.parse.levels.slog_level`'s)."""
    if not offset:
        return levels.TEXT_LEVELS[word]  # DEBUG, INFO, WARN, ERROR: the shared words
    return levels.slog_level(word + offset) or "info"


class GoLayouts:
    """Recognisers for the Go layouts of one file (its normalizer, the record builder)."""

    def __init__(self, stamps: TimestampNormalizer, finish: Finish) -> None:
        self._stamps = stamps
        self._finish = finish

    def after_stamp(self, stamp: str | None, rest: str) -> tuple[str, dict[str, Any]] | None:
        """``rest`` follows a ``2026/01/02 10:00:00`` date-time at the start of the line."""
        if rest[:1] != " " or (rest[1:2] == "[" and _NGINX.match(rest)):
            return None
        match = _AFTER.match(rest)
        if match is None:  # pragma: no cover - the pattern matches any " ..." text
            return None
        caller, word, offset, message = match.groups()
        level: str | None = None
        if word:
            level = slog_level(word, offset)
        else:  # ``ERROR: x``, ``[warn] x``: a leading level word, as the generic layouts
            token, _, after = message.partition(" ")
            level = level_word(token)
            if level is not None:
                message = after.lstrip(" ")
        record = self._finish(stamp, level, message, None)
        if caller is not None:
            record["attributes"]["caller"] = caller
        return "go_log", record

    def prefixed(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``myapp: 2026/01/02 10:00:00 msg`` (``log.SetPrefix``): the prefix names the
        logger."""
        slash = text.find("/", 5, 40)  # the date's first slash, after the prefix
        if slash < 5 or text[slash + 3:slash + 4] != "/" or not text[slash - 4:slash].isdigit():
            return None
        match = _PREFIXED.match(text)
        if match is None:
            return None
        prefix, date, clock, frac = match.groups()
        stamp = self._stamps.from_iso_parts(date, clock, frac, None)
        parsed = self.after_stamp(stamp, text[match.end():])
        if parsed is not None:
            name = prefix.strip(" :[]")
            if name:
                parsed[1]["logger"] = name
            if not stamp:
                parsed[1]["attributes"]["invalid_timestamp"] = f"{date} {clock}"
        return parsed

    def logfmt(self, text: str, pairs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A logfmt line that starts ``time=``: slog's text handler (unquoted time,
        ``level=INFO``), logrus (quoted time, ``level=info``) or plain logfmt."""
        level = pairs.get("level", "")
        quoted = text[5:6] == '"'
        match = None if quoted else _SLOG_LEVEL.fullmatch(level)
        if match is not None:
            pairs["level"] = slog_level(*match.groups())
            record = logfmt_record(pairs, self._stamps)
            _rename(record["attributes"], "source", "caller")
            return "slog", record
        record = logfmt_record(pairs, self._stamps)
        if quoted and level in _LOGRUS_WORDS:
            _rename(record["attributes"], "file", "caller")
            _rename(record["attributes"], "func", "function")
            return "logrus", record
        return "logfmt", record

    def logrus_tty(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``INFO[0000] msg   k=v`` (logrus on a terminal, or with ``ForceColors``)."""
        match = _LOGRUS_TTY.match(text)
        if match is None:
            return None
        word, when, message = match.groups()
        stamp = None if when.isdigit() else self._stamps.from_string(when)
        record = self._finish(stamp, _LOGRUS_LEVELS[word], message, None)
        if stamp == "":
            record["attributes"]["invalid_timestamp"] = when
        return "logrus", record


def _rename(attributes: dict[str, Any], old: str, new: str) -> None:
    if old in attributes and new not in attributes:
        attributes[new] = attributes.pop(old)
