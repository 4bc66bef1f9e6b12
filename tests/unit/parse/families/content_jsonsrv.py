"""Generated content shared by the JSON-logger, server and syslog strategies: times (with
the canonical stamp they must give), messages, names."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from shipper.parse.levels import normalize_level

#: the read time ``run_lines`` gives lines without a time (``test_golden.NOW``)
READ_TIME = "2026-01-01T00:00:00.000Z"

_REST = string.ascii_letters + string.digits + ".;!?()'/-_%#"
_word = st.text(alphabet=_REST, min_size=1, max_size=10)
_unicode_word = st.text(alphabet="éüßçøåñ中文日本語Привет", min_size=1, max_size=6)

#: a text message: a lower-case first word (never a level, method or marker), then words,
#: some non-ASCII; no ``=``, ``,`` or ``:`` (trailing pairs and nginx fields stay apart)
messages = st.builds(
    lambda first, rest: " ".join([first, *rest]),
    # "fine", "err", "inf" ... are level words (shipper.parse.levels) that a message
    # opening a syslog line gives its level: kept out, as the comment above promises
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8).filter(
        lambda word: normalize_level(word) is None),
    st.lists(st.one_of(_word, _unicode_word), max_size=6),
)
#: any text a JSON logger may carry as its message (JSON escapes it)
json_messages = st.text(max_size=40)
identifiers = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
hosts = st.builds(lambda name, n: f"{name}-{n}", identifiers, st.integers(0, 99))
pids = st.integers(1, 4_194_304)

_instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 12, 31),
                         timezones=st.just(UTC))


def canonical(moment: datetime) -> str:
    """The stamp the parser must give for ``moment`` (milliseconds, UTC)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


@st.composite
def instants(draw: st.DrawFn, digits: int = 3) -> datetime:
    """A UTC time with ``digits`` fraction digits (0 for whole seconds)."""
    moment = draw(_instants)
    micro = moment.microsecond - moment.microsecond % 10 ** (6 - digits)
    return moment.replace(microsecond=micro)


@st.composite
def offsets(draw: st.DrawFn) -> timezone:
    return timezone(timedelta(minutes=draw(st.sampled_from([0, 60, 120, -300, 330, -180]))))


def offset_text(moment: datetime) -> str:
    """``Z`` for UTC, else ``+hh:mm``."""
    minutes = int((moment.utcoffset() or timedelta(0)).total_seconds()) // 60
    if not minutes:
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
