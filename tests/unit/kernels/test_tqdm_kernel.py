"""The ``tqdm_progress`` kernel (a tqdm progress state's record): the compiled kernel gives
exactly what its pure twin gives (the regex path it replaced, the reference): same record
or ``None``, key order and value types, on the golden lines and on generated states with
and without a total, unknown totals, postfixes, ``s/it`` and SI-scaled rates, ``?`` rates,
unicode and ASCII bars, huge counts, descs holding ``:`` or ``|``, near misses and lines
cut short anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_tqdm
from shipper.parse.families.consoles import last_state

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: nothing to compare
    compiled = None  # type: ignore[assignment]

GOLDEN = Path(__file__).parents[2] / "golden" / "parse"
pytestmark = pytest.mark.skipif(compiled is None, reason="the extension is not built")
SETTINGS = settings(max_examples=1000, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: each field: (well-formed values, odd values); an odd line draws each field from both
_DESC = (["", "", "Epoch 3/10: ", "reading rows: ", "a: b: ", "x|y: ", "é: ", "train: ",
          "d" * 199 + ": ", "d" * 200 + ": "], ["train", "a\nb: ", ":", ": ", "  ", "x "])
_PCT = ([" 45", "100", "  0", "  5"], ["1000", "45", " 4 5", "x5", "٤٥", "   5"])
_BAR = (["|\u2588\u2588\u2588\u2588\u258c     |", "|##########|", "||", "|   |", "|a:b|"],
        ["|\u2588", "|\u2588||", "|x|y|"])
_COUNT = (["45", "0", "1.20M", "2.00k", "5k", "9" * 18, "9" * 19, "1.5", "12345678"],
          ["9" * 70, "1.", "5k2", "5k_x", "5kit", "5Mi", "٣", "?", "", "1e3"])
_TOTAL = (["100", "?", "2.00M", "9" * 25], ["", "x", "1.", "٣"])
_UNIT = (["", "it", "B", "kB", "it2"], ["_", " ", "é"])
_INTERVAL = (["00:04", "1:02:03", "2d, 1:02:03", "12:34", "00:00"],
             ["00:00:00:00", "0:0", "9" * 13 + ":00", "9" * 12 + "d, 00:01", "1:2", "?",
              ""])
_LEFT = (["00:05", "?", "1:02:03", "3d, 00:00:01"], ["", "0:0", "x"])
_RATE = (["10.00it/s", "9.99it/s", "?it/s", "1.23s/it", "0s/it", "?s/it", "322kB/s",
          "1.5Ms/B", "2.00/s", "5/s", "0.0000000001s/it", "1.5kit/s", "3.2GB/s"],
         ["3/", "x/s", "1.0it/", "9" * 70 + "it/s", "1.5k/", "?/"])
_POSTFIX = (["", "", ", loss=0.312, acc=0.91", ", loss=0.3", ", a=1, a=2", ", k=v=w",
             ", é=ü"], [", x", ", =1", ", a=1, ", ", ", ", a]b", ", a=1,b=2", ", a=\n"])
_BLANKS = ([" ", "  "], [""])
_END = (["]", "]", "]\n"], ["]]", "] ", "", "]\n\n"])


@st.composite
def with_total(draw: st.DrawFn) -> str:
    pick = _picker(draw)
    line = (pick(_DESC) + pick(_PCT) + "%" + pick(_BAR) + " " + pick(_COUNT) + "/"
            + pick(_TOTAL) + " [" + pick(_INTERVAL) + "<" + pick(_LEFT) + ","
            + pick(_BLANKS) + pick(_RATE) + pick(_POSTFIX) + pick(_END))
    return _cut(draw, line)


@st.composite
def no_total(draw: st.DrawFn) -> str:
    pick = _picker(draw)
    line = (pick(_DESC) + pick(_COUNT) + pick(_UNIT) + " [" + pick(_INTERVAL) + ","
            + pick(_BLANKS) + pick(_RATE) + pick(_POSTFIX) + pick(_END))
    return _cut(draw, line)


def _picker(draw: st.DrawFn) -> Any:
    odd = draw(st.integers(0, 3)) == 0

    def pick(field: tuple[list[str], list[str]]) -> str:
        return draw(st.sampled_from(field[0] + field[1] if odd else field[0]))
    return pick


def _cut(draw: st.DrawFn, line: str) -> str:
    if draw(st.integers(0, 6)) == 0:  # cut short anywhere
        line = line[:draw(st.integers(0, len(line)))]
    return line


_PIECES = ["%|", "|", "\u2588", " ", "45", "/", "1.2k", "?", "[", "]", "00:04", "<", ", ",
           "it/s", "s/it", "a=1", ":", ": ", "d, ", "\n", "x", "é", "5", "_"]
_SOUP = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


def _same(line: str) -> Any:
    got, expected = compiled.tqdm_progress(line), pure_tqdm.tqdm_progress(line)
    assert got == expected, line
    assert repr(got) == repr(expected), line  # key order, int vs float, "1.0" vs "1"
    return got


def test_the_golden_lines_give_the_reference_records() -> None:
    """Every state (each carriage-return state, and the last) of every golden line is
    read as the reference reads it; the golden tqdm cases' last states are records."""
    tqdm_states = 0
    for path in sorted(GOLDEN.glob("*.jsonl")):
        for case_text in path.read_text(encoding="utf-8").splitlines():
            case = orjson.loads(case_text)
            for line in case["lines"]:
                for state in line.split("\r"):
                    _same(state)
                got = _same(last_state(line))
                if case.get("formats") == {"tqdm": 1}:
                    assert got is not None, line
                    tqdm_states += 1
    assert tqdm_states >= 3


