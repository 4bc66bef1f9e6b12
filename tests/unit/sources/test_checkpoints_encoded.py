"""A save encodes only the entries that changed since the last one
(``CheckpointEntry.encoded``): whatever the store did in between (deliveries, witnesses,
retirements, copytruncate hand-overs moving a copy with its source), the bytes written
are those of encoding every entry afresh."""

from __future__ import annotations

from dataclasses import fields

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.sources.checkpoints import CheckpointStore
from shipper.sources.checkpoints_format import CheckpointEntry, parse, serialise
from shipper.sources.identity import Witness

KEYS = ["1:10:ab", "1:11:ab", "1:12:cd", "2:10:ab"]
PATHS = ["/app.log", "/app.log.1", "/other.log"]


def fresh(entry: CheckpointEntry) -> CheckpointEntry:
    """A copy with nothing encoded yet."""
    return CheckpointEntry(*(getattr(entry, f.name) for f in fields(entry) if f.init))


def witness(at: int, size: int) -> Witness:
    return Witness(at, f"{at:032x}", size)


OPS = st.one_of(
    st.tuples(st.just("note"), st.sampled_from(KEYS), st.integers(0, 500)),
    st.tuples(st.just("set"), st.sampled_from(KEYS), st.sampled_from(PATHS),
              st.integers(0, 500)),
    st.tuples(st.just("retire"), st.sampled_from(KEYS)),
    st.tuples(st.just("handover"), st.sampled_from(KEYS), st.sampled_from(KEYS),
              st.integers(0, 500)),
    st.tuples(st.just("save")),
)


def apply(store: CheckpointStore, op: tuple) -> None:
    kind = op[0]
    if kind == "note":
        store.note(op[1], witness(op[2], op[2] + 10))
    elif kind == "set":
        store.set(op[1], op[2], op[3])
    elif kind == "retire":
        store.retire(op[1])
    elif kind == "handover" and op[1] != op[2] and store.entry(op[2]) is None:
        store.handover(op[1], op[2], "/app.log.1", witness(op[3], op[3] + 10))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, max_size=40))
def test_a_save_writes_what_encoding_every_entry_afresh_writes(tmp_path_factory, ops):
    """After any sequence of store changes, with saves in between (which keep each
    entry's JSON), the bytes equal a fresh encoding and read back as the entries."""
    clock = iter(range(1, 10_000))
    store = CheckpointStore(tmp_path_factory.mktemp("cp"), clock=lambda: float(next(clock)))
    for op in ops:
        if op[0] == "save":
            serialise(store.entries(), store.since)
            continue
        apply(store, op)
        written = serialise(store.entries(), store.since)
        assert written == serialise([fresh(e) for e in store.entries()], store.since)
        assert list(parse(written)[0].values()) == store.entries()


def test_an_unchanged_entry_is_not_encoded_again():
    """The second save reuses the JSON of the entries that did not change (the same
    bytes object), and encodes the one that did."""
    quiet = CheckpointEntry("1:1:ab", "/q.log", 1, 1, "ab", 5, 1.0)
    busy = CheckpointEntry("1:2:ab", "/b.log", 1, 2, "ab", 5, 1.0)
    serialise([quiet, busy], None)
    kept = quiet.encoded
    busy.offset, busy.encoded = 9, None
    written = serialise([quiet, busy], 2.5)
    assert quiet.encoded is kept and busy.encoded is not None and b'"offset":9' in busy.encoded
    assert parse(written)[0]["1:2:ab"].offset == 9 and parse(written)[1] == 2.5
