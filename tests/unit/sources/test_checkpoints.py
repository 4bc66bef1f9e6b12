"""CheckpointStore: persistence, corruption tolerance, fingerprints and pruning."""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest

from shipper.metrics import Metrics
from shipper.sources.checkpoints import FILE_NAME, CheckpointStore
from shipper.sources.identity import Witness

KEY = "64768:1234:aabbccdd"


async def test_saved_offsets_survive_a_restart(tmp_path):
    """set + save, then a fresh store loads the same offsets."""
    store = CheckpointStore(tmp_path)
    store.set(KEY, "/var/log/a.log", 42)
    await store.save()
    again = CheckpointStore(tmp_path)
    await again.load()
    assert again.get(KEY) == 42
    doc = json.loads((tmp_path / FILE_NAME).read_text())
    assert doc["version"] == 2 and doc["files"][0]["path"] == "/var/log/a.log"
    assert not list(tmp_path.glob(".*.tmp"))


async def test_missing_file_means_empty_store(tmp_path):
    """No checkpoint file: nothing known, no error."""
    store = CheckpointStore(tmp_path / "nothing-here")
    await store.load()
    assert store.get(KEY) is None and len(store) == 0


async def test_corrupt_file_is_set_aside_with_a_warning(tmp_path, caplog):
    """Garbage in the checkpoint file: start empty, keep the file aside, say so."""
    (tmp_path / FILE_NAME).write_bytes(b"{not json")
    store = CheckpointStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="shipper.sources"):
        await store.load()
    assert len(store) == 0
    assert (tmp_path / (FILE_NAME + ".corrupt")).exists()
    assert any("corrupt" in r.message for r in caplog.records)


async def test_wrong_version_is_treated_as_corrupt(tmp_path):
    """A checkpoint file of another version is not guessed at."""
    (tmp_path / FILE_NAME).write_text(json.dumps({"version": 99, "files": []}))
    store = CheckpointStore(tmp_path)
    await store.load()
    assert len(store) == 0


async def test_save_without_changes_writes_nothing(tmp_path):
    """save() only writes when something changed."""
    store = CheckpointStore(tmp_path)
    await store.save()
    assert not (tmp_path / FILE_NAME).exists()


async def test_saved_bytes_is_the_size_of_the_file_the_last_save_wrote(tmp_path):
    """The saver paces saves by it (``shipper.saving.pause_after``)."""
    store = CheckpointStore(tmp_path)
    assert store.saved_bytes == 0
    store.set(KEY, "/a.log", 7)
    await store.save()
    first = store.saved_bytes
    assert first == (tmp_path / FILE_NAME).stat().st_size > 0
    store.set("64768:99:ee", "/b.log", 3)
    await store.save()
    assert store.saved_bytes == (tmp_path / FILE_NAME).stat().st_size > first


async def test_candidates_are_the_entries_of_one_device_inode(tmp_path):
    """Entries are looked up by device/inode (every generation), highest offset first; an
    entry pruned away leaves that index too."""
    now = [1000.0]
    store = CheckpointStore(tmp_path, lambda: now[0], retain=60)
    store.set("1:10:ff", "/a.log", 5)
    store.set("1:10:ff:1", "/a.log", 9)
    store.set("1:11:ff", "/b.log", 7)
    assert [e.key for e in store.candidates(1, 10)] == ["1:10:ff:1", "1:10:ff"]
    assert store.candidates(2, 10) == []
    store.retire("1:10:ff:1")
    now[0] += 61
    await store.save()
    assert [e.key for e in store.candidates(1, 10)] == ["1:10:ff"]


async def test_retired_entries_are_pruned_after_retention(tmp_path):
    """A file let go is forgotten ``retain`` seconds later, at a save."""
    now = [1000.0]
    store = CheckpointStore(tmp_path, lambda: now[0], retain=60)
    store.set(KEY, "/a.log", 1)
    store.retire(KEY)
    await store.save()
    assert store.get(KEY) == 1
    now[0] += 61
    store.set("1:2:3", "/b.log", 1)
    await store.save()
    assert store.get(KEY) is None


async def test_entry_count_is_bounded(tmp_path):
    """At most max_entries are kept; the least recently updated go first."""
    now = [0.0]
    store = CheckpointStore(tmp_path, lambda: now[0], max_entries=2)
    for i in range(3):
        now[0] += 1
        store.set(f"1:{i}:ab", f"/{i}.log", i)
    await store.save()
    assert store.get("1:0:ab") is None and store.get("1:2:ab") == 2


