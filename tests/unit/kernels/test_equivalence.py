"""The compiled kernels give exactly what their pure-Python twins give: on generated
inputs (hypothesis), on every line of the public corpus and of the golden files, and on
the shared bench corpus when it is there. Skipped only where the extension is not built."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")

ROOT = Path(__file__).resolve().parents[3]
PUBLIC_CORPUS = ROOT.parent / "shared" / "corpus"
BENCH_GENERATOR = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
GOLDEN = ROOT / "tests" / "golden" / "parse"
SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _split_both(data: bytes, start: int, end: int, base: int, limit: int) -> list[Any]:
    results = []
    for mod in (pure, compiled):
        lines: list[tuple[int, bytes]] = []
        truncated: set[int] = set()
        mod.split_lines(data, start, end, base, limit, lines, truncated)
        results.append((lines, truncated))
    return results


@st.composite
def _chunks(draw: st.DrawFn) -> tuple[bytes, int, int, int, int]:
    data = draw(st.binary(max_size=300) | st.lists(
        st.sampled_from([b"\n", b"\x00", b"a", b"bc", b"\x00\x00", b"\xff", b" "]),
        max_size=80).map(b"".join))
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, len(data)))
    return data, start, end, draw(st.integers(0, 2**40)), draw(st.integers(1, 12))


@SETTINGS
@given(_chunks())
@example((b"\x00\x00\n\x00ab\n\n", 0, 8, 5, 1))
def test_split_lines_matches_pure(case: tuple[bytes, int, int, int, int]) -> None:
    """Lines, offsets, NUL skipping and truncation agree for any bytes and bounds."""
    got_pure, got_compiled = _split_both(*case)
    assert got_compiled == got_pure


def test_split_lines_rejects_bad_bounds() -> None:
    """The compiled splitter checks its bounds instead of reading past the buffer."""
    with pytest.raises(ValueError):
        compiled.split_lines(b"abc", 0, 4, 0, 10, [], set())
    with pytest.raises(ValueError):
        compiled.split_lines(b"abc", 2, 1, 0, 10, [], set())


#: what decides a key, a word and a pair: key characters, '=', ASCII and Unicode white
#: space (str.split's set, \x1c-\x1f included), Unicode letters/digits, quotes, noise
_PAIR_ALPHABET = (string.ascii_letters[:6] + "_@.-/=0 \t\n\x0b\x1c\x85\u00a0\u2003"
                  + '":,é٣Ⅻ\u0301€')


@SETTINGS
@given(st.text(alphabet=_PAIR_ALPHABET, max_size=60)
       | st.lists(st.sampled_from(["a=1", "b=", "=c", "é=2", "@x.y/z-w=v=w", "k=\u00a0",
                                   "word", " ", "  ", "\u2003", "x٣=1", "1a=2", "Ⅻ=3",
                                   "a\u0301=4", "q=\"s p\""]), max_size=8).map(" ".join))
@example("Progress processed=209 total=500")
@example("  lead a=1")
def test_trailing_pairs_matches_pure(message: str) -> None:
    """The head and the pairs agree for any message (keys, Unicode, white space)."""
    assert compiled.trailing_pairs(message) == pure.trailing_pairs(message)


_WORDS = ["a=1", "b=", "=c", "é=2", "@x.y/z-w=v=w", "word", "x٣=1", "1a=2", "Ⅻ=3", "a\u0301=4",
          "k:v=1", "_=_", "A-b=\u00e9", '"q"=1', ""]
_SPACES = [" ", "\t", "\x1c", "\x85", "\u00a0", "\u2003", "  ", "\u200b"]


def test_trailing_pairs_table_matches_pure() -> None:
    """Every message of three words from a table of keys, values and separators (ASCII and
    Unicode white space, and a zero-width space that is none) agrees both ways."""
    messages = [w1 + s1 + w2 + s2 + w3 for w1 in _WORDS for s1 in _SPACES for w2 in _WORDS
                for s2 in _SPACES[:5] for w3 in _WORDS[:8]]
    diffs = [m for m in messages if compiled.trailing_pairs(m) != pure.trailing_pairs(m)]
    assert diffs == []
    assert sum(pure.trailing_pairs(m)[1] is not None for m in messages) > len(messages) // 3


_DATES = ["2025-07-06", "2025/07/06", "2025-07/06", "202-07-06", "2025-7-06", "٢٠٢٥-07-06"]
_ZONES = ["", "Z", "z", " Z", "UTC", " UTC", "GMT", "+01:00", "-0130", "+01:0", "+1", "+01",
          " +05:30", "+01:00:", "UT", "  Z", "\u00a0Z"]
_AFTER = ["", " ", "x", "_", ":", "1", "]", " INFO msg", "\tINFO", "Z", "é", "-", "."]


@st.composite
def _stamps(draw: st.DrawFn) -> str:
    text = (draw(st.sampled_from(_DATES)) + draw(st.sampled_from("T t_"))
            + draw(st.sampled_from(["10:30:00", "10:3:00", "10-30-00", "24:61:99"]))
            + draw(st.sampled_from(["", ".", ",", ".5", ",123", ".123456789", ".x"]))
            + draw(st.sampled_from(_ZONES)) + draw(st.sampled_from(_AFTER)))
    if draw(st.booleans()):  # one character replaced anywhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from("09-/:T .,Z+é\x00")) + text[at + 1:]
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


@SETTINGS
@given(_stamps() | st.text(alphabet="0123456789-/:T .,Z+UTCGM", max_size=40))
@example("2025-07-06T10:30:00.123+01:00 INFO x")
def test_iso_prefix_matches_pure(text: str) -> None:
    """Groups and end of the ISO prefix agree for near-timestamps of every shape."""
    assert compiled.iso_prefix(text) == pure.iso_prefix(text)


def test_iso_prefix_table_matches_pure() -> None:
    """Every combination of date, separator, clock, fraction, zone and what follows agrees
    both ways, as does each of its prefixes."""
    texts = [date + sep + clock + frac + zone + after
             for date in _DATES[:3] for sep in "T _" for clock in ("10:30:00", "10:3:00")
             for frac in ("", ".", ",5", ".123456789", ".x") for zone in _ZONES
             for after in _AFTER]
    texts += [text[:cut] for text in texts[::7] for cut in range(len(text))]
    diffs = [t for t in texts if compiled.iso_prefix(t) != pure.iso_prefix(t)]
    assert diffs == []
    assert sum(pure.iso_prefix(t) is not None for t in texts) > len(texts) // 20


def _corpus_lines(tmp: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(PUBLIC_CORPUS.glob("*/input/**/*.log")):
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    for path in sorted(GOLDEN.glob("*.jsonl")):
        for case in path.read_text(encoding="utf-8").splitlines():
            lines += orjson.loads(case)["lines"]
    if BENCH_GENERATOR.exists():  # 5,000 lines of the shared bench corpus (plain and CRI)
        subprocess.run([sys.executable, str(BENCH_GENERATOR), "5000", str(tmp)], check=True,
                       capture_output=True, timeout=120)
        for name in ("app.log", "app.cri.log"):
            lines += (tmp / name).read_text(encoding="utf-8").splitlines()
    return lines


def _candidates(line: str) -> list[str]:
    """The line, and what follows its first and second words (the text a parser hands
    the kernels after a time or a level), and the part after a CRI/docker prefix."""
    words = line.split(" ", 2)
    return [line, *words[1:], line[31:]]


def test_corpus_and_golden_lines_match_pure(tmp_path: Path) -> None:
    """Every line of the public corpus, the golden files and the shared bench corpus
    gives the same prefix, pairs and split both ways."""
    lines = _corpus_lines(tmp_path)
    assert len(lines) > 300, "the corpus and golden files were not found"
    diffs = [text for line in lines for text in _candidates(line)
             if compiled.iso_prefix(text) != pure.iso_prefix(text)
             or compiled.trailing_pairs(text) != pure.trailing_pairs(text)]
    assert diffs == []
    blob = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    for limit in (1, 64, 1 << 20):
        got_pure, got_compiled = _split_both(blob, 0, len(blob) - 1, 7, limit)
        assert got_compiled == got_pure
        assert len(got_pure[0]) == len(lines)
