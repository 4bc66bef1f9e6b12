"""The compiled ``JsonLines`` kernel reads and sets the joiner's state through the
members of ``MultilineJoiner.__slots__``, and reads the normalizer's last seconds through
those of ``TimestampNormalizer.__slots__`` (no attribute lookup a line): the joiners and
the normalizer keep that state in slots, the kernel refuses a joiner that does not, and
what it sets there (the held record, its size, the cleared key-block header) is what the
pure twin sets through attributes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from shipper.kernels import pure_json
from shipper.parse import FileParser, ParseCounts
from shipper.parse.multiline import MultilineJoiner, StartJoiner
from shipper.parse.settings import ParseSettings
from shipper.parse.timestamps import TimestampNormalizer

try:
    from shipper.kernels import _compiled
except ImportError:  # not built
    _compiled = None  # type: ignore[assignment]

NOW = 1751797800.0
PATH = "/var/log/app/app.log"
_SLOTS = ("pending", "dangling", "_state", "_parts", "_size", "_header")


class _Unslotted:
    """A joiner-like object that keeps its state in an instance ``__dict__``."""

    def __init__(self) -> None:
        self.pending = self.dangling = self._parts = self._header = None
        self._state = self._size = 0


def test_joiners_keep_the_kernel_state_in_slots() -> None:
    """Both joiners have no instance dict: each name the kernel uses is a slot."""
    joiners = (MultilineJoiner(10, 100, Counter()),
               StartJoiner(lambda text: True, 10, 100, Counter()))
    for joiner in joiners:
        assert getattr(joiner, "__dict__", None) is None
        for name in _SLOTS:
            assert type(getattr(type(joiner), name)).__name__ == "member_descriptor"


def test_the_normalizer_keeps_its_last_seconds_in_slots() -> None:
    """The normalizer has no instance dict: the seconds the kernel reads are slots."""
    stamps = TimestampNormalizer()
    assert getattr(stamps, "__dict__", None) is None
    for name in ("good_second", "_epoch_second", "_epoch_prefix"):
        assert type(getattr(TimestampNormalizer, name)).__name__ == "member_descriptor"


@pytest.mark.skipif(_compiled is None, reason="the extension is not built")
def test_compiled_kernel_refuses_a_joiner_without_slots() -> None:
    """A joiner that does not keep ``pending`` in a slot is refused at construction."""
    parser = FileParser(PATH, ParseSettings(), ParseCounts(), clock=lambda: NOW,
                        runtime_format="plain")
    with pytest.raises(ValueError, match="pending"):
        _compiled.JsonLines(PATH, _Unslotted(), parser._lines.json_parser,
                            parser._text_line, parser._plain_line, parser._fallback_time,
                            200, parser.text_route())


def _run(kernel_type: Any, lines: list[bytes]) -> tuple[list[Any], Any]:
    parser = FileParser(PATH, ParseSettings(), ParseCounts(), clock=lambda: NOW,
                        runtime_format="plain")
    joiner = parser._joiner
    kernel = kernel_type(PATH, joiner, parser._lines.json_parser, parser._text_line,
                         parser._plain_line, parser._fallback_time, 200,
                         parser.text_route())
    out: list[Any] = []
    kernel.feed([(i * 100, line) for i, line in enumerate(lines)], frozenset(), out)
    return out, joiner


@pytest.mark.skipif(_compiled is None, reason="the extension is not built")
@pytest.mark.parametrize("lines", [
    [b"2025-07-06T10:30:00Z INFO held one"],
    [b"2025-07-06T10:30:00Z INFO first", b"2025-07-06T10:30:01Z WARN second"],
    [b"2025-07-06T10:30:00Z INFO first", b'{"level":"info","msg":"json"}'],
    [b"2025-07-06T10:30:00Z INFO first", b"  continued", b"2025-07-06T10:30:01Z INFO x"],
    [b'{"level":"info","msg":"json"}', b"2025-07-06T10:30:00Z ERROR last held"],
    # a JSON line lets the held record go: joined first, or a key block left dangling
    [b"2025-07-06T10:30:00Z INFO first", b"  continued", b'{"level":"info","msg":"j"}'],
    [b"2025-07-06T10:30:00Z INFO key", b"-----BEGIN RSA PRIVATE KEY-----",
     b'{"level":"info","msg":"j"}', b"MIIEowIBAAKCAQEA"],
    [b"Traceback (most recent call last):", b'{"level":"info","msg":"j"}'],
])
def test_compiled_kernel_sets_the_joiner_state_as_the_twin(lines: list[bytes]) -> None:
    """The records out, the held record and the joiner's slots after a chunk are the
    pure twin's."""
    out, joiner = _run(_compiled.JsonLines, lines)
    twin_out, twin = _run(pure_json.JsonLines, lines)
    assert out == twin_out
    for name in _SLOTS:
        assert getattr(joiner, name) == getattr(twin, name), name
    if lines[-1].startswith(b"2"):  # a stamped line is held, its size counted
        assert joiner.pending is not None
        assert joiner._size == len(joiner.pending["message"])
