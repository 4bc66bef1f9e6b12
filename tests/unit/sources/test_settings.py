"""The tailer's settings from the configuration: one declaration (the top-level keys and
the ``sources:`` section), the symbolic link options, the inotify knob."""

from __future__ import annotations

import asyncio
import sys

import pytest

from shipper.config import load_settings
from shipper.errors import ConfigError
from shipper.sinks.allocator import MMAP_THRESHOLD
from shipper.sources.settings import SourcesSettings, TailSettings
from tests.unit.sources.conftest import Collector, Running, make_tailer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def test_a_default_read_is_a_block_malloc_does_not_map():
    """A read of ``read_chunk_bytes`` is a bytes object (its header and the bytes) in one
    malloc block (plus 8 bytes, rounded up to 16): it must stay under the fixed mmap
    threshold, or every read is mapped, faulted in page by page and unmapped (128 KiB
    reads were: 131,105 bytes)."""
    size = sys.getsizeof(b"x" * TailSettings().read_chunk_bytes)
    assert (size + 8 + 15) // 16 * 16 < MMAP_THRESHOLD


def test_symlink_defaults_follow_links_inside_the_roots_only():
    """Default: ``inside_roots`` with no extra roots, carried into the tailer's settings."""
    tail = load_settings(paths=["/var/log/app/*.log"])
    assert (tail.follow_symlinks, tuple(tail.symlink_roots)) == ("inside_roots", ())


def test_symlink_roots_and_mode_are_validated():
    """Roots must be absolute directories (no globs); the mode one of three words."""
    tail = load_settings(follow_symlinks="always", symlink_roots=["/var/log/pods"])
    assert (tail.follow_symlinks, tuple(tail.symlink_roots)) == ("always", ("/var/log/pods",))
    with pytest.raises(ConfigError, match="symlink_roots"):
        load_settings(symlink_roots=["var/log/pods"])
    with pytest.raises(ConfigError, match="symlink_roots"):
        load_settings(symlink_roots=["/var/log/*/pods"])
    with pytest.raises(ConfigError, match="follow_symlinks"):
        load_settings(follow_symlinks="sometimes")


def test_the_tailer_has_no_defaults_of_its_own():
    """The tailer built without a config file reads in the configuration's chunks
    (124 KiB; the tailer's own copy of the settings said 1 MiB) and every other
    default is the configuration's too: the settings are declared once."""
    alone, configured = TailSettings(), load_settings()
    assert alone.read_chunk_bytes == configured.read_chunk_bytes == 126_976
    assert isinstance(configured, TailSettings)
    for key in TailSettings.model_fields:
        assert getattr(alone, key) == getattr(configured, key), key


def test_sources_section_from_file_and_env_reaches_the_tailer(tmp_path, monkeypatch):
    """``sources:`` keys load from the file and ``SHIPPER_SOURCES__*`` overrides them
    (the rest of the section kept); the defaults are the values hard-coded before."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text("sources:\n  rotate_grace: 5s\n  inotify: false\n"
                   "  max_inotify_watches: 16\n  chunk_max_lines: 64\n")
    monkeypatch.setenv("SHIPPER_SOURCES__ROTATE_GRACE", "250ms")
    settings = load_settings(str(cfg))
    assert settings.sources == SourcesSettings(rotate_grace=0.25, inotify=False,
                                               max_inotify_watches=16, chunk_max_lines=64)
    defaults = SourcesSettings()
    assert (defaults.rotate_grace, defaults.inotify, defaults.max_inotify_watches,
            defaults.chunk_max_lines) == (1.0, True, 4096, 512)


@pytest.mark.parametrize("text,key,problem", [
    ("sources:\n  rotate_grase: 2s\n", "sources.rotate_grase", "unknown key"),
    ("sources:\n  max_inotify_watches: 0\n", "sources.max_inotify_watches", "greater than"),
    ("sources:\n  rotate_grace: soon\n", "sources.rotate_grace", "invalid duration"),
    ("poll_interval: 0\n", "poll_interval", "greater than 0"),
    ("read_chunk_bytes: 0\n", "read_chunk_bytes", "greater than or equal to 1"),
])
def test_bad_sources_settings_name_the_key(tmp_path, text, key, problem):
    """An unknown or impossible tailer setting is one error naming its key (a zero
    ``poll_interval`` used to load and then fail when the tailer was built)."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(str(cfg))
    assert str(info.value).startswith(f"{key}: ")
    assert problem in str(info.value)


@pytest.mark.parametrize("inotify", [True, False])
async def test_inotify_off_leaves_new_files_to_the_poll(tmp_path, inotify):
    """``sources.inotify: false``: a new file waits for the next poll (2 s here) instead
    of waking the tailer at once; with inotify on it is read well before that poll."""
    (tmp_path / "first.log").write_text("one\n")
    tailer, _ = make_tailer([str(tmp_path / "*.log")], poll_interval=2.0, inotify=inotify)
    async with Running(tailer, Collector()) as run:
        await run.out.wait_lines(1, timeout=10)  # the first scan is done
        (tmp_path / "second.log").write_text("two\n")
        if inotify:
            await run.out.wait_lines(2, timeout=1.5)
        else:
            await asyncio.sleep(0.4)
            assert run.out.lines() == [b"one"]
            await run.out.wait_lines(2, timeout=10)
    assert sorted(run.out.lines()) == [b"one", b"two"]
