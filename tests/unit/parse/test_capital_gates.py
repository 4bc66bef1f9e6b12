"""Shortcuts in front of the capital-letter and tqdm rules, each held to what it skips:
a line opening with a capital then a lower-case letter never reaches klog, Python's
``LEVEL:logger:`` or Django's verbose layout (none of them can match it), and tqdm's
inlined rate gives ``_rate``'s fields."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_tqdm
from shipper.parse.families import consoles
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer

SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
_PIECES = ["INFO", ":", " ", "app.db", "2026-01-02", " 10:00:00,123", " views", " 12",
           " 140", "1", "0102", " 10:00:00.123456", "   1 main.go:12] ", "msg", "-", "\t"]
_LINES = st.tuples(st.sampled_from("ABEFIWDZ"), st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
                   st.lists(st.sampled_from(_PIECES), max_size=10).map("".join))


@SETTINGS
@given(_LINES)
@example(("E", "p", "och 3/10:  60%|x| 1/2 [00:01<00:01, 1.00it/s]"))
@example(("I", "n", "fo:app:msg"))
@example(("W", "a", "rning 2026-01-02 10:00:00,123 views 12 140 msg"))
def test_a_lower_case_second_letter_skips_only_rules_that_cannot_match(
        parts: tuple[str, str, str]) -> None:
    """``_capital`` (klog, ``_PY_COLON``) and ``capital_late`` (Django's verbose layout)
    give nothing for such a line, so skipping them changes no record."""
    line = "".join(parts)
    parser = TextParser(TimestampNormalizer(), Counter(), 64)
    assert parser._capital(line) is None
    assert parser._frameworks.capital_late(line) is None


_RATES = st.tuples(st.sampled_from(["?", "9.99", "10", "0.5", "1.2k", "3M", "322"]),
                   st.sampled_from(["", "it", "s", "kB", "B", "img"]),
                   st.sampled_from(["s", "it", "B"]))


@SETTINGS
@given(_RATES, st.sampled_from(["", "Epoch 3/10: ", "x: "]),
       st.sampled_from(["", ", loss=0.3", ", a=1, b=2"]))
def test_tqdms_inline_rate_is_rates(rate: tuple[str, str, str], desc: str,
                                    postfix: str) -> None:
    """A progress state with a total, every rate spelling: the fields ``_with_total``
    builds (rate inline for ``10.0it/s``) are what ``_rate`` and ``_progress_record``
    give from the same groups."""
    line = (f"{desc} 45%|\u2588\u2588\u2588\u2588\u258c     | 45/100 [00:04<00:05, "
            f"{''.join(rate[:2])}/{rate[2]}{postfix}]")
    parsed = consoles.progress(line)
    assert parsed is not None, line
    match = pure_tqdm._TQDM_TAIL.match(line, line.find("%|") + 1)
    assert match is not None
    value, numerator, denominator = match.group(5, 6, 7)  # as the pattern splits them
    fields: dict[str, Any] = {"percent": 45, "n": 45, "elapsed": 4, "total": 100,
                              "remaining": 5}
    pure_tqdm._rate(fields, value, numerator or "it", denominator)
    expected = pure_tqdm._progress_record(line, fields, desc[:-2] or None,
                                          postfix[2:] or None)
    assert parsed == expected
    assert list(parsed[1]["attributes"]["progress"]) == list(
        expected[1]["attributes"]["progress"])
