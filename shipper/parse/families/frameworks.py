"""The framework recognisers of one file behind the cheap gates ``TextParser`` calls.

``TextParser.parse`` picks a gate from the line's first character (and a slice compare or
two); each gate tries the families whose layouts can start that way and returns
``(format, record)``, or ``None`` so the generic text rules run. The order inside a gate
is what keeps one family from taking another's line (``tests/unit/parse/families``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipper.kernels.pure import IsoPrefix
from shipper.parse.families import consoles, python_web, python_workers
from shipper.parse.families.go import GoLayouts
from shipper.parse.families.jvm import JvmLayouts
from shipper.parse.families.ruby import RubyLayouts
from shipper.parse.families.rust import RustLayouts
from shipper.parse.families.servers import server_line
from shipper.parse.families.syslog import MONTHS, syslog_line
from shipper.parse.timestamps import TimestampNormalizer

Parsed = tuple[str, dict[str, Any]]
Finish = Callable[[str | None, str | None, str, str | None], dict[str, Any]]
#: the second character after a leading date-time in the JVM and Rust layouts
_FRAMEWORK_SECOND = frozenset(" [TDIWEF")
_DASK_INITIALS = frozenset("dbt")


class Frameworks:
    """One file's family recognisers (normalizer, record builder, the whole-line parser
    for prefixes such as Ray's that wrap another line)."""

    def __init__(self, stamps: TimestampNormalizer, finish: Finish,
                 parse: Callable[[str], Parsed]) -> None:
        self._stamps = stamps
        self._parse = parse
        self._rich = consoles.RichConsole(stamps)
        self._jvm = JvmLayouts(stamps, finish)
        self._go = GoLayouts(stamps, finish)
        self._rust = RustLayouts(stamps, finish)
        self._ruby = RubyLayouts(stamps, finish)

    def forget(self) -> None:
        """The next lines are another file's (rich's blank time column: no last time)."""
        self._rich.forget()

    def server(self, text: str, prefix: IsoPrefix) -> Parsed | None:
        """nginx's error log and PostgreSQL: a leading date-time, then `` [``."""
        if " [" in text[prefix[4]:prefix[4] + 7]:
            return server_line(prefix, text, self._stamps)
        return None

    def stamped(self, stamp: str | None, rest: str, prefix: IsoPrefix) -> Parsed | None:
        """A Ray driver, Go, JVM or Rust layout after a leading date-time ``prefix``."""
        if rest[:1] == "\t":  # Ray's driver needs " -- " (zap's console: no regex)
            return python_workers.ray_driver(stamp, rest) if " -- " in rest else None
        if prefix[0][4] == "/":
            return self._go.after_stamp(stamp, rest)
        if rest[1:2] in _FRAMEWORK_SECOND:  # a padded level, a thread or a level word
            # the JVM layouts need a thread, a `` [`` after the level or Spring's `` --- ``;
            # Rust's tracing micro- or nanoseconds and a zone (calls skipped, not rules)
            parsed = self._jvm.after_stamp(stamp, rest) if (
                rest[:2] == " [" or " [" in rest[4:8] or rest.find(" --- ", 4, 160) != -1) \
                else None
            frac = prefix[2]
            if parsed is None and rest[:1] == " " and frac is not None and prefix[3] is not None:
                parsed = self._rust.after_stamp(stamp, rest, frac, prefix[3])
            return parsed
        return None

    def time_of_day(self, text: str) -> Parsed | None:
        """logback/log4j2 with ``HH:mm:ss.SSS`` only (``text[2] == ":"``)."""
        return self._jvm.time_only(text)

    def celery(self, text: str) -> Parsed | None:
        """``[2026-01-02 10:00:00,123: LEVEL/Process] ...`` (``text[24:26] == ": "``)."""
        return python_workers.celery(text, self._stamps)

    def bracketed_iso(self, stamp: str | None, rest: str) -> Parsed | None:
        """``[ISO] ...``: gunicorn's error log, Flask."""
        return python_web.bracketed_iso(stamp, rest)

    def bracketed(self, text: str) -> Parsed | None:
        """``[`` without an ISO time in it: Django's runserver, rich, env_logger, log4j2's
        ``[thread] LEVEL logger - msg``."""
        if text[1:2].isdigit() and text[3:4] == "/":
            parsed = python_web.django_server(text, self._stamps) if text[7:8] == "/" \
                else self._rich.dated(text)
            if parsed is not None:
                return parsed
        return self._rust.env_logger(text) or self._jvm.no_time(text)

    def capital(self, text: str) -> Parsed | None:
        """An upper-case first letter, before the generic rules: syslog without PRI,
        Ruby's Logger, logrus on a TTY."""
        if text[3:4] == " " and text[:3] in MONTHS:  # RFC 3164 syslog without PRI
            parsed = syslog_line(text, self._stamps)
            if parsed is not None:
                return parsed
        if text[1:3] == ", " or text[4:5] == "[":
            return self._ruby.logger_line(text) or self._go.logrus_tty(text)
        return None

    def capital_late(self, text: str) -> Parsed | None:
        """An upper-case first letter, after Python's ``LEVEL:logger:``: Django's verbose."""
        space = text.find(" ", 3, 10)
        if space > 0 and text[space + 1:space + 2].isdigit():
            return python_web.django_verbose(text, self._stamps)
        return None

    def other(self, first: str, text: str) -> Parsed | None:
        """Lines opening with ``<``, ``(``, a space or a lower-case letter."""
        if first == "<":
            return syslog_line(text, self._stamps)
        if first == "(":
            return python_workers.ray(text, self._parse)
        if first == " ":
            return self._rich.repeated(text) if consoles.rich_repeat(text) else None
        if first == "t" and text.startswith("thread '"):
            return self._rust.panic(text)
        if first in _DASK_INITIALS and text.startswith(python_workers.DASK_PREFIXES):
            return python_workers.dask(text)
        return None

    def late(self, text: str) -> Parsed | None:
        """Before the logfmt and plain rules, any first character: tqdm progress lines."""
        if "%|" in text or text[-1:] == "]":
            return consoles.progress(text)
        return None

    def logfmt(self, text: str, pairs: dict[str, Any]) -> Parsed:
        """A logfmt line opening with ``time=``: slog's text handler, logrus."""
        return self._go.logfmt(text, pairs)

    def last(self, text: str) -> Parsed | None:
        """Before the plain-text fallback: Go's ``log`` with a prefix before the date."""
        if text.find("/", 5, 40) != -1:
            return self._go.prefixed(text)
        return None
