"""The lightweight server over real loopback sockets: probes and scrapes answered byte for
byte as the aiohttp app answers them (side by side, same parts), keep-alive and
pipelining, slow and half-closed clients, oversized and unusual requests handed to
aiohttp, and aiohttp not imported until such a request comes (in a subprocess)."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from shipper.jobs import JobTracker
from shipper.server import Progress, ServerSettings, TailHub
from shipper.server.app import bound_port, build_app, prepared_runner, start_server
from shipper.server.light import PIPELINE_MAX, LightServer
from shipper.server.tokens import TokenSource

TIMEOUT = 10.0
REPO = Path(__file__).resolve().parents[3]
_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


class Pair:
    """A light server and an aiohttp server over the same parts."""

    def __init__(self, metrics, clock, **settings: object) -> None:
        self.settings = ServerSettings(listen="127.0.0.1:0", **settings)
        self.progress = Progress(clock, 30)
        self.metrics, self.clock = metrics, clock
        self.tail = TailHub(ring_size=10, max_clients=2, client_queue=10)
        self.jobs = JobTracker(metrics, clock, 10)
        self.light = LightServer(metrics=metrics, progress=self.progress, settings=self.settings,
                                 token=TokenSource(self.settings), full=self._full)
        self.runner = None

    def _app(self, token=None):
        return build_app(metrics=self.metrics, progress=self.progress, tail=self.tail,
                         jobs=self.jobs, settings=self.settings, token=token)

    async def _full(self, token):
        return await prepared_runner(self._app(token))

    async def start(self) -> tuple[int, int]:
        await self.light.start("127.0.0.1:0")
        self.runner = await start_server(self._app(), "127.0.0.1:0")
        return self.light.port, bound_port(self.runner)

    async def stop(self) -> None:
        await self.light.cleanup()
        await self.runner.cleanup()


@pytest.fixture
async def pair(metrics, clock):
    made: list[Pair] = []

    async def start(**settings: object) -> tuple[Pair, int, int]:
        made.append(Pair(metrics, clock, **settings))
        return made[-1], *await made[-1].start()

    yield start
    for item in made:
        await item.stop()


async def exchange(port: int, data: bytes, *, half_close: bool = False) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if half_close:
        writer.write_eof()
    try:
        async with asyncio.timeout(TIMEOUT):
            return await reader.read()
    finally:
        writer.close()


def undated(answer: bytes) -> bytes:
    return _DATE.sub(b"\r\nDate: -\r\n", answer)


def split(answer: bytes) -> tuple[bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


CLOSE = b"Connection: close\r\n"
SAME_AS_AIOHTTP = [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"GET /readyz?probe=1 HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n",
    b"GET /readyz HTTP/1.0\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n" + CLOSE,
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n" + CLOSE,
    b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n" + CLOSE,
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; "
    b"version=1.0.0\r\n" + CLOSE,
    # not answered light: handed to aiohttp, which answers as it always did
    b"GET /nope HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"GET /healthz/ HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + CLOSE,
    b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n" + CLOSE,
    b"GET /healthz HTTP/1.1\r\n" + CLOSE,  # no Host: aiohttp's 400
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n",
    b"get /healthz HTTP/1.1\r\nHost: x\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
]


@pytest.mark.parametrize("request_head", SAME_AS_AIOHTTP)
async def test_every_answer_is_the_one_aiohttp_gives(pair, request_head):
    """Status line, headers (in order) and body are aiohttp's, ``Date`` aside; ``/metrics``
    compressed as aiohttp compresses it."""
    server, light, full = await pair()
    server.progress.set_ready(True)
    data = request_head + (b"\r\n" if request_head.endswith(b"\r\n") else b"")
    expected = undated(await exchange(full, data))
    assert expected.startswith(b"HTTP/1.")
    assert undated(await exchange(light, data)) == expected


async def test_probes_do_not_load_aiohttp_until_another_path_is_asked(pair):
    server, light, _ = await pair()
    for path in (b"/healthz", b"/readyz", b"/metrics"):
        await exchange(light, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n")
    assert not server.light.aiohttp_loaded
    answer = await exchange(light, b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n")
    assert split(answer)[1] == b'{"jobs":[],"next":null}'
    assert server.light.aiohttp_loaded


async def test_keepalive_and_pipelined_requests_are_answered_in_order(pair, clock):
    server, light, _ = await pair()
    server.progress.set_ready(True)
    reader, writer = await asyncio.open_connection("127.0.0.1", light)
    try:
        for _ in range(3):  # one request at a time on the same connection
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200 OK")
                await reader.readexactly(len(b'{"status":"ready"}'))
        pipelined = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        writer.write(pipelined)
        async with asyncio.timeout(TIMEOUT):
            answers = await reader.read()
    finally:
        writer.close()
    bodies = [b'{"status":"ok","reason":"ok"}', b"", b'{"jobs":[],"next":null}',
              b'{"status":"ready"}']
    assert answers.count(b"HTTP/1.1 200 OK") == 4
    for body in bodies:
        assert body in answers
    assert answers.index(bodies[0]) < answers.index(bodies[2]) < answers.index(bodies[3])


async def test_a_silent_or_slow_client_is_closed_after_the_header_timeout(pair, metrics):
    """The timeout runs from the connection's start (a trickled head does not extend it)
    and is counted as a ``header-timeout`` refusal, as with aiohttp."""
    server, light, _ = await pair(header_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", light)
    started = asyncio.get_running_loop().time()
    for piece in (b"GET /hea", b"lthz HTTP/1.1\r\n", b"Host: x\r\n"):
        writer.write(piece)
        await asyncio.sleep(0.1)
    async with asyncio.timeout(TIMEOUT):
        assert await reader.read() == b""
    assert asyncio.get_running_loop().time() - started >= 0.45
    writer.close()
    assert metrics.value("shipper_server_connections_refused_total",
                         reason="header-timeout") == 1


async def test_an_idle_keepalive_is_closed_without_being_counted(pair, metrics):
    server, light, _ = await pair(header_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", light)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(TIMEOUT):
        answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert metrics.value("shipper_server_connections_refused_total",
                         reason="header-timeout") == 0


async def test_a_half_closed_client_gets_its_answers_then_the_connection_closes(pair):
    server, light, _ = await pair(header_timeout=30)
    data = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await exchange(light, data, half_close=True)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.endswith(b'{"status":"ok","reason":"ok"}')
    # an incomplete head and then the end of input: closed at once, nothing answered
    assert await exchange(light, b"GET /healthz HTTP/1.1\r\nHo", half_close=True) == b""


async def test_a_flood_of_pipelined_requests_is_read_a_bounded_amount_at_a_time(pair):
    """A client that sends far more than it reads: the server pauses reading (buffer of
    at most PIPELINE_MAX plus one read) and still answers every request in order."""
    server, light, _ = await pair(header_timeout=30)
    one = b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    count = 4 * PIPELINE_MAX // len(one)
    answer = await exchange(light, one * count + b"GET /readyz HTTP/1.1\r\nHost: x\r\n"
                            + CLOSE + b"\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == count
    assert answer.endswith(b'{"status":"not ready"}')


async def test_compressed_metrics_decompress_to_the_plain_exposition(pair):
    server, light, _ = await pair()
    plain = split(await exchange(light, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + CLOSE
                                 + b"\r\n"))[1]
    packed = split(await exchange(light, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                  b"Accept-Encoding: gzip\r\n" + CLOSE + b"\r\n"))[1]
    deflated = split(await exchange(light, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                    b"Accept-Encoding: deflate, gzip\r\n" + CLOSE + b"\r\n"))[1]
    assert b"# TYPE" in plain
    assert gzip.decompress(packed) == plain == zlib.decompress(deflated)


async def test_shutdown_closes_open_connections(pair):
    server, light, _ = await pair(header_timeout=30)
    reader, writer = await asyncio.open_connection("127.0.0.1", light)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(TIMEOUT):
        await reader.readuntil(b'"reason":"ok"}')
    await server.light.cleanup()
    async with asyncio.timeout(TIMEOUT):
        assert await reader.read() == b""
    writer.close()


async def test_an_unreadable_token_file_stops_the_start(metrics, clock, tmp_path):
    token = tmp_path / "token"
    token.write_text("\n")
    settings = ServerSettings(listen="127.0.0.1:0", token_file=token)
    server = LightServer(metrics=metrics, progress=Progress(clock, 30), settings=settings,
                         token=TokenSource(settings), full=lambda token: None)
    with pytest.raises(Exception, match="token file is empty"):
        await server.start("127.0.0.1:0")


IMPORTS = """
import asyncio, sys, time
from prometheus_client import CollectorRegistry
from shipper.config import Settings
from shipper.components import build_observers, serve
from shipper.metrics import Metrics

