"""A loopback HTTP receiver that accepts anything fast and counts the records it got (for
the sink scenario).

``python -m bench.receiver``: listens on 127.0.0.1 on a free port, prints the port, answers
every request ``200 {}`` after reading its body, and on SIGTERM prints ``{"requests": n,
"bytes": n, "records": n, "undecoded": n}`` and exits. It runs in its own process so its
CPU is not the shipper's.

``records`` counts what the bodies hold, decoded per protocol (:func:`count_records`):
NDJSON lines, Loki's ``PushRequest`` entries (snappy protobuf, or JSON ``values``) and
Datadog's array items, so a sink that loses part of a batch shows as fewer records than
the paired stdout run shipped. A body it cannot decode is counted in ``undecoded``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import sys
from typing import Any

import orjson
import snappy
import zstandard
from aiohttp import web

from shipper.sinks.proto import load_push_schema

LOKI_PATH = "/loki/api/v1/push"
DATADOG_PATH = "/api/v2/logs"
_GZIP, _ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


def inflate(body: bytes) -> bytes:
    """The body without its gzip or zstd framing (by its magic bytes: aiohttp may or may
    not have inflated it already, and neither starts a JSON or protobuf body we count)."""
    if body.startswith(_GZIP):
        return gzip.decompress(body)
    if body.startswith(_ZSTD):
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


class RecordCounter:
    """Records in a request body, by the protocol its path and content type name."""

    def __init__(self) -> None:
        self._push = load_push_schema().PushRequest

    def __call__(self, path: str, content_type: str, body: bytes) -> int:
        """Raises ``ValueError`` (or a decoder's error) on a body it cannot read."""
        if path.rstrip("/") == LOKI_PATH:
            if content_type == "application/json":
                streams = orjson.loads(inflate(body))["streams"]
                return sum(len(stream["values"]) for stream in streams)
            push = self._push.FromString(snappy.uncompress(body))
            return sum(len(stream.entries) for stream in push.streams)
        text = inflate(body)
        if path.rstrip("/") == DATADOG_PATH:
            items = orjson.loads(text)
            if type(items) is not list:
                raise ValueError("a Datadog body is a JSON array")
            return len(items)
        lines = [line for line in text.split(b"\n") if line.strip()]
        for line in lines:
            orjson.loads(line)  # each one a JSON record, or the body is not NDJSON
        return len(lines)


async def serve() -> dict[str, int]:
    stats = {"requests": 0, "bytes": 0, "records": 0, "undecoded": 0}
    count = RecordCounter()

    async def accept(request: web.Request) -> web.Response:
        body = await request.read()
        stats["requests"] += 1
        stats["bytes"] += len(body)
        try:
            stats["records"] += count(request.path, request.content_type, body)
        except Exception as exc:  # noqa: BLE001 - counted and said: a bench, not a backend
            stats["undecoded"] += 1
            print(f"receiver: undecodable body on {request.path}: {exc!r}", file=sys.stderr)
        return web.json_response({})

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    return stats


def main() -> Any:
    print(json.dumps(asyncio.run(serve())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
