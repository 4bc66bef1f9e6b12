"""An idle tailer wakes seldom while inotify watches every directory that matters, and
still sees new lines, new files, rotation, truncation and deletion at once (the events
wake it); where inotify cannot see every change it polls every ``poll_interval``."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from shipper.sources import tailer as tailer_module
from shipper.sources.survey import SETTLE, survey
from tests.unit.sources import test_tailer_follow as plain
from tests.unit.sources.conftest import append

#: so long that a test passing within it proves an inotify event woke the tailer
NEVER = 60.0


@pytest.fixture
def covered(tmp_path, follow):
    """``follow`` on ``<tmp>/*.log`` (every directory watched) with a fallback poll that
    never comes within a test."""

    def start(paths=None, **kw):
        kw.setdefault("inotify_poll_interval", NEVER)
        return follow(paths or [str(tmp_path / "*.log")], **kw)

    return start


@pytest.fixture
def scans(monkeypatch):
    """How many times the tailer surveyed its files."""
    calls = []

    def counting(*args, **kw):
        calls.append(time.monotonic())
        return survey(*args, **kw)

    monkeypatch.setattr(tailer_module, "survey", counting)
    return calls


@pytest.mark.parametrize("scenario", [
    plain.test_new_lines_arrive_quickly,
    plain.test_partial_line_waits_for_its_newline,
    plain.test_rename_and_create_reads_old_file_to_eof,
    plain.test_truncate_then_append_reads_from_start,
    plain.test_nul_run_after_truncation_is_skipped,
    plain.test_deleted_file_is_read_to_eof_then_closed,
], ids=lambda f: f.__name__.removeprefix("test_"))
async def test_follow_scenarios_hold_with_the_poll_stretched(scenario, tmp_path, covered):
    """The follow-mode scenarios pass with the stat poll out of reach: events do it."""
    await scenario(tmp_path, covered)


async def test_file_created_later_is_seen_by_event(tmp_path, covered):
    async with covered() as run:
        await asyncio.sleep(0.2)
        append(tmp_path / "late.log", "hello\n")
        await run.out.wait_lines(1, timeout=2.0)
    assert run.out.lines() == [b"hello"]


async def test_idle_tailer_does_not_poll_while_inotify_covers(tmp_path, covered, scans):
    """0.05 s poll_interval: 20 scans a second before; now only the first ones."""
    append(tmp_path / "app.log", "one\n")
    async with covered() as run:
        await run.out.wait_lines(1)
        await asyncio.sleep(0.3)
        before = len(scans)
        await asyncio.sleep(1.0)
        assert len(scans) == before
        append(tmp_path / "app.log", "two\n")
        await run.out.wait_lines(2, timeout=1.0)
    assert before <= 3


@pytest.mark.parametrize("case", ["wildcard_directory", "hard_link", "inotify_off"])
async def test_poll_stays_where_inotify_cannot_see_everything(tmp_path, follow, scans, case):
    """A new directory under ``**`` is not watched until scanned, a write through another
    name raises no event here, inotify off: the poll keeps its ``poll_interval``."""
    append(tmp_path / "app.log", "one\n")
    pattern = str(tmp_path / ("**/*.log" if case == "wildcard_directory" else "*.log"))
    if case == "hard_link":
        (tmp_path / "elsewhere").mkdir()
        os.link(tmp_path / "app.log", tmp_path / "elsewhere" / "app.log")
    async with follow([pattern], inotify_poll_interval=NEVER,
                      inotify=case != "inotify_off") as run:
        await run.out.wait_lines(1)
        before = len(scans)
        await asyncio.sleep(0.5)
        assert len(scans) - before >= 5


async def test_write_through_a_symlink_target_wakes_the_tailer(tmp_path, covered):
    """The link's target directory is watched: writes there wake the tailer."""
    target_dir = tmp_path / "pods"
    target_dir.mkdir()
    target = target_dir / "0.log"
    append(target, "one\n")
    links = tmp_path / "containers"
    links.mkdir()
    os.symlink(target, links / "app.log")
    async with covered([str(links / "*.log")], follow_symlinks="always") as run:
        await run.out.wait_lines(1)
        await asyncio.sleep(0.3)
        append(target, "two\n")
        await run.out.wait_lines(2, timeout=1.0)
    assert run.out.lines() == [b"one", b"two"]


async def test_unsettled_rotated_sibling_keeps_the_short_poll(tmp_path, covered):
    """A never-seen rotated generation is read once left unchanged for ``SETTLE`` seconds:
    no event comes then, so the poll stays short until it is judged (as before)."""
    append(tmp_path / "app.log", "live\n")
    async with covered() as run:
        await run.out.wait_lines(1)
        append(tmp_path / "app.log.1", "rotated\n")
        await run.out.wait_lines(2, timeout=SETTLE + 1.5)
    assert sorted(run.out.lines()) == [b"live", b"rotated"]
