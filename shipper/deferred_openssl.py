"""OpenSSL loads when something needs TLS, not at start-up.

``asyncio`` imports ``ssl`` (``libssl``) and ``hmac``/``hashlib`` import ``_hashlib``
(``libcrypto``) as soon as they are imported themselves: 5 MiB of the resident memory of
a sidecar that, with a stdout sink, a plain-HTTP server and no Kubernetes API lookups,
never makes a TLS connection. :func:`defer` (``shipper run`` calls it first) imports
them with both refused, as on a Python built without OpenSSL: asyncio then has no TLS
yet, and hashlib serves its hashes from CPython's own implementations (sha2, sha3,
blake2, md5, sha1; what the shipper uses). Until then ``hmac`` runs its pure-Python
path (a redaction ``replacement: hash`` costs ~13 us a secret instead of ~10) and
hashlib has no ``pbkdf2_hmac``, ``scrypt`` or OpenSSL-only algorithms (nothing in the
shipper uses them).

The first real import of ``ssl`` (an HTTPS sink's client, the Kubernetes client,
aiohttp) loads it as usual and, before the importer goes on, gives asyncio's modules
their ``ssl`` (and ``sslproto.SSLAgainErrors``, defined only with ``ssl``), reloads
``hashlib`` and switches ``hmac`` to OpenSSL, which is mapped by then anyway. From then on the
process is as if nothing had been deferred.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
from types import ModuleType
from typing import Any

from shipper.import_hooks import WrappingLoader

#: refused while :func:`defer` imports :data:`IMPORTED`
DEFERRED = ("ssl", "_hashlib")
IMPORTED = ("asyncio", "hashlib", "hmac")
#: the asyncio modules that keep a module-level ``ssl`` (``None`` without it)
ASYNCIO_USERS = ("asyncio.base_events", "asyncio.selector_events", "asyncio.sslproto")


def defer() -> bool:
    """Import :data:`IMPORTED` without OpenSSL, and give it to them when ``ssl`` is first
    imported. False (nothing done) when any of them or of :data:`DEFERRED` is loaded."""
    if any(name in sys.modules for name in (*IMPORTED, *DEFERRED)):
        return False
    refuse = _Refuse()
    sys.meta_path.insert(0, refuse)
    try:
        for name in IMPORTED:
            importlib.import_module(name)
    finally:
        sys.meta_path.remove(refuse)
    sys.meta_path.insert(0, _GiveBack())
    return True


def give_back(ssl: ModuleType) -> None:
    """What asyncio, hashlib and hmac would hold had OpenSSL been there from the start."""
    sslproto = sys.modules.get("asyncio.sslproto")
    if sslproto is not None and "SSLAgainErrors" not in vars(sslproto):
        sslproto.SSLAgainErrors = (  # type: ignore[attr-defined]
            ssl.SSLWantReadError, ssl.SSLSyscallError)
    for name in ASYNCIO_USERS:  # after what ``ssl`` being there implies
        module = sys.modules.get(name)
        if module is not None and vars(module).get("ssl") is None:
            module.ssl = ssl  # type: ignore[attr-defined]
    hashlib = sys.modules.get("hashlib")
    if hashlib is not None and vars(hashlib).get("_hashlib") is None:
        importlib.reload(hashlib)  # every name stays bound while it runs again
    _give_hmac()


def _give_hmac() -> None:
    """hmac's OpenSSL names, set so that a call in another thread meanwhile sees either
    the pure-Python path or the OpenSSL one (reloading it would open a moment where
    ``_hashopenssl`` is set and ``_functype`` not yet). Left alone unless hmac has the
    layout of Python 3.12-3.13 without OpenSSL."""
    hmac = sys.modules.get("hmac")
    names = vars(hmac) if hmac is not None else {}
    if "_functype" not in names or names.get("_hashopenssl", False) is not None:
        return
    openssl = importlib.import_module("_hashlib")
    names["_functype"] = type(openssl.openssl_sha256)
    names["compare_digest"] = openssl.compare_digest
    names["_hashopenssl"] = openssl  # last: the switch to the OpenSSL path


class _Refuse:
    """:data:`DEFERRED` cannot be found (their importers catch the ImportError)."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in DEFERRED:
            raise ModuleNotFoundError(f"{fullname} is loaded when TLS is used", name=fullname)
        return None


class _GiveBack:
    """Finds ``ssl`` as the path finder does, with a loader that calls :func:`give_back`
    once the module is executed, and then takes this finder off ``sys.meta_path`` (a
    lookup that loads nothing, or a load that fails, leaves it in place)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "ssl" or "ssl" in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenGiveBack(spec.loader, self.retire)
        return spec

    def retire(self) -> None:
        with self._lock:
            if self in sys.meta_path:
                sys.meta_path.remove(self)


class _ThenGiveBack(WrappingLoader):
    """``inner``'s module, then :func:`give_back` (and ``done``)."""

    def run(self, module: ModuleType) -> None:
        super().run(module)
        give_back(module)
