"""TLS for HTTP sinks: verification is on by default (a self-signed server is refused),
a custom CA bundle makes it trusted, and ``verify: false`` opts out."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiohttp import web

from shipper.sinks.http import HttpSink
from shipper.sinks.settings import HttpSinkSettings
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.http import NdjsonReceiver

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


class TlsReceiver(NdjsonReceiver):
    def __init__(self, cert, key):
        super().__init__()
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ctx.load_cert_chain(cert, key)

    async def start(self):
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ctx)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}{self.path}"


async def deliver(rx, tls):
    sink = HttpSink(HttpSinkSettings(url=rx.url, tls=tls, batch={"max_wait": 0}),
                    metrics=new_metrics(), sleep=Recorder())
    return (await ship(sink, [[make_record(1)]], deadline=0.5))[0]


async def test_self_signed_server_is_refused_by_default(cert):
    async with TlsReceiver(*cert) as rx:
        token = await deliver(rx, {})
    assert not token.complete and rx.records == []


async def test_custom_ca_bundle_is_trusted(cert):
    async with TlsReceiver(*cert) as rx:
        token = await deliver(rx, {"ca_file": cert[0]})
    assert token.complete and len(rx.records) == 1


async def test_verification_can_be_turned_off(cert):
    async with TlsReceiver(*cert) as rx:
        token = await deliver(rx, {"verify": False})
    assert token.complete and len(rx.records) == 1
