"""The checkpoint file's format, by property: whatever the entries hold (any path, non-UTF-8
names included, 64-bit device and inode numbers, witnesses), what is written reads back
the same; and a file damaged anywhere is either still read or refused as corrupt, never an
unexpected error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.sources.checkpoints_format import (
    CheckpointEntry,
    CorruptCheckpoints,
    parse,
    serialise,
)
from shipper.sources.identity import FileIdentity, Witness

HEX = "0123456789abcdef"
#: any text, and bytes that are not UTF-8 as ``os.fsdecode`` gives them (lone surrogates)
PATHS = st.text(max_size=40) | st.binary(max_size=30).map(
    lambda raw: "/logs/" + raw.decode("utf-8", "surrogateescape"))


@st.composite
def witnesses(draw: st.DrawFn) -> Witness | None:
    at = draw(st.integers(0, 2**40))
    return draw(st.none() | st.builds(Witness, st.just(at), st.text(HEX, min_size=32,
                                                                     max_size=32),
                                      st.integers(at, 2**41)))


@st.composite
def entries(draw: st.DrawFn) -> list[CheckpointEntry]:
    out: dict[str, CheckpointEntry] = {}
    for _ in range(draw(st.integers(0, 4))):
        dev, ino = draw(st.integers(0, 2**64 - 1)), draw(st.integers(0, 2**64 - 1))
        fingerprint = draw(st.text(HEX, min_size=1, max_size=16))
        key = FileIdentity(dev, ino, fingerprint).key
        out[key] = CheckpointEntry(key, draw(PATHS), dev, ino, fingerprint,
                                   draw(st.integers(0, 2**40)), draw(st.floats(0, 2e9)),
                                   draw(st.none() | st.floats(1, 2e9)), draw(witnesses()))
    return list(out.values())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(entries(), st.none() | st.floats(1, 2e9))
def test_what_is_written_reads_back_the_same(saved: list[CheckpointEntry],
                                              since: float | None) -> None:
    """Every field of every entry, and ``since``, read back exactly, without problems."""
    got, got_since, problems = parse(serialise(saved, since))
    assert problems == []
    assert list(got.values()) == saved
    assert got_since == since


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(entries(), st.data())
def test_a_damaged_file_is_read_or_refused_as_corrupt(saved: list[CheckpointEntry],
                                                      data: st.DataObject) -> None:
    """Bytes changed, inserted or cut off anywhere: ``parse`` returns (dropping bad
    entries with a reason each) or raises :class:`CorruptCheckpoints`, nothing else."""
    raw = bytearray(serialise(saved, 1.5))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        edit = data.draw(st.sampled_from(["change", "cut", "insert"]))
        if edit == "change" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif edit == "cut":
            del raw[at:]
        else:
            raw.insert(at, data.draw(st.sampled_from(b'{}[]",:0-e.\\nu')))
    try:
        _, _, problems = parse(bytes(raw))
    except CorruptCheckpoints:
        return
    assert all(problem.startswith("entry ") for problem in problems)
