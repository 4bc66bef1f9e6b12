"""Connection caps and header timeouts over real loopback sockets, the descriptor budget
in a subprocess with lowered limits, and the rate-limited refusal log."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper.jobs import JobTracker
from shipper.server import Progress, ServerSettings, TailHub
from shipper.server.app import bound_port, build_app, start_server
from shipper.server.connections import RefusalLog

from .helpers import FakeClock

TIMEOUT = 10.0
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def serve(metrics, clock):
    runners = []

    async def start(**settings: object) -> int:
        app = build_app(metrics=metrics, progress=Progress(clock, 30),
                        tail=TailHub(ring_size=10, max_clients=2, client_queue=10),
                        jobs=JobTracker(metrics, clock, 10),
                        settings=ServerSettings(listen="127.0.0.1:0", **settings))
        runner = await start_server(app, "127.0.0.1:0")
        runners.append(runner)
        return bound_port(runner)

    yield start
    for runner in runners:
        await runner.cleanup()


def refused(metrics, reason: str) -> float:
    return metrics.value("shipper_server_connections_refused_total", reason=reason)


async def connect(port: int, source: str = "127.0.0.1"):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(TIMEOUT):
        return await reader.read()


async def get(port: int, path: str, source: str = "127.0.0.1") -> bytes:
    reader, writer = await connect(port, source)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = await closed_by_server(reader)
    writer.close()
    return data


async def test_connections_over_the_cap_get_503_and_are_closed_at_once(serve, metrics):
    port = await serve(max_connections=3, header_timeout=30)
    held = [await connect(port) for _ in range(3)]
    await asyncio.sleep(0.1)
    reader, writer = await connect(port)
    started = time.monotonic()
    answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 503 ") and time.monotonic() - started < 2
    assert refused(metrics, "limit") == 1
    for _, w in held:
        w.close()
    writer.close()
    async with asyncio.timeout(TIMEOUT):
        while not (await get(port, "/healthz")).startswith(b"HTTP/1.1 200"):
            await asyncio.sleep(0.05)


async def test_one_client_address_cannot_take_every_slot(serve, metrics):
    """A flood from 127.0.0.2 hits its per-client cap; 127.0.0.1 still gets /metrics."""
    port = await serve(max_connections=10, max_connections_per_client=2, header_timeout=30)
    held = [await connect(port, "127.0.0.2") for _ in range(2)]
    await asyncio.sleep(0.1)
    assert (await get(port, "/healthz", "127.0.0.2")).startswith(b"HTTP/1.1 503 ")
    assert (await get(port, "/metrics", "127.0.0.1")).startswith(b"HTTP/1.1 200 ")
    assert refused(metrics, "limit") == 1
    for _, w in held:
        w.close()


async def test_a_silent_connection_is_closed_after_the_header_timeout_and_counted(serve, metrics):
    port = await serve(header_timeout=0.5)
    reader, writer = await connect(port)
    started = time.monotonic()
    assert await closed_by_server(reader) == b""
    assert 0.4 < time.monotonic() - started < 5
    assert refused(metrics, "header-timeout") == 1
    writer.close()


async def test_a_slow_request_head_is_closed_and_counted(serve, metrics):
    """Slowloris: a byte of the head every 100 ms never completes it within 0.5 s."""
    port = await serve(header_timeout=0.5)
    reader, writer = await connect(port)
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    started = time.monotonic()
    try:
        for byte in head:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)
            if reader.at_eof() or time.monotonic() - started > 5:
                break
            if writer.transport.is_closing():
                break
    except ConnectionError:
        pass
    assert await closed_by_server(reader) == b""
    assert time.monotonic() - started < 5
    assert refused(metrics, "header-timeout") == 1
    writer.close()


async def test_an_idle_keepalive_is_closed_but_not_counted(serve, metrics):
    port = await serve(header_timeout=0.5)
    reader, writer = await connect(port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(TIMEOUT):
        status = await reader.readline()
    assert status.startswith(b"HTTP/1.1 200")
    await closed_by_server(reader)
    assert refused(metrics, "header-timeout") == 0
    writer.close()


async def test_a_client_that_hangs_up_early_is_not_counted(serve, metrics):
    port = await serve(header_timeout=0.5)
    _, writer = await connect(port)
    writer.write(b"GET /metr")
    writer.close()
    await asyncio.sleep(1.0)
    assert refused(metrics, "header-timeout") == 0
    assert refused(metrics, "limit") == 0


def test_refusals_are_logged_at_most_once_per_interval(metrics, caplog):
    clock = FakeClock()
    log = RefusalLog(metrics.server_connections_refused_total, clock, every=60.0)
    with caplog.at_level(logging.WARNING, "shipper.server.connections"):
        for _ in range(3000):
            log.refused("limit")
        clock.advance(61)
        log.refused("header-timeout")
    rows = [r for r in caplog.records if r.name == "shipper.server.connections"]
    assert len(rows) == 2 and not any(r.exc_info for r in rows)
    assert rows[0].refused == {"limit": 1} and rows[1].refused == {"limit": 2999,
                                                                   "header-timeout": 1}
    assert refused(metrics, "limit") == 3000


BUDGET = ("import resource; from shipper.server.connections import descriptor_budget as b; "
          "print(b({wanted}), *resource.getrlimit(resource.RLIMIT_NOFILE))")


@pytest.mark.parametrize("soft, hard, wanted, expected", [
    (256, 1024, 64, (64, 1024, 1024)),     # soft raised to hard; 64 <= 1024 // 4
    (200, 200, 64, (50, 200, 200)),        # cannot raise: a quarter of 200
    (1024, 1024, 5000, (256, 1024, 1024)),  # a big max_connections is capped too
])
def test_descriptor_budget_raises_the_soft_limit_and_caps_connections(soft, hard, wanted, expected):
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard:
        pytest.skip("the hard descriptor limit here is lower than the case needs")
    out = subprocess.run(
        [sys.executable, "-c", BUDGET.format(wanted=wanted)], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    assert tuple(int(x) for x in out.stdout.split()) == expected, out.stderr
