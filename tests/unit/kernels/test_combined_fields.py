"""The ``combined_fields`` kernel (a combined/common access line's fields): the compiled
kernel gives exactly what its pure twin gives (the ``_COMBINED`` regex, the reference),
fields, key order and types, on generated access lines with odd methods, quotes and
backslashes in paths and user agents, missing referer/agent, IPv6 clients, ``-`` and huge
sizes, odd blanks, non-ASCII text and lines cut short anywhere."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_access

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: nothing to compare
    compiled = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(compiled is None, reason="the extension is not built")
SETTINGS = settings(max_examples=2000, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_ODD = ' "\\-[]\t\n\x1c\x0bé٣ HTTP/1.1 200 '
#: each field: (well-formed values, odd values); an odd line draws each field from both
_TOKEN = (["-", "1.2.3.4", "2001:db8::1", "[::1]:8080", "frank"], ['a"b', "é", "x\x1cy", ""])
_WHEN = (["02/Dec/2026:10:00:00 +0000", "02/Dec/2026 10:00:00", "bad"], ["", "x]y"])
_METHOD = (["GET", "POST", "PROPFIND", "M-SEARCH", "\\x16\\x03", "-", 'G"T'], ["", "é"])
_PATH = (["/", "/x?a=1", '/a"b', "*", "http://h/p", '/"'],
         ['/a" 200', "/é", "", '/a" HTTP/1.1', "/a b"])
_PROTO = ([" HTTP/1.1", " HTTP/2.0", ""], [" HTTP/", " HTTP/1.1.", " HTTPS/1", " HTTP/٣"])
_STATUS = (["200", "404", "503"], ["99", "1000", "٢٠٠", "a"])
_SIZE = (["-", "0", "123", "0012", "9" * 18, "9" * 19], ["12a", "", "--", "٣"])
_QUOTED = (['"-"', '""', '"http://r/"', '"Mozilla/5.0 (X; \\"q\\")"', '"a\\\\"',
            '"a\nb"', '"k\\\\\\"8"'], ['"a\\', '"a\\\nb"', '"un closed', "-", '"é"'])
_BLANK = ([" "], ["", "  ", "\t"])


@st.composite
def access_lines(draw: st.DrawFn) -> str:
    odd = draw(st.integers(0, 3)) == 0

    def pick(field: tuple[list[str], list[str]]) -> str:
        return draw(st.sampled_from(field[0] + field[1] if odd else field[0]))

    line = (f'{pick(_TOKEN)} {pick(_TOKEN)} {pick(_TOKEN)} [{pick(_WHEN)}] "{pick(_METHOD)} '
            f'{pick(_PATH)}{pick(_PROTO)}" {pick(_STATUS)} {pick(_SIZE)}')
    tail = f"{pick(_BLANK)}{pick(_QUOTED)} {pick(_QUOTED)}"
    line += draw(st.sampled_from(["", tail, tail, tail + " extra"]))
    if odd and draw(st.booleans()):  # cut short anywhere
        line = line[:draw(st.integers(0, len(line)))]
    return line + draw(st.sampled_from(["", "", " rt=0.1", "\n", "é"]))


def _both(line: str) -> Any:
    got, expected = compiled.combined_fields(line), pure_access.combined_fields(line)
    assert got == expected, line
    if got is not None and expected is not None:  # same key order and value types
        assert list(got[0]["attributes"].items()) == list(expected[0]["attributes"].items())
        assert [type(v) for v in got[0]["attributes"].values()] == \
            [type(v) for v in expected[0]["attributes"].values()]
        assert list(got[0]) == list(expected[0])
    return expected


@given(access_lines())
@example('1.2.3.4 - - [02/Dec/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 123 "-" "ua"')
@example('::1 - bob [02/Dec/2026:10:00:00 +0000] "PURGE /a\\"b" 503 - "r" "u \\"q\\""')
@example('1.2.3.4 - - [t] "GET /a" 200 -')
@example('1.2.3.4 - - [t] "GET /a"" 200 1 "x\\\\" "y"')
@example('1.2.3.4 - - [t] "GET /a HTTP/1.1" 200 99999999999999999999 "-" "-"')
@settings(SETTINGS)
def test_compiled_matches_the_reference(line: str) -> None:
    _both(line)


@given(st.text(alphabet=st.sampled_from(list(_ODD) + list("ab1/")), max_size=60))
@settings(SETTINGS)
def test_compiled_matches_the_reference_on_noise(tail: str) -> None:
    _both('1.2.3.4 - - [02/Dec/2026:10:00:00 +0000] "' + tail)
    _both("1.2.3.4 " + tail)


def test_the_common_line_reads_every_field() -> None:
    line = ('2001:db8::1 - frank [02/Dec/2026:10:00:00 +0000] "GET /x HTTP/1.1" 404 123 '
            '"http://r/" "Mozilla \\"5\\""')
    record, when = _both(line)
    assert when == "02/Dec/2026:10:00:00 +0000"
    assert record == {"timestamp": None, "level": "warning", "message": line, "attributes": {
        "method": "GET", "path": "/x", "status": 404, "client": "2001:db8::1",
        "protocol": "HTTP/1.1", "bytes": 123, "user": "frank", "referer": "http://r/",
        "user_agent": 'Mozilla \\"5\\"'}}
