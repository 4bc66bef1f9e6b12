"""Generated lines of the console layouts (``families/consoles.py``) and loguru's
colourised console (parsed by text.py once the ANSI escapes are gone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.layouts import Layout
from tests.unit.parse.families.python_values import (
    LEVELS,
    canonical,
    level_words,
    messages,
    moments,
    names,
)

Case = tuple[str, dict[str, Any]]
NOW = "2026-01-01T00:00:00.000Z"  # the read time (test_golden.NOW)
ESC = "\x1b"


def _clock(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _tqdm(desc: str | None, n: int, extra: int, elapsed: int, rate: float,
          updates: int) -> Case:
    total = n + extra
    percent = n * 100 // total
    bar = ("█" * (percent // 10)).ljust(10)
    remaining = round((total - n) / rate) if rate else 0
    state = (f"{desc + ': ' if desc else ''}{percent:3d}%|{bar}| {n}/{total} "
             f"[{_clock(elapsed)}<{_clock(remaining)}, {rate:.2f}it/s]")
    earlier = "".join(f"\r{i:3d}%|{'':10}| {i}/{total} [00:00<?, ?it/s]"
                      for i in range(updates))
    fields: dict[str, Any] = {"percent": percent, "n": n, "total": total,
                              "elapsed": elapsed, "remaining": remaining,
                              "rate": float(f"{rate:.2f}"), "unit": "it"}
    if desc:
        fields["desc"] = desc
    return f"{earlier}\r{state}", {"timestamp": NOW, "level": "info",
                                   "message": state.lstrip(" "),
                                   "attributes": {"progress": fields}}


def _tqdm_no_total(desc: str, n: int, elapsed: int, unit: str) -> Case:
    state = f"{desc}: {n}{unit} [{_clock(elapsed)}, ?{unit}/s]"
    return f"\r{desc}: 0{unit} [00:00, ?{unit}/s]\r{state}", {
        "message": state, "attributes": {"progress": {
            "n": n, "elapsed": elapsed, "unit": unit, "desc": desc}}}


def _rich(moment: datetime, word: str, message: str, caller: str | None) -> Case:
    head = f"[{moment:%m/%d/%y %H:%M:%S}] {word:<8} {message}"
    line = f"{head:<70} {caller}" if caller else head
    return line, {"timestamp": canonical(moment, millis=False), "level": LEVELS[word],
                  "message": message, "logger": None,
                  "attributes": {"caller": caller or "<missing>"}}


def _rich_repeat(word: str, message: str, caller: str) -> Case:
    line = f"{'':20}{word:<8} {message:<40} {caller}"
    return line, {"timestamp": NOW, "level": LEVELS[word], "message": message,
                  "attributes": {"caller": caller}}


def _loguru_ansi(moment: datetime, word: str, module: str, function: str, line: int,
                 message: str) -> Case:
    text = (f"{ESC}[32m{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}{ESC}[0m"
            f" | {ESC}[1m{word:<8}{ESC}[0m | {ESC}[36m{module}{ESC}[0m:{ESC}[36m{function}"
            f"{ESC}[0m:{ESC}[36m{line}{ESC}[0m - {ESC}[1m{message}{ESC}[0m")
    return text, {"timestamp": canonical(moment), "level": LEVELS[word], "logger": module,
                  "message": message, "attributes": {"function": function, "line": line}}


descs = st.from_regex(r"[A-Z][a-z]{1,8}( [a-z0-9/]{1,6}){0,2}", fullmatch=True)
callers = st.from_regex(r"[a-z_]{1,12}\.py:[1-9][0-9]{0,3}", fullmatch=True)
short_messages = messages.filter(lambda m: len(m) <= 40)
rich_moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 12, 31))

LAYOUTS = [
    Layout("tqdm", "tqdm", st.builds(
        _tqdm, st.none() | descs, st.integers(0, 10**6), st.integers(1, 10**6),
        st.integers(0, 90_000), st.floats(0.01, 1e5, allow_nan=False), st.integers(0, 3))),
    Layout("tqdm_no_total", "tqdm", st.builds(
        _tqdm_no_total, descs, st.integers(0, 10**6), st.integers(0, 3599),
        st.sampled_from(["it", "rows", "files"]))),
    Layout("rich", "rich", st.builds(
        _rich, rich_moments.map(lambda m: m.replace(microsecond=0)), level_words,
        short_messages, st.none() | callers)),
    Layout("rich_repeated_time", "rich", st.builds(
        _rich_repeat, level_words, short_messages, callers)),
    Layout("loguru_ansi", "text", st.builds(
        _loguru_ansi, moments, level_words, names, st.from_regex(r"[a-z_]{1,10}",
                                                                  fullmatch=True),
        st.integers(1, 9999), messages)),
]
