"""The bearer token of ``/v1/*`` (inline, or from a mounted Secret file) and the paths
open without it; no aiohttp here, so the lightweight server (:mod:`shipper.server.light`)
loads the token at start as the aiohttp app does.

The token file is re-read at most every :data:`TOKEN_RELOAD` seconds (in a thread), so
a rotated Secret takes effect without a restart. A token file that does not exist (yet)
leaves ``/v1/*`` loopback-only with a warning; an empty or unreadable one stops the start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from shipper.errors import ConfigError
from shipper.server.settings import ServerSettings

log = logging.getLogger(__name__)

#: answered to every client, with or without a token
OPEN_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
TOKEN_RELOAD = 30.0


class TokenSource:
    """The bearer token: inline, or read from ``token_file`` and re-read when due."""

    def __init__(self, settings: ServerSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inline = settings.token.get_secret_value().strip() if settings.token else ""
        self._path = settings.token_file
        self._clock = clock
        self._token = self._inline
        self._due = 0.0
        self._warned = False

    async def load(self) -> None:
        """Read the token file at start: an empty or unreadable one is a config error."""
        if self._path is None:
            return
        self._due = self._clock() + TOKEN_RELOAD
        token = await asyncio.to_thread(_read_token, self._path)
        if token is None:
            self._warn_missing()
        self._token = token or ""

    async def current(self) -> str:
        """The token now ("" when none is configured or its file does not exist)."""
        if self._path is not None and self._clock() >= self._due:
            self._due = self._clock() + TOKEN_RELOAD
            self._token = await asyncio.to_thread(self._reread, self._path)
        return self._token

    def _reread(self, path: Path) -> str:
        try:
            token = _read_token(path)
        except ConfigError as exc:
            log.warning("cannot re-read the token file; keeping the last token",
                        extra={"reason": str(exc)})
            return self._token
        if token is None:
            if not self._token:
                self._warn_missing()
            return self._token
        self._warned = False
        return token

    def _warn_missing(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning("server.token_file does not exist (yet): /v1/* answers loopback "
                        "clients only until it appears", extra={"token_file": str(self._path)})


def _read_token(path: Path) -> str | None:
    """The token in ``path``; ``None`` when the file does not exist."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read token file: {reason}", key="server.token_file") from None
    if not token:
        raise ConfigError("the token file is empty", key="server.token_file")
    return token
