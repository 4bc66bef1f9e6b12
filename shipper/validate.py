"""``shipper validate``: parse and compile everything, start nothing.

:func:`compile_settings` builds every runtime object a run builds from the settings (the
regexes and templates are compiled while the settings load): the tailer's settings, the
filter and redaction stages, the routes, each sink's worker (not started: no socket, no
thread, no file; a disk buffer's directory is not created) and the server's listen
address. A problem is a :class:`~shipper.errors.ConfigError` naming the key. A reload
(:mod:`shipper.reload`) runs the same compilation before it applies anything.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from shipper.config import Settings
from shipper.errors import ConfigError
from shipper.stages import CountingFates, Stage


@dataclass
class Compiled:
    """What a configuration compiles into (for the summary; nothing in it runs)."""

    settings: Settings
    stages: list[Stage] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)


def compile_settings(settings: Settings) -> Compiled:
    """Every runtime object the settings describe, built and thrown away."""
    from shipper.filters import build_filter_stages
    from shipper.metrics import Metrics
    from shipper.routes import Router
    from shipper.server.settings import parse_listen
    from shipper.sinks import build_sink

    try:
        parse_listen(settings.server.listen)
    except ValueError as exc:
        raise ConfigError(str(exc), key="server.listen") from None
    fates = CountingFates()
    stages = build_filter_stages(settings.filters, settings.redact, fates=fates, clock=time.time)
    Router([sink.match for sink in settings.sinks], fates)
    metrics = Metrics(collectors=False)  # a registry of its own: nothing is exported
    for sink in settings.sinks:
        build_sink(sink, metrics=metrics, state_dir=settings.state_dir)
    return Compiled(settings, stages, [_describe(sink) for sink in settings.sinks])


def _describe(sink: object) -> str:
    name, kind = getattr(sink, "name", "?"), getattr(sink, "type", "?")
    match = getattr(sink, "match", None)
    if match is None:
        return f"{name} ({kind}, every record)"
    parts = [f"min_level={match.min_level}"] if match.min_level else []
    parts += [f"{key}=/{pattern.pattern}/" for key, pattern in match.fields.items()]
    return f"{name} ({kind}, match: {', '.join(parts) or 'every record'})"


def summary(compiled: Compiled, source: str | None) -> str:
    """A few lines saying what the configuration does."""
    settings = compiled.settings
    stages = ", ".join(type(stage).__name__.removesuffix("Stage").lower()
                       for stage in compiled.stages) or "none"
    return "\n".join([
        f"config ok: {source or 'defaults, environment and flags'}",
        f"  paths: {', '.join(settings.paths)}",
        f"  state_dir: {settings.state_dir or 'none (no checkpoints)'}",
        f"  stages: {stages}",
        f"  sinks: {'; '.join(compiled.sinks)}",
        f"  server: {settings.server.listen}",
    ])


def run_validate(settings: Settings, source: str | None) -> int:
    """``shipper validate``: 0 and a summary on stdout (errors raise ``ConfigError``)."""
    compiled = compile_settings(settings)
    sys.stdout.write(summary(compiled, source) + "\n")
    return 0
