"""CheckpointStore: persistence, corruption tolerance, fingerprints and pruning."""

from __future__ import annotations

import json
import logging

import pytest

from shipper.buffer.checkpoint import FILE_NAME, CheckpointStore

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
    assert doc["version"] == 1 and doc["files"][0]["path"] == "/var/log/a.log"
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


def test_find_by_fingerprint_only_when_unambiguous(tmp_path):
    """The fingerprint look-up returns the one entry with it, never a guess between two."""
    store = CheckpointStore(tmp_path)
    store.set("1:10:ff", "/a.log", 5)
    assert store.find_by_fingerprint("ff").offset == 5
    store.set("1:11:ff", "/b.log", 7)
    assert store.find_by_fingerprint("ff") is None
    assert store.find_by_fingerprint("00") is None


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
    store = CheckpointStore(blocked)
    store.set(KEY, "/var/log/a.log", 7)
    with caplog.at_level(logging.INFO, logger="shipper.sources"):
        assert await store.save() is False
        assert await store.save() is False
        warnings = [r for r in caplog.records if "cannot save checkpoints" in r.message]
        assert len(warnings) == 1 and store.failures == 2
        blocked.unlink()
        assert await store.save() is True
    assert any("saved again" in r.message for r in caplog.records)
    again = CheckpointStore(blocked)
    await again.load()
    assert again.get(KEY) == 7