def test_set_rejects_keys_that_are_not_file_keys(tmp_path):
    """Only tailer file keys can be checkpointed."""
    with pytest.raises(ValueError):
        CheckpointStore(tmp_path).set("whatever", "/a.log", 1)


async def test_failed_save_is_reported_once_retried_and_recovers(tmp_path, caplog):
    """A state directory that cannot be written (here: a file in its place) makes save()
    return False without raising, warns once per run of failures, counts every failure,
    and the next save after the cause is gone writes the checkpoints."""
    blocked = tmp_path / "state"
    blocked.write_bytes(b"not a directory")
    metrics = Metrics(collectors=False)
    store = CheckpointStore(blocked, metrics=metrics)
    store.set(KEY, "/var/log/a.log", 7)
    with caplog.at_level(logging.INFO, logger="shipper.sources"):
        assert await store.save() is False
        assert await store.save() is False
        warnings = [r for r in caplog.records if "cannot save checkpoints" in r.message]
        assert len(warnings) == 1 and store.failures == 2
        assert metrics.value("shipper_checkpoint_saves_total", outcome="failed") == 2
        assert metrics.value("shipper_checkpoint_bytes") == 0
        blocked.unlink()
        assert await store.save() is True
    assert any("saved again" in r.message for r in caplog.records)
    assert metrics.value("shipper_checkpoint_saves_total", outcome="ok") == 1
    assert metrics.value("shipper_checkpoint_bytes") == (blocked / FILE_NAME).stat().st_size
    again = CheckpointStore(blocked)
    await again.load()
    assert again.get(KEY) == 7


# -- issue 11: a change made while a save is written is saved too ------------------------------


async def test_a_change_during_a_save_is_written_by_the_next_save(tmp_path, monkeypatch):
    """A set() while the previous state is being written keeps the store dirty, so the
    next save writes it (it used to be marked clean and never saved)."""
    import threading

    from shipper.sources import checkpoints as checkpoint

    writing, release = threading.Event(), threading.Event()
    real_write = checkpoint.write_atomic

    def slow_write(path, data):
        writing.set()
        release.wait(5)
        real_write(path, data)

    monkeypatch.setattr(checkpoint, "write_atomic", slow_write)
    store = CheckpointStore(tmp_path)
    store.set(KEY, "/a.log", 10)
    saving = asyncio.ensure_future(store.save())
    assert await asyncio.to_thread(writing.wait, 5)
    store.set(KEY, "/a.log", 20)  # lands while the save of offset 10 is in its thread
    release.set()
    assert await saving is True
    assert store.dirty
    assert await store.save() is True and not store.dirty
    again = CheckpointStore(tmp_path)
    await again.load()
    assert again.get(KEY) == 20


async def test_save_never_raises_whatever_happens(tmp_path, monkeypatch, caplog):
    """An unexpected error inside save() is logged and counted, save() returns False,
    and the next save works."""
    from shipper.sources import checkpoints as checkpoint

    store = CheckpointStore(tmp_path)
    store.set(KEY, "/a.log", 1)
    monkeypatch.setattr(checkpoint, "serialise", lambda *a: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="shipper.sources"):
        assert await store.save() is False
    assert store.failures == 1 and any("unexpectedly" in r.message for r in caplog.records)
    monkeypatch.undo()
    assert await store.save() is True


# -- witnesses: each saved offset carries the check of the bytes before it ------------------


def witness(at: int, size: int | None = None) -> Witness:
    return Witness(at, f"{at:032x}", size if size is not None else at)


def test_set_takes_the_witness_of_the_highest_noted_offset_at_or_below(tmp_path):
    """Chunk ends noted by the tailer become the entry's witness as deliveries pass them;
    an offset between two keeps the lower; with none below, the next one above."""
    store = CheckpointStore(tmp_path)
    for at in (100, 200, 300):
        store.note(KEY, witness(at))
    store.set(KEY, "/a.log", 50)
    assert store.entry(KEY).witness == witness(100)  # nothing at or below 50 yet
    store.set(KEY, "/a.log", 250)
    assert store.entry(KEY).witness == witness(200)
    store.set(KEY, "/a.log", 300)
    assert store.entry(KEY).witness == witness(300)
    store.set(KEY, "/a.log", 400)  # nothing noted past 300: the last witness stays
    assert store.entry(KEY).offset == 400 and store.entry(KEY).witness == witness(300)


