"""Generated values shared by the Python-family strategies (``strategies_python_*``):
messages, levels, times (with the canonical form the parser must give), requests."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st

LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error",
          "CRITICAL": "critical"}
level_words = st.sampled_from(sorted(LEVELS))
_word = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9,.'():!?/]{0,10}", fullmatch=True),
    st.sampled_from(["café", "naïve", "日本語", "Größe", "ok", "done", "42"]))
#: a message as a framework logs it: words, single spaces, no trailing ``k=v`` run
messages = st.lists(_word, min_size=1, max_size=8).map(" ".join)
#: the same, opening with a lower-case letter (text that opens no layout of its own)
plain_messages = st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                           messages).map(" ".join)
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 12, 31))
offsets = st.sampled_from([0, 60, -300, 330, -90])
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
paths = st.from_regex(r"/[a-z0-9_/]{0,20}(\?[a-z]{1,5}=[0-9]{1,3})?", fullmatch=True)
statuses = st.sampled_from([200, 201, 204, 301, 304, 400, 404, 422, 500, 503])
ips = st.tuples(*[st.integers(1, 254)] * 4).map(lambda p: ".".join(map(str, p)))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def canonical(moment: datetime, millis: bool = True) -> str:
    """What the parser must give for a naive UTC ``moment`` (to the millisecond)."""
    ms = f"{moment.microsecond // 1000:03d}" if millis else "000"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + ms + "Z"


def local(moment: datetime, minutes: int) -> tuple[datetime, str]:
    """``moment`` (UTC) as the local time of a zone ``minutes`` east, and its ``+hhmm``."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return moment + timedelta(minutes=minutes), f"{sign}{hours:02d}{mins:02d}"


def status_level(status: int) -> str:
    return "error" if status >= 500 else "warning" if status >= 400 else "info"
