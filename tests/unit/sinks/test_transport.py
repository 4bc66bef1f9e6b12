"""classify_http per status code, Retry-After parsing, compression and TLS defaults."""

from __future__ import annotations

import gzip
import logging
import ssl
from email.utils import formatdate

import pytest
import zstandard

from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError
from shipper.sinks.settings import HttpSinkSettings, TlsSettings
from shipper.sinks.transport import classify_http, compress, parse_retry_after, tls_context

NOW = 1_700_000_000.0


def outcome(status, headers=None):
    try:
        classify_http(status, headers or {}, sink="s", now=NOW)
    except PayloadTooLargeError:
        return "split"
    except RetryableSinkError as exc:
        return ("retry", exc.retry_after)
    except FatalSinkError:
        return "fatal"
    return "ok"


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_delivered(status):
    assert outcome(status) == "ok"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_fatal(status):
    assert outcome(status) == "fatal"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retryable_without_retry_after(status):
    assert outcome(status) == ("retry", None)


def test_413_asks_for_a_split():
    assert outcome(413) == "split"


def test_429_retry_after_in_seconds():
    assert outcome(429, {"Retry-After": "12"}) == ("retry", 12.0)


def test_503_retry_after_as_http_date_is_relative_to_now():
    when = formatdate(NOW + 30, usegmt=True)
    assert outcome(503, {"Retry-After": when}) == ("retry", pytest.approx(30.0))


def test_retry_after_in_the_past_or_invalid():
    assert parse_retry_after(formatdate(NOW - 60, usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None


def test_fatal_error_message_carries_the_status_and_detail():
    with pytest.raises(FatalSinkError, match="HTTP 400: bad stream") as info:
        classify_http(400, {}, sink="s", now=NOW, detail="bad stream")
    assert info.value.status == 400


def test_compress_gzip_zstd_and_none_round_trip():
    body = b'{"a":1}\n' * 100
    gz, headers = compress(body, "gzip")
    assert gzip.decompress(gz) == body and headers == {"Content-Encoding": "gzip"}
    zs, headers = compress(body, "zstd")
    assert zstandard.ZstdDecompressor().decompressobj().decompress(zs) == body
    assert compress(body, "none") == (body, {})


def test_tls_verifies_by_default_and_can_opt_out():
    assert tls_context(TlsSettings()).verify_mode == ssl.CERT_REQUIRED
    off = tls_context(TlsSettings(verify=False))
    assert off.verify_mode == ssl.CERT_NONE and not off.check_hostname


def test_gzip_bodies_round_trip_the_same_bytes_each_time_with_isal_or_zlib(monkeypatch):
    """The compressor (ISA-L where ``isal`` imports) and the zlib fallback (``isal``
    refused) each give a gzip member the standard library decompresses, the same bytes
    for the same input (a retried batch keeps its idempotency key)."""
    import builtins

    from shipper.sinks import transport

    body = b"".join(b'{"message":"line %d","level":"info"}\n' % i for i in range(2000))
    real_import = builtins.__import__

    def no_isal(name, *args, **kwargs):
        if name.startswith("isal"):
            raise ImportError("refused for the test")
        return real_import(name, *args, **kwargs)

    compressors = [transport.gzip_compressor()]
    monkeypatch.setattr(builtins, "__import__", no_isal)
    compressors.append(transport.gzip_compressor())
    monkeypatch.undo()
    assert compressors[1].func is gzip.compress  # type: ignore[attr-defined]
    if _isal_imports():  # as the code decides (isal installed but broken: zlib)
        assert compressors[0].func is not gzip.compress  # type: ignore[attr-defined]
    for make in compressors:
        first = make(body)
        assert gzip.decompress(first) == body and make(body) == first
        assert len(first) < len(body) // 4


def _isal_imports() -> bool:
    try:
        from isal import igzip  # noqa: F401
    except ImportError:
        return False
    return True


async def test_a_gzip_sink_logs_once_at_start_which_gzip_compresses(caplog):
    """One info line at open naming the implementation the bodies use (ISA-L where
    ``from isal import igzip`` works, else zlib), none for a sink that does not gzip."""
    from shipper.sinks.transport import HttpTransport

    caplog.set_level(logging.INFO, logger="shipper.sinks")
    for compression in ("gzip", "none"):
        transport = HttpTransport(HttpSinkSettings(url="http://127.0.0.1:1", name=compression,
                                                   compression=compression), sink=compression)
        await transport.open()
        await transport.close()
    said = [r.getMessage() for r in caplog.records if "gzip bodies" in r.getMessage()]
    assert said == [f"sink gzip: gzip bodies by {'ISA-L' if _isal_imports() else 'zlib'} level 1"]


@pytest.mark.integration  # the shipper runs as a subprocess
def test_a_loki_run_loads_neither_isal_nor_zstandard(tmp_path):
    """A process whose only sink is Loki (snappy protobuf) never imports the gzip or zstd
    compressors: they load at the first body that needs them (~0.7 MiB and 2.5 ms less
    for every pod whose sinks send neither)."""
    import subprocess
    import sys

    log = tmp_path / "app.log"
    log.write_text('{"level":"info","message":"hello"}\n')
    config = tmp_path / "shipper.yaml"
    config.write_text("sinks:\n- type: loki\n  url: http://127.0.0.1:9\n  retry:\n"
                      "    max_attempts: 1\n")
    probe = ("import runpy, sys, atexit\n"
             "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules}"
             " & {'isal', 'zstandard', 'aiohttp'}), file=sys.stderr))\n"
             "sys.argv = ['shipper', 'run', '--once', '--path', sys.argv[1], '--config',"
             " sys.argv[2], '--listen', 'off', '--state-dir', sys.argv[3]]\n"
             "runpy.run_module('shipper.cli', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", probe, str(log), str(config),
                           str(tmp_path / "state")], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "POD_NAME": "p"})
    assert proc.stderr.strip().splitlines()[-1] == "['aiohttp']", proc.stderr[-2000:]
