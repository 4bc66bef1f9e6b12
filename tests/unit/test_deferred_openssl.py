"""OpenSSL on demand (:mod:`shipper.deferred_openssl`): asyncio, hashlib and hmac load
without it and work; the first ``import ssl`` gives it back to them before the importer
goes on, so TLS through asyncio works as if nothing had been deferred. Each case runs
in a fresh interpreter (a test process has OpenSSL loaded long before)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def python_c(code: str, **env: str) -> str:
    """What ``python -c code`` prints (stripped) in a fresh interpreter; it must exit 0."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


DEFERRED = "import sys; from shipper import deferred_openssl as d; assert d.defer()\n"


def test_asyncio_hashlib_and_hmac_load_without_openssl_and_still_hash():
    code = DEFERRED + (
        "import asyncio.base_events as be, hashlib, hmac\n"
        "print('ssl' in sys.modules, '_hashlib' in sys.modules, be.ssl is None,\n"
        "      hashlib.sha256(b'abc').hexdigest(), hashlib.blake2b(b'x').digest_size,\n"
        "      hmac.compare_digest(b'a', b'a'))")
    assert python_c(code) == f"False False True {SHA256_ABC} 64 True"


def test_the_first_ssl_import_gives_asyncio_and_hashlib_their_openssl():
    code = DEFERRED + (
        "import hashlib, hmac; before = hmac.new(b'k', b'm', 'sha256').hexdigest()\n"
        "import ssl, importlib.machinery as im\n"
        "import asyncio.base_events as be, asyncio.selector_events as se, "
        "asyncio.sslproto as sp\n"
        "print(be.ssl is ssl and se.ssl is ssl and sp.ssl is ssl,\n"
        "      sp.SSLAgainErrors == (ssl.SSLWantReadError, ssl.SSLSyscallError),\n"
        "      '_hashlib' in sys.modules, hasattr(hashlib, 'pbkdf2_hmac'),\n"
        "      hmac.new(b'k', b'm', 'sha256').hexdigest() == before,\n"
        "      hmac._hashopenssl is sys.modules['_hashlib'],\n"
        "      isinstance(ssl.__loader__, im.SourceFileLoader),\n"
        "      any(type(f).__module__ == d.__name__ for f in sys.meta_path))")
    assert python_c(code) == "True True True True True True True False"


def test_nothing_is_deferred_once_asyncio_is_loaded():
    code = ("import sys, asyncio; from shipper import deferred_openssl as d; "
            "finders = list(sys.meta_path); print(d.defer(), sys.meta_path == finders, "
            "asyncio.base_events.ssl is not None)")
    assert python_c(code) == "False True True"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tls_through_asyncio_works_after_the_give_back(tmp_path):
    """A TLS echo over loopback through ``asyncio.start_server``/``open_connection``,
    the client verifying the server's certificate, after a deferred start."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    code = DEFERRED + (
        "import asyncio, ssl\n"
        "async def main():\n"
        "    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
        f"    server_ctx.load_cert_chain({str(cert)!r}, {str(key)!r})\n"
        f"    client_ctx = ssl.create_default_context(cafile={str(cert)!r})\n"
        "    async def echo(reader, writer):\n"
        "        writer.write(await reader.readline()); await writer.drain(); writer.close()\n"
        "    server = await asyncio.start_server(echo, '127.0.0.1', 0, ssl=server_ctx)\n"
        "    port = server.sockets[0].getsockname()[1]\n"
        "    reader, writer = await asyncio.open_connection('127.0.0.1', port, ssl=client_ctx)\n"
        "    writer.write(b'hello over tls\\n'); await writer.drain()\n"
        "    line = await reader.readline(); cipher = writer.get_extra_info('cipher')\n"
        "    writer.close(); server.close()\n"
        "    return line.decode().strip(), cipher is not None\n"
        "print(*asyncio.run(main()))")
    assert python_c(code) == "hello over tls True"


def test_a_lookup_that_loads_nothing_leaves_the_give_back_armed():
    """``importlib.util.find_spec("ssl")`` (a check whether TLS is there) loads nothing:
    the import after it still gives asyncio its ``ssl``, and only then the finder goes."""
    code = DEFERRED + (
        "import importlib.util; assert importlib.util.find_spec('ssl') is not None\n"
        "armed = any(type(f).__module__ == d.__name__ for f in sys.meta_path)\n"
        "import ssl, asyncio.sslproto as sp, hmac\n"
        "print(armed, sp.ssl is ssl, hmac._hashopenssl is not None,\n"
        "      any(type(f).__module__ == d.__name__ for f in sys.meta_path))")
    assert python_c(code) == "True True True False"
