"""``POST /-/reload``: guarded like ``/v1`` (bearer token, else loopback clients only) but
``v1_open`` does not open it; 200 with what changed, 500 with the error when refused."""

from __future__ import annotations

import json
from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from shipper.reload import Outcome
from shipper.server import app as app_module
from shipper.server.app import TOKEN, build_app
from shipper.server.health import Progress
from shipper.jobs import JobTracker
from shipper.server.settings import ServerSettings
from shipper.server.tail import TailHub


class FakeReload:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.calls: list[str] = []

    async def __call__(self, source: str) -> Outcome:
        self.calls.append(source)
        return self.outcome


def make_app(metrics, settings: ServerSettings, reload: FakeReload) -> web.Application:
    return build_app(metrics=metrics, progress=Progress(lambda: 0.0, 60.0),
                     tail=TailHub.from_settings(settings),
                     jobs=JobTracker.from_settings(metrics, lambda: 0.0, settings),
                     settings=settings, reload=reload)


async def post(app: web.Application, peer: str, authorization: str | None = None):
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default)
    headers = {"Authorization": authorization} if authorization else {}
    request = make_mocked_request("POST", "/-/reload", headers=headers, transport=transport,
                                  app=app)
    await app[TOKEN].load()
    [guard] = app.middlewares
    response = await guard(request, app_module._reload)
    return response.status, json.loads(response.body)


async def test_loopback_may_reload_without_a_token_and_gets_the_outcome(metrics):
    reload = FakeReload(Outcome(True, changed=("sinks",), restart_required=("paths",)))
    status, body = await post(make_app(metrics, ServerSettings(), reload), "127.0.0.1")
    assert status == 200 and reload.calls == ["POST /-/reload"]
    assert body == {"status": "success", "changed": ["sinks"], "restart_required": ["paths"]}


async def test_others_may_not_reload_without_a_token_even_with_v1_open(metrics):
    reload = FakeReload(Outcome(True))
    app = make_app(metrics, ServerSettings(v1_open=True), reload)
    status, body = await post(app, "10.244.1.7")
    assert status == 403 and "loopback" in body["error"] and reload.calls == []


async def test_with_a_token_everyone_needs_it(metrics):
    reload = FakeReload(Outcome(True))
    app = make_app(metrics, ServerSettings(token="s3cret"), reload)
    assert (await post(app, "127.0.0.1"))[0] == 401
    assert (await post(app, "10.244.1.7", "Bearer wrong"))[0] == 401
    assert (await post(app, "10.244.1.7", "Bearer s3cret"))[0] == 200
    assert reload.calls == ["POST /-/reload"]


async def test_a_refused_reload_is_500_with_the_error(metrics):
    reload = FakeReload(Outcome(False, "sinks.h.match.message: invalid regex"))
    status, body = await post(make_app(metrics, ServerSettings(), reload), "::1")
    assert status == 500
    assert body == {"status": "failure", "error": "sinks.h.match.message: invalid regex",
                    "changed": [], "restart_required": []}
