"""The default CA bundle loads when a TLS connection needs it (shipper.lazy_tls): a sink
on plain ``http://`` never reads it, aiohttp's import does not, and a TLS connection
(an https sink added later, or aiohttp's own defaults) is verified exactly as before,
against a real TLS server on 127.0.0.1 with a self-signed CA."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from shipper import lazy_tls
from shipper.errors import RetryableSinkError
from shipper.sinks.settings import HttpSinkSettings
from shipper.sinks.transport import HttpTransport
from tests.receivers.certs import self_signed

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    return self_signed(tmp_path_factory.mktemp("tls"))


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
        pass  # a client that refused the certificate hangs up in the handshake
    finally:
        writer.close()


@asynccontextmanager
async def tls_server(cert: tuple[Path, Path]) -> AsyncIterator[str]:
    """An HTTPS server on 127.0.0.1 answering 200; yields its URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    server = await asyncio.start_server(_answer, "127.0.0.1", 0, ssl=context)
    async with server:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/ingest"


def transport(url: str, **tls: object) -> HttpTransport:
    return HttpTransport(HttpSinkSettings(url=url, tls=tls), sink="t")


def loaded_cas(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


async def test_a_plain_http_sink_opens_without_reading_the_ca_bundle(cert, monkeypatch):
    """The default bundle (here the self-signed CA, named by SSL_CERT_FILE) is read by an
    https sink's context when it opens, not by a plain-http sink's."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    plain, secure = transport("http://127.0.0.1:9/ingest"), transport("https://127.0.0.1:9/x")
    await plain.open()
    await secure.open()
    try:
        assert loaded_cas(plain._session.connector._ssl) == 0
        assert vars(plain._session.connector._ssl)[lazy_tls.PENDING] is True
        assert loaded_cas(secure._session.connector._ssl) == 1
    finally:
        await plain.close()
        await secure.close()


async def test_a_plain_http_sink_reads_the_bundle_at_its_first_tls_connection(cert,
                                                                            monkeypatch):
    """A URL of a plain-http sink that turns out to be https (another URL, a redirect)
    is verified against the default bundle, loaded before that handshake."""
    sink = transport("http://127.0.0.1:9/ingest")
    await sink.open()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # read at the connection, not at open
    try:
        async with tls_server(cert) as url:
            status, _, text = await sink.post(url, b"{}\n", {})
        assert (status, text) == (200, "ok")
        assert loaded_cas(sink._session.connector._ssl) == 1
        assert lazy_tls.PENDING not in vars(sink._session.connector._ssl)
    finally:
        await sink.close()


async def test_the_deferred_bundle_still_refuses_an_unknown_ca(cert, tmp_path, monkeypatch):
    """Verification stays on: a bundle without the server's CA refuses the handshake."""
    other, _key = self_signed(tmp_path)  # another CA (its own key): not the server's
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    sink = transport("http://127.0.0.1:9/ingest")
    await sink.open()
    try:
        async with tls_server(cert) as url:
            with pytest.raises(RetryableSinkError, match="ClientConnectorCertificateError"):
                await sink.post(url, b"{}\n", {})
    finally:
        await sink.close()


async def test_an_https_sink_added_later_verifies_with_its_ca_file(cert):
    """After plain-http sinks deferred their bundle, an https sink (a reload adds one)
    trusts the CA its ``tls.ca_file`` names, and a sink without it refuses the server."""
    plain = transport("http://127.0.0.1:9/ingest")
    await plain.open()
    await plain.close()
    async with tls_server(cert) as url:
        trusting, default = transport(url, ca_file=str(cert[0])), transport(url)
        await trusting.open()
        await default.open()
        try:
            status, _, _ = await trusting.post(url, b"{}\n", {})
            assert status == 200
            with pytest.raises(RetryableSinkError, match="Certificate"):
                await default.post(url, b"{}\n", {})
        finally:
            await trusting.close()
            await default.close()


AIOHTTP_DEFAULTS = textwrap.dedent("""
    import asyncio, json, ssl, sys
    from shipper import lazy_tls
    lazy_tls.install()
    import aiohttp
    from aiohttp import connector

    cas = lambda: [connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
                   connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"]]
    seen = {"at_import": cas()}

    async def answer(reader, writer):
        try:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n"
                         b"Connection: close\\r\\n\\r\\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        writer.close()

    async def main():
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(sys.argv[1], sys.argv[2])
        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get(url) as response:
                    seen["verified"] = response.status
            except aiohttp.ClientConnectorCertificateError:
                seen["verified"] = "refused"
        seen["after"] = cas()
        server.close()

    asyncio.run(main())
    print(json.dumps(seen))
""")


@pytest.mark.parametrize("trusted", [True, False])
def test_aiohttp_imports_without_reading_the_bundle_and_verifies_as_before(cert, trusted):
    """aiohttp's two default contexts hold no CA after its import; its verified default
    loads the bundle at the first https request and verifies the server against it
    (trusted when SSL_CERT_FILE names the server's CA, refused otherwise)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    if trusted:
        env["SSL_CERT_FILE"] = str(cert[0])
    done = subprocess.run([sys.executable, "-c", AIOHTTP_DEFAULTS, *map(str, cert)],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen["at_import"] == [0, 0]
    assert seen["verified"] == (200 if trusted else "refused")
    assert seen["after"][1] == 0  # the unverified default was never used
    if trusted:
        assert seen["after"][0] == 1


def test_an_aiohttp_without_the_hook_point_gets_its_bundle_loaded_at_once(cert, monkeypatch):
    """An aiohttp whose ``TCPConnector`` has no ``_get_ssl_context`` (another version)
    leaves no place to load a deferred bundle: ``build_deferred`` then builds the context
    with its CA loaded at once, as before, rather than one that would refuse every peer."""
    import types

    other = types.ModuleType(lazy_tls.CONNECTOR)
    other.TCPConnector = type("TCPConnector", (), {})  # type: ignore[attr-defined]
    monkeypatch.setattr(lazy_tls.importlib, "import_module", lambda name: other)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    assert lazy_tls.complete_on_use(other) is False
    context = lazy_tls.build_deferred(ssl.create_default_context)
    assert loaded_cas(context) == 1
    assert lazy_tls.PENDING not in vars(context)
