"""Generated content shared by the JVM, Go, Rust and Ruby strategies: times (with the
canonical stamp they must give), messages, trailing fields, names."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from shipper.parse.levels import level_word

#: the read time ``run_lines`` gives lines without a time (``test_golden.NOW``)
READ_TIME = "2026-01-01T00:00:00.000Z"

_FIRST = string.ascii_lowercase
_REST = string.ascii_letters + string.digits + ".,;!?()'/-_%#"
_word = st.text(alphabet=_REST, min_size=1, max_size=10)
_unicode_word = st.text(alphabet="éüßçøåñ中文日本語Привет", min_size=1, max_size=6)

#: a message: a lower-case first word (never a level, method or marker), then words,
#: some of them non-ASCII; no ``=`` (trailing pairs are generated apart), no braces
messages = st.builds(
    lambda first, rest: " ".join([first, *rest]),
    st.text(alphabet=_FIRST, min_size=1, max_size=8).filter(lambda word: level_word(word) is None),
    st.lists(st.one_of(_word, _unicode_word), max_size=6),
)
#: names the parsers give a meaning (record fields, logfmt keys, attributes they set)
_RESERVED = frozenset({
    "thread", "thread_id", "pid", "caller", "function", "logger", "module", "level", "lvl",
    "severity", "msg", "message", "time", "ts", "t", "timestamp", "source", "file", "func",
    "span", "request_id", "method", "path", "status", "client", "application", "trace_id",
    "span_id", "duration_ms", "caller_logger"})
_keys = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8).filter(
    lambda key: key[0] != "_" and key not in _RESERVED)
_values = st.text(alphabet=string.ascii_letters + string.digits + "-.:/", min_size=1,
                  max_size=10)
#: trailing ``key=value`` fields (none, or a few)
fields = st.dictionaries(_keys, _values, max_size=3)

_instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 6, 30),
                         timezones=st.just(UTC))
_offsets = st.sampled_from([0, 60, -300, 330, 120, -90])


def pairs_text(pairs: dict[str, str]) -> str:
    """`` k=v k2=v2`` (empty for no fields)."""
    return "".join(f" {key}={value}" for key, value in pairs.items())


def canonical(moment: datetime, digits: int) -> str:
    """The stamp the parser must give for ``moment`` printed with ``digits`` fraction digits."""
    micro = moment.microsecond
    if digits < 6:
        micro -= micro % 10 ** (6 - digits)
    millis = micro // 1000
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def truncated(moment: datetime, digits: int) -> datetime:
    micro = moment.microsecond - moment.microsecond % 10 ** (6 - digits)
    return moment.replace(microsecond=micro)


@st.composite
def zoned_times(draw: st.DrawFn, digits: int = 3) -> tuple[datetime, str]:
    """``(local time in a drawn zone offset, canonical UTC stamp)``."""
    moment = truncated(draw(_instants), digits)
    offset = draw(_offsets)
    local = moment.astimezone(timezone(timedelta(minutes=offset)))
    return local, canonical(moment, digits)


@st.composite
def utc_times(draw: st.DrawFn, digits: int = 3) -> tuple[datetime, str]:
    """``(UTC time, canonical stamp)``: for layouts printed without a zone (the default
    zone, UTC, applies)."""
    moment = truncated(draw(_instants), digits)
    return moment, canonical(moment, digits)


def offset_text(moment: datetime) -> str:
    """``Z`` for UTC, else ``+hh:mm``."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def fraction(moment: datetime, digits: int) -> str:
    return f"{moment.microsecond:06d}"[:digits]


identifiers = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
threads = st.builds(
    lambda name, number: f"{name}-{number}" if number is not None else name,
    st.sampled_from(["main", "worker", "http-nio-8080-exec", "pool-1-thread", "scheduler",
                     "ForkJoinPool.commonPool-worker", "reactor-http-nio"]),
    st.one_of(st.none(), st.integers(0, 99)),
)
