"""``slog_level``: Go ``log/slog`` levels with an offset, read on slog's number line."""

from __future__ import annotations

import pytest

from shipper.parse.levels import normalize_level, slog_level


@pytest.mark.parametrize(("value", "level"), [
    ("DEBUG-4", "trace"), ("DEBUG-1", "trace"), ("DEBUG+3", "debug"), ("INFO-1", "debug"),
    ("INFO+2", "info"), ("INFO+4", "warning"), ("WARN+3", "warning"), ("WARN+4", "error"),
    ("ERROR+3", "error"), ("ERROR+4", "critical"), ("ERROR-5", "info"),
])
def test_offset_levels_land_on_slogs_scale(value: str, level: str) -> None:
    """Each offset level becomes the level its number falls in (-8 trace ... 12 critical)."""
    assert slog_level(value) == level


@pytest.mark.parametrize("value", ["INFO", "info+2", "NOTICE+1", "INFO+", "INFO+x", "WARN+-1",
                                   "INFO+99999", "+2", ""])
def test_anything_else_is_not_a_slog_level(value: str) -> None:
    """Plain names, lower case, unknown bases, missing or non-digit offsets: ``None``."""
    assert slog_level(value) is None


def test_text_levels_do_not_take_json_only_words() -> None:
    """winston's ``http``/``silly`` are JSON-only: a text token ``HTTP`` stays no level."""
    assert normalize_level("HTTP") is None
    assert normalize_level("silly") is None
