"""The http sink's idempotency key: SHA-256 of the uncompressed NDJSON, so it does not
depend on the gzip implementation (ISA-L or zlib, or an isal upgrade across a restart with a
disk buffer) nor on the compression setting."""

from __future__ import annotations

import builtins
import gzip
import hashlib
from typing import Any

import pytest

from shipper.metrics import Metrics
from shipper.sinks import transport
from shipper.sinks.http import HttpSink
from shipper.sinks.settings import HttpSinkSettings


def _sink(**kw: Any) -> HttpSink:
    return HttpSink(HttpSinkSettings(url="http://127.0.0.1:1", name="h", **kw),
                    metrics=Metrics(collectors=False))


def _zlib_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The compressor ``gzip_compressor`` picks when ``isal`` does not import."""
    real_import = builtins.__import__

    def no_isal(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("isal"):
            raise ImportError("refused for the test")
        return real_import(name, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(builtins, "__import__", no_isal)
        return transport.gzip_compressor()


def test_the_key_is_the_ndjson_hash_whichever_gzip_compresses(monkeypatch):
    raw = b"".join(b'{"message":"line %d","level":"info"}\n' % i for i in range(2000))
    key = hashlib.sha256(raw).hexdigest()[:32]
    default = _sink()._payload(raw, [], None)
    zlib_only = _zlib_only(monkeypatch)
    monkeypatch.setattr(transport, "default_gzip", lambda: zlib_only)
    with_zlib = _sink()._payload(raw, [], None)
    plain = _sink(compression="none")._payload(raw, [], None)
    assert gzip.decompress(default.body) == gzip.decompress(with_zlib.body) == raw
    assert default.headers["Idempotency-Key"] == with_zlib.headers["Idempotency-Key"] == key
    assert plain.headers["Idempotency-Key"] == key and default.batch_id == key
