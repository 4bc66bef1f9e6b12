"""The ``logfmt_pairs`` kernel (a whole logfmt line's pairs, compiled and pure) gives what
``parse.logfmt``'s regexes give for every ASCII line, so ``parse_logfmt`` may hand it
its ASCII lines: generated pair lines with every quoting, escape and separator case,
near misses (a quote inside a bare value, a backslash before a newline or the end,
separators that are white space but not a space or tab), and any string of the
characters that matter. The compiled half is skipped where it is not built.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_logfmt
from shipper.parse import logfmt

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twin is still held to the reference
    _compiled = None  # type: ignore[assignment]

KERNELS: list[Any] = [pure_logfmt] + ([_compiled] if _compiled is not None else [])
SETTINGS = settings(max_examples=1500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: every character the grammar tells apart, and a few it does not
_ALPHABET = 'aZ_@09.-/=" \t\\\n\r\x0b\x0c\x1c\x1f:,{}x'


def _reference(text: str) -> dict[str, str] | None:
    """``parse_logfmt`` as it was before the kernel: its regexes (now defined once, in the
    pure twin's module, and imported by ``logfmt.py``), applied here step by step."""
    if (pure_logfmt._LOGFMT_START.match(text) is None
            or pure_logfmt._LOGFMT_LINE.fullmatch(text) is None):
        return None
    return {key: (pure_logfmt._unquote(value) if value[:1] == '"' else value)
            for key, value in pure_logfmt._PAIR.findall(text)}


def _agree(text: str) -> dict[str, str] | None:
    want = _reference(text)
    for kernel in KERNELS:
        got = kernel.logfmt_pairs(text)
        assert got == want, (kernel.__name__, text)
        assert got is None or list(got) == list(want or ()), (kernel.__name__, text)
    assert logfmt.parse_logfmt(text) == want
    return want


_KEYS = st.sampled_from(["time", "level", "msg", "a", "_x", "@t", "k.v-w/x@y", "k9",
                         "9k", "", "k y", "k\"", "caf\u00e9"[:3]])
_BARE = st.text(alphabet='aZ09.:/-_@{},x=\\', max_size=8)
_QUOTED = st.text(alphabet='aZ =\\"\t\n{x', max_size=8).map(lambda body: f'"{body}"')
_SEPARATORS = st.sampled_from([" ", "  ", "\t", " \t ", "", "\n", "\r", "\x0b", "\x1c", ","])


@st.composite
def _pair_lines(draw: st.DrawFn) -> str:
    """Lines of pairs, most of them well formed, some with a broken piece."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        parts.append(draw(_KEYS) + "=" + draw(_BARE | _QUOTED))
        parts.append(draw(_SEPARATORS) if draw(st.integers(0, 4)) == 0 else " ")
    if draw(st.booleans()):
        parts.pop()  # no separator after the last pair, most of the time
    return "".join(parts)


@SETTINGS
@given(_pair_lines() | st.text(alphabet=_ALPHABET, max_size=40))
@example('time=2026-01-02T10:00:00.000Z level=INFO msg="job started" job_id=j-1')
@example('msg="a \\"quoted\\" word" path="C:\\\\dir\\\\" k=')
@example('k="ends with a backslash\\')
@example('k="backslash newline\\\n"')
@example('k=a"b')
@example('a=1 a=2 b=3 a=4')
@example("a=1\x0bb=2")
@example("a=1 \n")
@example("")
@example("=")
def test_ascii_lines_agree_with_the_regexes(text: str) -> None:
    """Any ASCII line: compiled, pure and ``logfmt.py``'s regexes give the same pairs in
    the same order (the first position of a repeated key, its last value), or ``None``."""
    _agree(text)


def test_common_lines_give_their_pairs() -> None:
    """A slog line, a logrus line with escapes and a line with a stray quote: the pairs
    (quotes off, ``\\"`` and ``\\\\`` undone) or ``None``."""
    assert _agree('time=2026-01-02T10:00:00Z level=INFO+2 msg="a \\"b\\" c\\\\" n=') == {
        "time": "2026-01-02T10:00:00Z", "level": "INFO+2", "msg": 'a "b" c\\', "n": ""}
    assert _agree('time="2026-01-02T10:00:00Z"\tlevel=info   msg=ok ') == {
        "time": "2026-01-02T10:00:00Z", "level": "info", "msg": "ok"}
    assert _agree('level=info msg=it"s') is None
    assert _agree("plain words level=info") is None


def test_non_ascii_lines_keep_the_regex_path() -> None:
    """``parse_logfmt`` gives non-ASCII lines (where ``\\w`` and ``\\s`` are Unicode) to
    the regexes, not to the kernel."""
    assert logfmt.parse_logfmt("caf\u00e9=1 msg=\u2603") == {"caf\u00e9": "1", "msg": "\u2603"}
    assert logfmt.parse_logfmt("msg=a\u2003b=1") is None  # an em space is no separator


@SETTINGS
@given(st.text(alphabet=_ALPHABET + "\u00e9\u2028\u0085\u2003\u00a0\u4e2d", max_size=40)
       .filter(lambda text: not text.isascii()))
@example("a\u00e9=1")
@example("a=\u2028")
@example("a=1\u2028b=2")
@example("a=\x85")
def test_non_ascii_text_is_declined_by_both_twins(text: str) -> None:
    """The kernel's contract is ASCII: on any other text both twins give ``None`` (the
    regexes' ``\\w``/``\\s`` are Unicode and the typed scan's are not, so they would
    disagree), and ``parse_logfmt`` reads it with its own regexes."""
    assert [kernel.logfmt_pairs(text) for kernel in KERNELS] == [None] * len(KERNELS)


def test_the_pure_twin_runs_the_regexes_of_logfmt() -> None:
    """``logfmt.py`` reads pairs with the pure twin's very objects (one definition of the
    grammar): the pair regex, the unquoting and, for non-ASCII lines, ``regex_pairs``."""
    assert logfmt._PAIR is pure_logfmt._PAIR
    assert logfmt._unquote is pure_logfmt._unquote
    assert logfmt.regex_pairs is pure_logfmt.regex_pairs
    assert logfmt.parse_logfmt("caf\u00e9=1") == pure_logfmt.regex_pairs("caf\u00e9=1")
