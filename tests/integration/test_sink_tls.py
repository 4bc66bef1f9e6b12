"""TLS for HTTP sinks: verification is on by default (a self-signed server is refused),
a custom CA bundle makes it trusted, and ``verify: false`` opts out."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import sys
from pathlib import Path

import pytest
from aiohttp import web

from shipper.sinks.http import HttpSink
from shipper.sinks.settings import HttpSinkSettings
from tests.receivers.certs import self_signed
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.http import NdjsonReceiver

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


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


async def test_a_sink_opened_after_the_ca_bundle_rotates_trusts_the_new_bundle(cert,
                                                                             monkeypatch):
    """Default TLS settings: each sink that opens (a reload reopens them) builds its context
    then, so a bundle named by ``SSL_CERT_FILE`` after start-up is read without a restart."""
    async with TlsReceiver(*cert) as rx:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
        token = await deliver(rx, {})
    assert token.complete and len(rx.records) == 1


async def test_verification_can_be_turned_off(cert):
    async with TlsReceiver(*cert) as rx:
        token = await deliver(rx, {"verify": False})
    assert token.complete and len(rx.records) == 1


async def test_an_https_sink_delivers_from_the_cli_that_loads_openssl_on_demand(cert, tmp_path):
    """``shipper run`` starts without OpenSSL (:mod:`shipper.deferred_openssl`); an HTTPS
    sink loads it and delivers every record, the certificate verified through the CA
    file the environment names (``SSL_CERT_FILE``, read by the default context)."""
    log = tmp_path / "app.log"
    log.write_text("".join(f'{{"level":"info","msg":"line {i}"}}\n' for i in range(5)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env.update(SSL_CERT_FILE=str(cert[0]), POD_NAME="p", POD_NAMESPACE="ns", NODE_NAME="n")
    async with TlsReceiver(*cert) as rx:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-X", "importtime", "-m", "shipper.cli", "run", "--once",
            "--path", str(log), "--podinfo-dir", str(tmp_path), "--state-dir",
            str(tmp_path / "state"), "--listen", "off", "--sink", f"http={rx.url}",
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert sorted(r["message"] for r in rx.records) == [f"line {i}" for i in range(5)]
    imported = {line.rsplit("|", 1)[1].strip() for line in stderr.decode().splitlines()
                if line.startswith("import time:") and line.count("|") == 2}
    assert {"asyncio.sslproto", "ssl", "_ssl", "_hashlib"} <= imported  # _ssl: by the sink
