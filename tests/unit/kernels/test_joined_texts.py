"""The ``joined_texts`` kernel: the compiled kernel gives exactly its pure twin's answer,
and whenever either answers, it is what ``BatchTexts(raw_texts(records))`` (the reference)
holds: the same bytes, the same unjudged texts, the same parts, on the golden corpus's
and the noise layouts' parsed lines and on generated batches with multi-line messages,
non-ASCII and NUL-holding lines, missing messages, non-string and subclassed values.
``BatchTexts.of_records`` holds the same whichever way it is built."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.filters.prescan import BatchTexts, raw_texts
from shipper.kernels import pure_noise
from shipper.record import Record

from .test_noise_drops import corpus_lines, noise_lines, parse

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: only the twin against the reference
    compiled = None  # type: ignore[assignment]


def _reference(records: list[Any]) -> tuple[bytes, set[int], list[Any]]:
    batch = BatchTexts(raw_texts(records))
    return batch.data, batch.unjudged, batch._parts


def _check(records: list[Any]) -> Any:
    twin = pure_noise.joined_texts(records)
    if compiled is not None:
        assert compiled.joined_texts(records) == twin
    if twin is not None:
        assert twin == _reference(records)
    built = BatchTexts.of_records(records)
    assert (built.data, built.unjudged, built._parts, built.size) == \
        (*_reference(records), len(records))
    return twin


def test_parsed_lines_are_joined_as_the_reference_joins_them() -> None:
    records = parse(noise_lines() + corpus_lines())
    assert _check(records) is not None
    for start in range(0, len(records), 97):
        assert _check(records[start:start + 97]) is not None


def test_an_empty_batch_is_joined() -> None:
    assert _check([]) == (b"", set(), [])


def test_newlines_and_nuls_are_found_in_strings_of_every_width() -> None:
    """The kernel reads a one-byte string in place and asks ``PyUnicode_FindChar`` for a
    wider one: a newline in a message (or a NUL in a line) of each width, at its start,
    middle or end, leaves the line unjudged; without one the line is judged."""
    batch: list[Any] = []
    for wide in ("", "\xe9", "\u0436", "\U0001f600"):
        for text in (f"{wide}x", f"\n{wide}x", f"{wide}\nx", f"x{wide}\n", f"{wide}\x00", "ok"):
            record = Record({"message": text})
            record.raw = text if wide == "" else "ascii line"
            batch.append(record)
    twin = _check(batch)
    assert twin is not None
    data, unjudged, _parts = twin
    expect = {i for i, r in enumerate(batch) if "\n" in r["message"] or "\x00" in r.raw}
    assert unjudged == expect and len(expect) == 3 * 4 + 1  # three newlines a width, one NUL


class _Str(str):
    """A string subclass (the kernel leaves such batches to the reference)."""


_TEXTS = st.sampled_from(["GET /health 200", "a\nb", "é", "x\x00y", "", "\x00", "plain",
                          None, 7, _Str("sub"), "ok\n"])


@st.composite
def records(draw: st.DrawFn) -> Any:
    record: Any = Record() if draw(st.integers(0, 9)) else {}
    message = draw(_TEXTS)
    if message is not None or draw(st.booleans()):
        record["message"] = message
    if isinstance(record, Record):
        raw: Any = draw(_TEXTS)
        record.raw = raw
    return record


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records(), max_size=8))
def test_generated_batches_are_joined_as_the_reference_joins_them(batch: list[Any]) -> None:
    try:
        _reference(batch)
    except AttributeError:  # a plain dict has no raw line: the kernel leaves it
        assert pure_noise.joined_texts(batch) is None
        return
    _check(batch)


def test_a_record_without_its_raw_slot_raises_alike() -> None:
    """The compiled kernel reads ``raw`` through the slot's member, not the attribute
    lookup: a record whose ``raw`` slot is unset raises the very ``AttributeError`` the
    twin raises, and a set one reads the same (``None`` included: not judged)."""
    unset = Record({"message": "m"})
    del unset.raw
    kernels = [pure_noise.joined_texts] + ([compiled.joined_texts] if compiled else [])
    errors = []
    for kernel in kernels:
        try:
            kernel([unset])
        except AttributeError as exc:
            errors.append(str(exc))
    assert len(errors) == len(kernels) and len(set(errors)) == 1
    texts = Record({"message": "m"})
    texts.raw = "GET /health 200"
    assert {repr(kernel([texts, Record({"message": "x"})])) for kernel in kernels} == \
        {repr(pure_noise.joined_texts([texts, Record({"message": "x"})]))}
