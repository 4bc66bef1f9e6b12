"""Config models of the noise presets, user rules and redaction (owned by shipper.filters)."""

from __future__ import annotations

from typing import Literal

from shipper.units import Model

LevelName = Literal["trace", "debug", "info", "warning", "error", "critical"]


class FilterSettings(Model):
    """Noise presets and user rules. Extended by the noise/redaction work."""

    min_level: LevelName | None = None


class RedactSettings(Model):
    """Secret redaction. Extended by the noise/redaction work."""

    enabled: bool = True
