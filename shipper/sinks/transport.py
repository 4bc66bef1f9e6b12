"""HTTP plumbing shared by the HTTP sinks: response classification, TLS, one session.

:func:`classify_http` is the single place an HTTP status becomes an outcome:
2xx delivered; 408, 429, 5xx retryable (honouring ``Retry-After`` seconds or HTTP-date);
413 ``PayloadTooLargeError`` (the worker splits the batch); any other status fatal.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import ssl
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

from shipper import lazy_tls

lazy_tls.install()  # before aiohttp: its import-time contexts load the CA bundle when used

import aiohttp  # noqa: E402

from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError  # noqa: E402

log = logging.getLogger("shipper.sinks")

RETRYABLE_4XX = frozenset({408, 429})
#: gzip level of request bodies with zlib: 1 compresses log NDJSON ~5.5x (level 6: ~6.7x) at
#: 58% of level 6's instructions (21.6 M against 37.0 M for 1,000 records of the bench
#: corpus); a sidecar's CPU is multiplied by the fleet, a few more bytes on the wire are not
GZIP_LEVEL = 1
#: with ISA-L (the ``isal`` package, a dependency; zlib when it is missing): level 1 is
#: ~6.1x at 5.1 M instructions for the same 1,000 records, a quarter of zlib's level 1
ISAL_LEVEL = 1


def gzip_compressor() -> partial[bytes]:
    """``bytes -> gzip member`` (mtime 0: the same input gives the same body): ISA-L's
    ``igzip`` where ``isal`` imports, else the standard library's zlib."""
    try:
        from isal import igzip  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return partial(gzip.compress, compresslevel=GZIP_LEVEL, mtime=0)
    return partial(igzip.compress, compresslevel=ISAL_LEVEL, mtime=0)


@cache
def default_gzip() -> partial[bytes]:
    """:func:`gzip_compressor`, picked at the first use: a process whose sinks send no gzip
    (Loki's snappy protobuf, ``compression: none``) never loads ISA-L (~0.4 MiB, 1.5 ms)."""
    return gzip_compressor()


def gzip_implementation() -> str:
    """Which gzip compresses request bodies: ``ISA-L level 1`` or ``zlib level 1``."""
    if default_gzip().func is gzip.compress:
        return f"zlib level {GZIP_LEVEL}"
    return f"ISA-L level {ISAL_LEVEL}"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (wall clock); ``None`` if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def classify_http(status: int, headers: Mapping[str, str] | None, *, sink: str, now: float,
                  detail: str = "", retryable_4xx: frozenset[int] = RETRYABLE_4XX) -> None:
    """Return if delivered, else raise the error that tells the worker what to do: 413
    splits, ``retryable_4xx`` and 5xx retry (``Retry-After`` honoured), the rest is final."""
    if 200 <= status < 300:
        return
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status == 413:
        raise PayloadTooLargeError(message, sink=sink, status=status)
    if status in retryable_4xx or 500 <= status < 600:
        retry_after = parse_retry_after((headers or {}).get("Retry-After"), now)
        raise RetryableSinkError(message, sink=sink, status=status, retry_after=retry_after)
    raise FatalSinkError(message, sink=sink, status=status)


def compress(body: bytes, kind: str) -> tuple[bytes, dict[str, str]]:
    """Compress a body; returns it with its ``Content-Encoding`` header (if any)."""
    if kind == "gzip":
        return default_gzip()(body), {"Content-Encoding": "gzip"}
    if kind == "zstd":
        import zstandard  # here: only a process with a zstd sink loads it

        return zstandard.ZstdCompressor(level=3).compress(body), {"Content-Encoding": "zstd"}
    return body, {}


def safe_origin(url: str) -> str:
    """``scheme://host:port`` of a URL, never its user info, path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def tls_context(tls: Any) -> ssl.SSLContext:
    """Verification on by default; a custom CA bundle, a client certificate, or opt-out."""
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HttpTransport:
    """One reused ``aiohttp.ClientSession`` per sink, with timeouts and TLS settings."""

    def __init__(self, settings: Any, *, sink: str) -> None:
        self._settings = settings
        self._sink = sink
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        # built here, off the loop, each time a sink opens: a reload re-reads the CA
        # bundle (SSL_CERT_FILE, rotated without a restart). A sink whose URL is not
        # https loads the default bundle at its first TLS connection, if any (lazy_tls)
        if urlsplit(self._settings.url).scheme == "https":
            context = await asyncio.to_thread(tls_context, self._settings.tls)
        else:
            context = await asyncio.to_thread(lazy_tls.build_deferred, tls_context,
                                              self._settings.tls)
        if self._settings.compression == "gzip":
            log.info("sink %s: gzip bodies by %s", self._sink, gzip_implementation())
        connector = aiohttp.TCPConnector(ssl=context, limit=self._settings.concurrency)
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout,
                                              auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes,
                   headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], str]:
        """POST; connection problems and timeouts become ``RetryableSinkError``."""
        if self._session is None:
            raise RetryableSinkError("sink is not started", sink=self._sink)
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as response:
                text = await response.text(errors="replace")
                return response.status, response.headers, text[:300].strip()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryableSinkError(f"{type(exc).__name__} talking to {safe_origin(url)}",
                                     sink=self._sink) from None