async def main():
    settings = Settings(server={"listen": "127.0.0.1:0"})
    observers, server = build_observers(settings, Metrics(CollectorRegistry()))
    await serve(server, "127.0.0.1:0")
    async def get(path):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET " + path + b" HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        answer = await reader.read()
        writer.close()
        return answer.split(b"\\r\\n")[0].decode()
    probes = [await get(p) for p in (b"/healthz", b"/readyz", b"/metrics")]
    before = sorted(m for m in sys.modules if m.split(".")[0] == "aiohttp")
    jobs = await get(b"/v1/jobs")
    after = "aiohttp.web" in sys.modules
    await server.cleanup()
    print(probes, before, jobs, after)

asyncio.run(main())
"""


def test_a_running_shipper_serves_probes_without_importing_aiohttp():
    """In a fresh interpreter: the server build_observers makes answers the probes with no
    aiohttp module loaded; ``/v1/jobs`` loads it and is answered."""
    out = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True,
                         timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == ("['HTTP/1.1 200 OK', 'HTTP/1.1 503 Service Unavailable', "
                                  "'HTTP/1.1 200 OK'] [] HTTP/1.1 200 OK True")


async def test_a_failing_scrape_closes_only_its_connection(pair, caplog):
    """A collector raising while ``/metrics`` renders: that connection is closed (and the
    failure logged); the next request is answered."""
    server, light, _ = await pair()

    class Broken:
        def collect(self):
            raise RuntimeError("collector broke")

    server.metrics.registry.register(Broken())
    assert await exchange(light, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert any("cannot answer" in r.message for r in caplog.records)
    answer = await exchange(light, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK")


def test_server_header_names_the_installed_aiohttp_release_without_its_metadata(tmp_path):
    """The ``Server`` header's release comes from the ``.dist-info`` directory beside the
    package (what ``importlib.metadata`` answers), so a probe does not scan the
    distributions (~0.6 MiB resident); a package without one falls back to its metadata."""
    from importlib.metadata import version

    from shipper.server.http1 import _installed_release

    assert _installed_release("aiohttp") == version("aiohttp")
    assert _installed_release("pytest") == version("pytest")
    assert _installed_release("no_such_package_here") == "unknown"


def test_a_package_without_a_dist_info_directory_gets_its_release_from_its_metadata(
        tmp_path, monkeypatch):
    """An egg-style install (``.egg-info``, no ``.dist-info``): the release still comes
    from the package's metadata."""
    from shipper.server.http1 import _installed_release

    (tmp_path / "eggy_pkg").mkdir()
    (tmp_path / "eggy_pkg" / "__init__.py").write_text("")
    (tmp_path / "eggy_pkg-1.2.3.egg-info").mkdir()
    (tmp_path / "eggy_pkg-1.2.3.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 2.1\nName: eggy_pkg\nVersion: 1.2.3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _installed_release("eggy_pkg") == "1.2.3"
