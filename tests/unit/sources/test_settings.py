"""The tailer's settings from the configuration: the symbolic link options."""

from __future__ import annotations

import pytest

from shipper.config import load_settings
from shipper.errors import ConfigError
from shipper.sources.settings import TailSettings


def test_symlink_defaults_follow_links_inside_the_roots_only():
    """Default: ``inside_roots`` with no extra roots, carried into the tailer's settings."""
    tail = TailSettings.from_settings(load_settings(paths=["/var/log/app/*.log"]))
    assert (tail.follow_symlinks, tail.symlink_roots) == ("inside_roots", ())


def test_symlink_roots_and_mode_are_validated():
    """Roots must be absolute directories (no globs); the mode one of three words."""
    tail = TailSettings.from_settings(load_settings(
        follow_symlinks="always", symlink_roots=["/var/log/pods"]))
    assert (tail.follow_symlinks, tail.symlink_roots) == ("always", ("/var/log/pods",))
    with pytest.raises(ConfigError, match="symlink_roots"):
        load_settings(symlink_roots=["var/log/pods"])
    with pytest.raises(ConfigError, match="symlink_roots"):
        load_settings(symlink_roots=["/var/log/*/pods"])
    with pytest.raises(ConfigError, match="follow_symlinks"):
        load_settings(follow_symlinks="sometimes")