@SETTINGS
@given(with_total())
@example("100%|\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588| 100/100 "
         "[00:10<00:00,  9.99it/s]")
@example("Epoch 3/10:  60%|\u2588\u2588\u2588\u2588\u2588\u2588    | 1.20M/2.00M "
         "[1:02:03<41:22, 322kB/s, loss=0.312, acc=0.91]")
@example("  0%|          | 0/100 [00:00<?, ?it/s]")
@example(" 45%|####5     | 45/? [2d, 1:02:03<?, 1.23s/it]\n")
@example("x 45%|| 45/100 [00:01<00:01, 1it/s]")  # a desc without ":": not tqdm
@example(" 45%|| 45/100 [00:01<00:01, 1it/s, a]b]")  # a bracket inside the postfix
def test_states_with_a_total(line: str) -> None:
    """``desc: N%|bar| n/total [elapsed<remaining, rate, postfix]`` and near misses."""
    _same(line)


@SETTINGS
@given(no_total())
@example("reading rows: 5120it [00:03, 1706.67it/s]")
@example("0it [00:00, ?it/s]")
@example("5k_x [00:01, 1it/s]")  # the scale letter opens the unit
@example("a: b: 5it [00:01, 1it/s]")  # the first ": " that leaves a match
@example("checkpoint saved [repeated 7x across cluster]")
@example("é: 5it [00:01, 1it/s]")  # not ASCII: the twin reads it
def test_states_without_a_total(line: str) -> None:
    """``desc: Nunit [elapsed, rate, postfix]`` and near misses."""
    _same(line)


@SETTINGS
@given(_SOUP)
def test_generated_soup(line: str) -> None:
    """Any mix of the pieces of a state: same record or none."""
    _same(line)


def test_a_huge_interval_goes_to_the_twin() -> None:
    """Digit runs too long for a C integer: the twin's Python ints, the same record."""
    got = _same(" 45%|| 45/100 [" + "9" * 30 + ":00<00:01, 1it/s]")
    assert got is not None and got[1]["attributes"]["progress"]["elapsed"] == int(
        "9" * 30) * 60