def test_pending_witnesses_are_bounded_per_file(tmp_path):
    """A file whose chunks are never delivered keeps at most MAX_PENDING_WITNESSES."""
    from shipper.sources.checkpoints_links import MAX_PENDING_WITNESSES

    store = CheckpointStore(tmp_path)
    for at in range(1, 3 * MAX_PENDING_WITNESSES):
        store.note(KEY, witness(at))
    assert len(store._pending) == MAX_PENDING_WITNESSES


async def test_witness_survives_a_restart_and_version_1_loads_without(tmp_path):
    """Version 2 keeps check_at/check/size; a version 1 file loads as entries without a
    witness (and is rewritten as version 2 by the next save)."""
    store = CheckpointStore(tmp_path)
    store.note(KEY, witness(40, 90))
    store.set(KEY, "/a.log", 40)
    await store.save()
    again = CheckpointStore(tmp_path)
    await again.load()
    assert again.entry(KEY).witness == witness(40, 90)
    old = {"version": 1, "files": [{"key": KEY, "path": "/a.log", "dev": 64768, "ino": 1234,
                                    "fingerprint": "aabbccdd", "offset": 7, "updated": 5.0,
                                    "retired": None}]}
    (tmp_path / FILE_NAME).write_text(json.dumps(old))
    v1 = CheckpointStore(tmp_path)
    await v1.load()
    assert v1.get(KEY) == 7 and v1.entry(KEY).witness is None and not v1.dirty


# -- copytruncate hand-over -------------------------------------------------------------------

SOURCE, COPY = "1:10:ab", "1:11:ab"


def test_copy_follows_its_source_until_the_handover_offset(tmp_path):
    """The copy's checkpoint is its source's delivered offset until that reaches the
    hand-over offset, whatever order the deliveries of the two files complete in."""
    store = CheckpointStore(tmp_path)
    store.note(SOURCE, witness(60, 600))
    store.set(SOURCE, "/app.log", 60)
    store.handover(SOURCE, COPY, "/app.log.1", witness(100, 150))
    assert store.get(COPY) == 60
    assert store.entry(COPY).witness == Witness(60, witness(60).check, 150)
    store.note(COPY, witness(140, 150))
    store.set(COPY, "/app.log.1", 140)  # the copy's own delivery, source still at 60
    assert store.get(COPY) == 60
    store.set(SOURCE, "/app.log", 100)  # the source reaches the hand-over offset
    assert store.get(COPY) == 140 and store.entry(COPY).witness == witness(140, 150)
    store.set(SOURCE, "/app.log", 100)
    store.set(COPY, "/app.log.1", 150)  # on its own now
    assert store.get(COPY) == 150


def test_copy_handed_over_at_zero_stands_alone(tmp_path):
    """Nothing of the source was read: the copy's own deliveries count at once."""
    store = CheckpointStore(tmp_path)
    store.handover(SOURCE, COPY, "/app.log.1", witness(0, 150))
    store.set(COPY, "/app.log.1", 70)
    assert store.get(COPY) == 70


# -- damaged files: set aside, counted once, never a crash ----------------------------------

GOOD = {"key": KEY, "path": "/a.log", "dev": 64768, "ino": 1234, "fingerprint": "aabbccdd",
        "offset": 7, "updated": 5.0, "retired": None}
