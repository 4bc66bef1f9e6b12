"""A loopback HTTP receiver that accepts anything fast (for the sink scenario).

``python -m bench.receiver``: listens on 127.0.0.1 on a free port, prints the port, answers
every request ``200 {}`` after reading its body, and on SIGTERM prints ``{"requests": n,
"bytes": n}`` and exits. It runs in its own process so its CPU is not the shipper's.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from aiohttp import web


async def serve() -> dict[str, int]:
    stats = {"requests": 0, "bytes": 0}

    async def accept(request: web.Request) -> web.Response:
        stats["requests"] += 1
        stats["bytes"] += len(await request.read())
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


if __name__ == "__main__":
    print(json.dumps(asyncio.run(serve())), flush=True)
    sys.exit(0)
