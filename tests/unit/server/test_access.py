"""Who may read /v1/*: bearer token when configured, else loopback clients only (unless
``v1_open``); /metrics and the probes stay open; the token file is re-read when due."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from shipper.errors import ConfigError
from shipper.server.access import guard, is_loopback
from shipper.server.settings import ServerSettings
from shipper.server.tokens import TOKEN_RELOAD, TokenSource

from .helpers import FakeClock


def request(path: str, peer: str, authorization: str | None = None) -> web.Request:
    """A request as if it came from ``peer`` over a real connection."""
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default)
    headers = {"Authorization": authorization} if authorization else {}
    return make_mocked_request("GET", path, headers=headers, transport=transport)


async def ok(_: web.Request) -> web.StreamResponse:
    return web.Response(text="served")


async def status(settings: ServerSettings, req: web.Request) -> int:
    source = TokenSource(settings)
    await source.load()
    response = await guard(source, settings.v1_open)(req, ok)
    return response.status


@pytest.mark.parametrize("peer, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.1.2.3", False), ("192.168.0.7", False), ("fd00::2", False), ("::ffff:10.0.0.1", False),
    ("fe80::1%eth0", False), ("not-an-ip", False),
])
def test_loopback_is_recognised_in_every_notation(peer, loopback):
    assert is_loopback(request("/v1/jobs", peer)) is loopback


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/tail", "/v1/jobs/j1", "/v1", "/anything"])
async def test_without_token_only_loopback_clients_get_v1(path):
    settings = ServerSettings()
    assert await status(settings, request(path, "127.0.0.1")) == 200
    assert await status(settings, request(path, "::1")) == 200
    assert await status(settings, request(path, "10.244.1.7")) == 403


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
async def test_metrics_and_probes_stay_open_to_everyone(path):
    assert await status(ServerSettings(), request(path, "10.244.1.7")) == 200
    assert await status(ServerSettings(token="t"), request(path, "10.244.1.7")) == 200


async def test_v1_open_serves_everyone_without_a_token():
    assert await status(ServerSettings(v1_open=True), request("/v1/jobs", "10.244.1.7")) == 200


async def test_with_a_token_everyone_needs_it_loopback_too():
    settings = ServerSettings(token="s3cret", v1_open=True)
    for peer in ("127.0.0.1", "10.244.1.7"):
        assert await status(settings, request("/v1/jobs", peer)) == 401
        assert await status(settings, request("/v1/jobs", peer, "Bearer wrong")) == 401
        assert await status(settings, request("/v1/jobs", peer, "Basic s3cret")) == 401
        assert await status(settings, request("/v1/jobs", peer, "Bearer s3cret")) == 200
        assert await status(settings, request("/v1/jobs", peer, "bearer  s3cret ")) == 200


async def test_forbidden_answer_says_how_to_get_access():
    source = TokenSource(ServerSettings())
    response = await guard(source, False)(request("/v1/jobs", "10.0.0.9"), ok)
    assert isinstance(response, web.Response) and response.body is not None
    assert b"loopback clients only" in bytes(response.body)  # type: ignore[arg-type]


async def test_token_file_is_reread_when_due(tmp_path):
    """A rotated Secret takes effect after TOKEN_RELOAD seconds, without a restart."""
    path = tmp_path / "token"
    path.write_text("first\n")
    clock = FakeClock()
    source = TokenSource(ServerSettings(token_file=path), clock)
    await source.load()
    assert await source.current() == "first"
    path.write_text("second\n")
    clock.advance(TOKEN_RELOAD - 1)
    assert await source.current() == "first"
    clock.advance(2)
    assert await source.current() == "second"


async def test_token_file_appearing_later_starts_requiring_it(tmp_path):
    path = tmp_path / "token"
    clock = FakeClock()
    source = TokenSource(ServerSettings(token_file=path), clock)
    await source.load()
    assert await source.current() == ""
    path.write_text("late\n")
    clock.advance(TOKEN_RELOAD)
    assert await source.current() == "late"


async def test_a_token_file_that_turns_empty_or_vanishes_keeps_the_last_token(tmp_path):
    """Fail closed: never fall back to "no token" once one was in force."""
    path = tmp_path / "token"
    path.write_text("kept\n")
    clock = FakeClock()
    source = TokenSource(ServerSettings(token_file=path), clock)
    await source.load()
    path.write_text("")
    clock.advance(TOKEN_RELOAD)
    assert await source.current() == "kept"
    path.unlink()
    clock.advance(TOKEN_RELOAD)
    assert await source.current() == "kept"


async def test_unreadable_token_file_is_a_config_error_at_start(tmp_path):
    path = tmp_path / "token"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="server.token_file"):
        await TokenSource(ServerSettings(token_file=path)).load()