BROKEN = {
    "deep nesting": b"[" * 100_000,
    "not an object": b"[1, 2]",
    "no files": json.dumps({"version": 2}).encode(),
    "bad since": json.dumps({"version": 2, "files": [], "since": "now"}).encode(),
    "too large": b" " * (64 * 1024 * 1024 + 1),
}
BAD_ENTRIES = {
    "retired is not a time": {**GOOD, "key": "1:2:ab", "ino": 2, "fingerprint": "ab",
                              "retired": "yesterday"},
    "negative offset": {**GOOD, "key": "1:3:ab", "ino": 3, "fingerprint": "ab", "offset": -1},
    "missing keys": {"key": "1:4:ab", "path": "/x"},
    "bool as offset": {**GOOD, "key": "1:5:ab", "ino": 5, "fingerprint": "ab", "offset": True},
    "wrong type for key": {**GOOD, "key": 12345},
    "not a dict": "1:6:ab",
    "NaN updated": {**GOOD, "key": "1:7:ab", "ino": 7, "fingerprint": "ab",
                    "updated": float("nan")},
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_broken_file_is_moved_aside_counted_once_and_saving_works(tmp_path, kind,
                                                                       caplog):
    """A file that is not a checkpoint file: moved to checkpoints.json.corrupt, one
    warning, shipper_state_set_aside_total{kind="checkpoints"} 1, start empty, save ok."""
    from shipper.metrics import Metrics

    (tmp_path / FILE_NAME).write_bytes(BROKEN[kind])
    metrics = Metrics(collectors=False)
    store = CheckpointStore(tmp_path, metrics=metrics)
    with caplog.at_level(logging.WARNING, logger="shipper.sources"):
        await store.load()
    assert len(store) == 0
    assert (tmp_path / (FILE_NAME + ".corrupt")).exists()
    assert len([r for r in caplog.records if "checkpoint file" in r.message]) == 1
    assert metrics.value("shipper_state_set_aside_total", kind="checkpoints") == 1
    store.set(KEY, "/a.log", 3)
    assert await store.save() is True


@pytest.mark.parametrize("kind", sorted(BAD_ENTRIES))
async def test_bad_entry_is_dropped_and_the_good_ones_kept(tmp_path, kind, caplog):
    """One bad entry among good ones: that entry is dropped (one warning, counted once),
    the good entry kept, the original copied aside, and prune/save work afterwards."""
    from shipper.metrics import Metrics

    doc = {"version": 1, "files": [GOOD, BAD_ENTRIES[kind]], "since": 10.0}
    (tmp_path / FILE_NAME).write_text(json.dumps(doc))
    metrics = Metrics(collectors=False)
    now = [1e9]
    store = CheckpointStore(tmp_path, lambda: now[0], metrics=metrics, retain=60)
    with caplog.at_level(logging.WARNING, logger="shipper.sources"):
        await store.load()
    assert [e.key for e in store.entries()] == [KEY] and store.since == 10.0
    assert len([r for r in caplog.records if "bad entries" in r.message]) == 1
    assert metrics.value("shipper_state_set_aside_total", kind="checkpoints") == 1
    assert (tmp_path / (FILE_NAME + ".corrupt")).read_text() == json.dumps(doc)
    store.retire(KEY)
    now[0] += 120
    assert await store.save() is True and len(store) == 0


def test_pending_witnesses_are_bounded_in_all(tmp_path, monkeypatch):
    """Across files the pending witnesses stay under the total cap (the file noted
    longest ago loses its queue first), and the count stays exact."""
    from shipper.sources import checkpoints_links

    monkeypatch.setattr(checkpoints_links, "MAX_PENDING_TOTAL", 50)
    store = CheckpointStore(tmp_path)
    for n in range(10):
        for at in range(1, 11):
            store.note(f"1:{n}:ab", witness(at))
    assert len(store._pending) <= 50
    store.set("1:9:ab", "/9.log", 5)
    assert store.entry("1:9:ab").witness == witness(5)
    assert len(store._pending) == sum(len(q) for q in store._pending._queues.values())


async def test_every_field_and_since_survive_a_restart(tmp_path):
    """Offset, path, times, retirement, witness and ``since`` read back exactly as saved
    (the file is written by orjson, read by the standard library)."""
    store = CheckpointStore(tmp_path, clock=lambda: 1764800000.125)
    store.note(KEY, witness(40, 90))
    store.set(KEY, "/var/log/pods/ns_pod_0b7c/app/0.log", 40)
    store.set("64768:99:ee", "/b.log", 3)
    store.retire("64768:99:ee")
    since = store.rotated_since(1764799999.5)
    await store.save()
    again = CheckpointStore(tmp_path)
    await again.load()
    assert again.entry(KEY) == store.entry(KEY)
    assert again.entry("64768:99:ee") == store.entry("64768:99:ee")
    assert again.entry("64768:99:ee").retired == 1764800000.125 and again.since == since


async def test_a_path_that_is_not_utf8_is_saved_escaped_and_reads_back_the_same(tmp_path):
    """A file name with bytes that are not UTF-8 reaches the store as lone surrogates
    (``os.fsdecode``), which orjson refuses: the save falls back to escaped JSON, nothing
    is lost and the path reads back byte for byte."""
    path = "/var/log/" + (b"caf\xe9-\xff.log").decode("utf-8", "surrogateescape")
    store = CheckpointStore(tmp_path)
    store.set(KEY, path, 42)
    assert await store.save()
    raw = (tmp_path / FILE_NAME).read_bytes()
    assert b"\\udce9" in raw and b"\\udcff" in raw
    again = CheckpointStore(tmp_path)
    await again.load()
    assert again.get(KEY) == 42 and again.entry(KEY).path == path
    assert os.fsencode(again.entry(KEY).path) == b"/var/log/caf\xe9-\xff.log"
