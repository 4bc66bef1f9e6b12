"""The ``text_indices`` kernel (compiled and pure): for ascending offsets into NUL-joined
texts, the index of the text each offset is in (a NUL is the next text's left edge), as
counting the NULs up to and including each offset gives; out-of-range or descending
offsets are refused by both. The compiled half is skipped where it is not built."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twin is still held to the reference
    _compiled = None  # type: ignore[assignment]

KERNELS: list[Any] = [pure] + ([_compiled] if _compiled is not None else [])


@st.composite
def joined(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = draw(st.binary(min_size=1, max_size=300).map(
        lambda b: b.translate(bytes([0 if c % 3 == 0 else c for c in range(256)]))))
    offsets = sorted(draw(st.lists(st.integers(0, len(data) - 1), max_size=20)))
    return data, offsets


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.__name__.rsplit(".", 1)[-1])
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=joined())
def test_each_offset_gets_the_nuls_up_to_and_including_it(kernel: Any,
                                                          case: tuple[bytes, list[int]]) -> None:
    data, offsets = case
    assert kernel.text_indices(data, offsets) == [data[:o + 1].count(0) for o in offsets]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.__name__.rsplit(".", 1)[-1])
def test_a_nul_belongs_to_the_text_after_it(kernel: Any) -> None:
    data = b"ab\x00cd\x00\x00e"
    assert kernel.text_indices(data, [0, 1, 2, 3, 5, 6, 7, 7]) == [0, 0, 1, 1, 2, 3, 3, 3]
    assert kernel.text_indices(data, []) == []


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("offsets", [[-1], [8], [3, 2], [0, 100]])
def test_offsets_out_of_range_or_descending_are_refused(kernel: Any, offsets: list[int]) -> None:
    with pytest.raises(ValueError, match="ascending offsets"):
        kernel.text_indices(b"ab\x00cd\x00\x00e", offsets)
