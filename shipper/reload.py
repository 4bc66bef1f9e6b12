"""Hot reload: ``SIGHUP`` and ``POST /-/reload`` (README "Reload the configuration").

A reload loads the configuration again (file, ``SHIPPER_*`` env and the command line's
flags, as at start-up) and compiles all of it (:func:`shipper.validate.compile_settings`)
in a thread. A configuration that does not compile changes nothing: the error is logged,
``shipper_config_reloads_total{result="failure"}`` counts it and
``shipper_config_last_reload_successful`` drops to 0.

A good one is applied in-process, in the processor task between two chunks (never while a
``put`` is in progress), by :class:`~shipper.reload_swap.Swap`:

1. when ``filters`` or ``redact`` changed, the stateful stages (dedupe) hand over what
   they hold, to the sinks of before (otherwise the running stages stay, state and all);
2. sinks with a new name are built and started (one that cannot start refuses the whole
   reload, nothing changed yet);
3. sinks removed, or whose settings changed (other than ``match``), are closed: they
   deliver what they hold within 3/4 of ``shutdown_deadline``; what a removed sink could
   not is released from the checkpoint's wait, logged and counted in
   ``shipper_records_failed_total{reason="retired"}``;
4. the changed sinks' successors start (one that cannot is a task failure: exit 1) and take
   over what their predecessor still held: its memory buffer's records are put into the
   successor (with their tokens: the checkpoint waits for the successor), a disk buffer is
   reopened by the successor of the same name. Nothing a changed sink held is lost;
5. the processor takes the new stages and path templates, the delivery the new sinks and
   routes. Sinks whose settings did not change (a changed ``match`` included) keep their
   worker and buffer.

Files, parsers (multi-line records being assembled), checkpoints, the chunk queue and every
kept sink's buffer are untouched: no line is read twice or skipped. Only ``filters``,
``redact``, ``path_templates`` and ``sinks`` change live; a changed key elsewhere keeps its
running value and is logged (``needs a restart``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from shipper.config import Settings
from shipper.errors import ConfigError, ShipperError
from shipper.metrics import Metrics
from shipper.reload_swap import Swap as Swap  # where pipeline.py takes it from
from shipper.supervise import describe

log = logging.getLogger("shipper.reload")

#: the top-level settings a reload applies; every other one needs a restart
RELOADABLE = ("filters", "redact", "path_templates", "sinks")


@dataclass(frozen=True)
class Outcome:
    """What a reload did (logged, counted, and the body of ``POST /-/reload``)."""

    ok: bool
    error: str = ""
    restart_required: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "success" if self.ok else "failure"}
        if self.error:
            out["error"] = self.error
        out["changed"] = list(self.changed)
        out["restart_required"] = list(self.restart_required)
        return out


class Target(Protocol):
    """What a reload changes: the running pipeline (:class:`shipper.pipeline.Pipeline`)."""

    settings: Settings

    async def reconfigure(self, settings: Settings) -> None: ...


def restart_keys(old: Settings, new: Settings) -> list[str]:
    """Keys outside :data:`RELOADABLE` whose value changed (``server.listen``, ``paths``)."""
    keys: list[str] = []
    for name in type(old).model_fields:
        before, after = getattr(old, name), getattr(new, name)
        if name in RELOADABLE or before == after:
            continue
        if isinstance(before, BaseModel) and isinstance(after, BaseModel):
            keys += [f"{name}.{sub}" for sub in type(before).model_fields
                     if getattr(before, sub) != getattr(after, sub)] or [name]
        else:
            keys.append(name)
    return keys


def effective(old: Settings, new: Settings, keys: list[str]) -> Settings:
    """``new`` with the running value of every section a key of ``keys`` is in."""
    sections = {key.split(".", 1)[0] for key in keys}
    return new.model_copy(update={name: getattr(old, name) for name in sections})


class Reloader:
    """Loads, compiles and applies a configuration; one reload at a time."""

    def __init__(self, load: Callable[[], Settings], target: Target, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self._load = load
        self._target = target
        self._metrics = metrics
        self._clock = clock
        self._lock = asyncio.Lock()

    async def reload(self, source: str) -> Outcome:
        """Reload now (after any reload in progress); never raises."""
        async with self._lock:
            log.info("reloading the configuration", extra={"source": source})
            try:
                outcome = await self._reload()
            except Exception as exc:  # noqa: BLE001 - a bug: logged with frames, counted
                log.error("reload failed unexpectedly", extra=describe("reload", exc))
                outcome = Outcome(False, f"unexpected {type(exc).__name__}")
            self._account(outcome, source)
        return outcome

    def _compiled(self) -> Settings:
        from shipper.validate import compile_settings

        settings = self._load()
        compile_settings(settings)
        return settings

    async def _reload(self) -> Outcome:
        current = self._target.settings
        try:
            new = await asyncio.to_thread(self._compiled)
        except ConfigError as exc:
            return Outcome(False, str(exc))
        keys = restart_keys(current, new)
        settings = effective(current, new, keys)
        changed = tuple(name for name in RELOADABLE
                        if getattr(current, name) != getattr(settings, name))
        if changed:
            try:
                await self._target.reconfigure(settings)
            except (ShipperError, RuntimeError) as exc:
                return Outcome(False, str(exc), tuple(keys))
        return Outcome(True, "", tuple(keys), changed)

    def _account(self, outcome: Outcome, source: str) -> None:
        m: Any = self._metrics  # attributes made from METRIC_SPECS
        m.config_reloads_total.labels(result="success" if outcome.ok else "failure").inc()
        m.config_last_reload_successful.set(1 if outcome.ok else 0)
        if outcome.restart_required:
            log.warning("settings changed that need a restart; they keep their running "
                        "values", extra={"keys": list(outcome.restart_required)})
        if not outcome.ok:
            log.error("configuration reload refused; the running configuration stays",
                      extra={"source": source, "error": outcome.error})
            return
        m.config_last_reload_success_timestamp_seconds.set(self._clock())
        log.info("configuration reloaded", extra={"source": source,
                                                  "changed": list(outcome.changed)})


@dataclass
class ReloadHandle:
    """For the HTTP server, built before the pipeline: the reloader once there is one."""

    reloader: Reloader | None = None

    async def reload(self, source: str) -> Outcome:
        if self.reloader is None:
            return Outcome(False, "reload is not available yet")
        return await self.reloader.reload(source)


def mark_loaded(metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
    """The configuration loaded at start-up counts as the last successful load."""
    m: Any = metrics
    m.config_last_reload_successful.set(1)
    m.config_last_reload_success_timestamp_seconds.set(clock())
