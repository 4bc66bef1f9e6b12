"""Plain-text layouts: everything that is not a JSON object.

Python logging (``asctime - name - LEVEL - msg``, ``LEVEL:logger:msg``), loguru
(``date | LEVEL | module:function:line - msg``), pipe layouts (``date | LEVEL | logger |
msg``), ``ISO LEVEL msg k=v``, zap console (tab-separated with a trailing JSON object),
``LEVEL msg`` without a time, bracketed levels, logfmt, klog, access logs and emoji consoles.
Cheap first-character checks choose the path before any regex runs.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from shipper.kernels import iso_prefix, stamped_fields, stamped_line, text_fields
from shipper.kernels.pure import IsoPrefix
from shipper.parse.access import parse_combined, small_int, uvicorn_request
from shipper.parse.families import python_web
from shipper.parse.families.frameworks import Frameworks
from shipper.parse.json_line import deeper_than, load_object
from shipper.parse.levels import TEXT_LEVELS, level_word, normalize_level
from shipper.parse.logfmt import is_logfmt, logfmt_record, parse_logfmt
from shipper.parse.partial import general_record, partial_record
from shipper.parse.timestamps import ISO_PATTERN, TimestampNormalizer

_BRACKET_TS = re.compile(r"\[" + ISO_PATTERN + r"\]", re.ASCII)
_PY_COLON = re.compile(r"([A-Z]+):(?:([\w.\-]+):)?(.*)", re.S)
_LOGURU = re.compile(r"([\w.<>\-]+):([\w<>.\-]+):(\d+) - (.*)", re.S)
_LOGGER_DASH = re.compile(r"([A-Za-z_][\w$]*(?:[.:][\w$<>]+)+) - (.*)", re.S)
_THREAD = re.compile(r"\[([^\]\s]+)\] +(.*)", re.S)
_CALLER = re.compile(r"\S+:\d+$")
_NAME = re.compile(r"[\w.\-:/<>$]+$")
#: klog (Kubernetes components): ``Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg``
_KLOG = re.compile(r"([IWEF])(\d{2})(\d{2}) (\d{2}:\d{2}:\d{2})\.(\d{1,9}) +(\d+) "
                   r"([^ \]]+:\d+)\] ?(.*)",
                   re.S | re.ASCII)
_KLOG_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "critical"}
#: formats whose record is complete on its line (every other text format may go on over
#: the next lines: stack traces, indented bodies, so ``FileParser`` holds it)
#: uvicorn's level column, ``LEVEL:`` padded with blanks to 10 characters, and its level:
#: ``_PY_COLON`` reads such a head as that level, no logger (a blank follows the colon) and
#: the message ``text[10:].strip()``; ``frameworks.capital`` and klog's gate never take it
_COLON_HEADS = {f"{word}:".ljust(10): level for word, level in TEXT_LEVELS.items()
                if word.isascii() and word.isalpha() and word.isupper() and len(word) <= 8}
SINGLE_LINE_FORMATS = frozenset({"json", "access", "logfmt", "tqdm", "slog", "logrus",
                                 "syslog"})


class TextParser:
    """Parses one text line into ``(format, partial record)``."""

    def __init__(self, stamps: TimestampNormalizer, errors: Counter[str],
                 max_json_depth: int) -> None:
        self._stamps = stamps
        self._errors = errors
        self._max_depth = max_json_depth
        self._deep_chars = 2 * max_json_depth  # shorter JSON cannot be deeper
        self._frameworks = Frameworks(stamps, partial_record, self.parse)

    def forget(self) -> None:
        """The next lines are another file's: what a layout remembers of a file goes."""
        self._frameworks.forget()

    def parse(self, text: str) -> tuple[str, dict[str, Any]]:
        # most text lines: ISO time of the last good second, then a plain layout, read by
        # one kernel call (``None``: the rules below decide, with the same result)
        stamps = self._stamps
        record = stamped_line(text, stamps.good_second, stamps.utc_default, TEXT_LEVELS,
                              self._max_depth)
        if record is not None:
            return "text", record
        first = text[:1]
        frameworks = self._frameworks
        # one-char scan first: memchr, 5x cheaper (werkzeug's behind logging: below)
        if "]" in text and '] "' in text and ":werkzeug:" not in text[:16] and (
                text[3:4] != "/" or first != "["):  # not Django's "[02/Jan/2026 ...]"
            record = parse_combined(text, self._stamps)
            if record is not None:
                return "access", record
        if first.isdigit():
            prefix = iso_prefix(text)  # ISO_PATTERN at 0 (shipper.kernels: compiled or pure)
            if prefix is not None:  # nginx/PostgreSQL need " [" (the server's own gate)
                end = prefix[4]
                parsed = frameworks.server(text, prefix) if " [" in text[end:end + 7] else None
                return parsed or self._stamped(text, prefix)
            parsed = frameworks.time_of_day(text) if text[2:3] == ":" else None
        elif first == "[":
            parsed = frameworks.celery(text) if text[24:26] == ": " else None
            if parsed is None:
                parsed = self._bracketed_iso(text) or frameworks.bracketed(text)
        elif "A" <= first <= "Z":
            level = _COLON_HEADS.get(text[:10])
            if level is not None:  # uvicorn's column (no other capital gate can take it)
                return self._colon_record(text, level, None, text[10:].strip())
            parsed = frameworks.capital(text)
            if parsed is None and not "a" <= text[1:2] <= "z":  # klog needs a digit there,
                # ``_PY_COLON`` [A-Z] or ":", Django's verbose layout [A-Z] or " "
                parsed = self._capital(text) or frameworks.capital_late(text)
        else:
            parsed = frameworks.other(first, text)
        if parsed is None:
            parsed = frameworks.late(text)
        if parsed is not None:
            return parsed
        if "=" in text:
            pairs = parse_logfmt(text)
            if pairs is not None and is_logfmt(pairs):
                if first == "t" and text.startswith("time="):  # slog, logrus
                    return frameworks.logfmt(text, pairs)
                return "logfmt", logfmt_record(pairs, self._stamps)
        return frameworks.last(text) or ("text", self._body(None, text))

    def _stamped(self, text: str, prefix: IsoPrefix) -> tuple[str, dict[str, Any]]:
        """A line opening with an ISO date-time: a framework's layout, else the generic
        rules; an impossible time is kept as written."""
        date, clock, frac, zone, end = prefix
        stamp = self._stamps.from_iso_parts(date, clock, frac, zone)
        rest = text[end:]
        parsed = self._frameworks.stamped(stamp, rest, prefix)
        if parsed is None:  # the generic rules; their common plain cases in one kernel call
            fmt, record = "text", stamped_fields(stamp, rest, TEXT_LEVELS) \
                or self._after_timestamp(stamp, rest)
        else:
            fmt, record = parsed
        if not stamp:
            record["attributes"]["invalid_timestamp"] = text[:end].rstrip()
        return fmt, record

    def _bracketed_iso(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``[ISO] ...``: gunicorn, Flask, else the generic rules after the time."""
        match = _BRACKET_TS.match(text)
        if match is None:
            return None
        stamp = self._stamps.from_iso_parts(*match.groups())
        rest = text[match.end():]
        fmt, record = self._frameworks.bracketed_iso(stamp, rest) \
            or ("text", self._after_timestamp(stamp, rest))
        if not stamp:
            record["attributes"]["invalid_timestamp"] = match.group(0)[1:-1]
        return fmt, record

    def _capital(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """klog, Python's ``LEVEL:logger:msg`` and uvicorn's ``LEVEL:     ...``."""
        if text[:1] in _KLOG_LEVELS and text[1:2].isdigit():
            parsed = self._klog(text)
            if parsed is not None:
                return parsed
        return self._python_colon(text)

    def _klog(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """klog has no year: this year's date unless that is impossible or in the
        future (see ``TimestampNormalizer.from_yearless``)."""
        match = _KLOG.match(text)
        if match is None:
            return None
        level, month, day, clock, frac, thread, caller, message = match.groups()
        stamp = self._stamps.from_yearless(month, day, clock, frac)
        record = partial_record(stamp, _KLOG_LEVELS[level], message, None)
        record["attributes"].update(caller=caller, thread=thread)
        if not stamp:
            record["attributes"]["invalid_timestamp"] = f"{month}{day} {clock}.{frac}"
        return "text", record

    def _after_timestamp(self, stamp: str | None, rest: str) -> dict[str, Any]:
        head = rest[:1]
        if head == "\t":
            return self._zap_console(stamp, rest[1:])
        rest = rest.lstrip(" ")
        head = rest[:1]
        if head == "|":
            return self._pipe(stamp, rest[1:])
        if head == "-" and rest[1:2] == " ":
            return self._dash(stamp, rest[2:])
        return self._body(stamp, rest)

    def _python_colon(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``DEBUG:urllib3.connectionpool:msg`` and uvicorn's ``INFO:     ip - "GET ..."``."""
        match = _PY_COLON.match(text)
        if match is None:
            return None
        level = normalize_level(match.group(1))
        if level is None:
            return None
        return self._colon_record(text, level, match.group(2), match.group(3).strip())

    def _colon_record(self, text: str, level: str, logger: str | None,
                      message: str) -> tuple[str, dict[str, Any]]:
        """``_python_colon``'s record once the level, logger and message are known."""
        if logger is None:
            request = uvicorn_request(message)
            if request is not None:
                return "access", {"timestamp": None, "level": level, "message": message,
                                  "attributes": request}
            parsed = python_web.uvicorn(text, level, message)
        elif logger == "werkzeug":
            parsed = python_web.werkzeug(level, message, self._stamps)
        else:
            parsed = None
        return parsed or ("text", partial_record(None, level, message, logger))

    def _pipe(self, stamp: str | None, rest: str) -> dict[str, Any]:
        """``| LEVEL | module:function:line - msg`` (loguru) or ``| LEVEL | logger | msg``."""
        level_field, _, remainder = rest.partition("|")
        level = level_word(level_field.strip())
        if level is None:
            return self._body(stamp, rest.strip())
        remainder = remainder.strip()
        match = _LOGURU.match(remainder)
        if match is not None:
            module, function, line, message = match.groups()
            record = partial_record(stamp, level, message, module)
            record["attributes"]["function"] = function
            record["attributes"]["line"] = small_int(line)
            return record
        logger, sep, message = remainder.partition(" | ")
        if sep and _NAME.match(logger):
            return partial_record(stamp, level, message, logger)
        return partial_record(stamp, level, remainder, None)

    def _dash(self, stamp: str | None, rest: str) -> dict[str, Any]:
        """``name - LEVEL - msg`` or ``LEVEL - name - msg`` (Python logging)."""
        parts = rest.split(" - ", 2)
        if len(parts) == 3:
            word = parts[1].strip()
            level = TEXT_LEVELS.get(word) or level_word(word)
            if level is not None and _NAME.match(parts[0]):  # partial_record, inlined
                return text_fields(stamp, level, parts[2], parts[0]) or general_record(
                    stamp, level, parts[2], parts[0])
            level = level_word(parts[0].strip())
            if level is not None and _NAME.match(parts[1]):
                return partial_record(stamp, level, parts[2], parts[1])
        if len(parts) >= 2:
            level = level_word(parts[0].strip())
            if level is not None:
                return partial_record(stamp, level, rest.split(" - ", 1)[1], None)
        return self._body(stamp, rest)

    def _zap_console(self, stamp: str | None, rest: str) -> dict[str, Any]:
        """``LEVEL\\t[logger\\t]caller\\tmsg[\\t{json}]`` (zap's console encoder)."""
        parts = rest.split("\t")
        word = parts[0].strip()
        level = TEXT_LEVELS.get(word) or level_word(word)
        if level is None:
            return self._body(stamp, rest.replace("\t", " "))
        fields: dict[str, Any] | None = None
        if len(parts) > 2 and parts[-1][:1] == "{":
            fields = load_object(parts[-1])
            if fields is not None:
                if len(parts[-1]) > self._deep_chars and deeper_than(  # kept as text
                        parts[-1], fields, self._max_depth):
                    self._errors["json_too_deep"] += 1
                    fields = {"fields": parts[-1], "json_too_deep": True}
                parts.pop()
        message = parts.pop() if len(parts) > 1 else ""
        logger = caller = None
        for part in parts[1:]:
            if _CALLER.match(part):
                caller = part
            else:
                logger = part
        record = text_fields(stamp, level, message, logger) or general_record(  # inlined
            stamp, level, message, logger)
        attributes = record["attributes"]
        if caller is not None:
            attributes["caller"] = caller
        if fields:
            attributes.update(fields)
        return record

    def _body(self, stamp: str | None, rest: str) -> dict[str, Any]:
        """``LEVEL msg``, ``[LEVEL] msg``, ``logger LEVEL msg`` or just a message."""
        token, _, after = rest.partition(" ")
        level = TEXT_LEVELS.get(token) or level_word(token)  # level_word's first step inlined
        logger = None
        thread = None
        if level is not None:
            message = after.lstrip(" ")
            if message[:1] == "[":
                match = _THREAD.match(message)
                if match is not None:
                    thread, message = match.groups()
            match = _LOGGER_DASH.match(message) if " - " in message else None
            if match is not None:
                logger, message = match.groups()
        else:
            token2, _, after2 = after.lstrip(" ").partition(" ")
            level = level_word(token2) if token2 else None
            name = token.strip("[]:")
            if level is not None and name and _NAME.match(name):
                logger, message = name, after2.lstrip(" ")
            else:
                level, message = None, rest
        record = text_fields(stamp, level, message, logger) or general_record(  # inlined
            stamp, level, message, logger)
        if thread is not None:
            record["attributes"]["thread"] = thread
        return record
