"""A client TLS context loads the default CA bundle when a connection needs it.

Loading the system CA bundle into an ``ssl.SSLContext`` (``set_default_verify_paths``)
costs ~240 M instructions. aiohttp's ``connector`` module builds two such contexts when it
is imported (its defaults for ``ssl=True`` / ``ssl=False``), and each HTTP sink built one
more when it opened: ~0.7 G of the start-up of a sidecar whose sinks speak plain
``http://``, for bundles it never reads.

:func:`install` (the sinks' transport calls it before importing aiohttp; the server's
aiohttp app, loaded on demand, comes later) has aiohttp's module imported with those two
loads *deferred*, and :func:`build_deferred` builds a context (a plain-http sink's) the
same way. A deferred context is the same
object, built by the same code, with the same settings; only its default verify paths
are loaded later: in ``TCPConnector._get_ssl_context``, the one place aiohttp picks the
context of a TLS connection, before the handshake (once, under a lock). Verification is
therefore exactly as before; the bundle read is the one in place at the first TLS
connection rather than at start-up. A context deferred while aiohttp was imported that is
not one of its two defaults (nothing else builds one today) is loaded there and then.

The deferral works on the thread that asked for it only: ``ssl.SSLContext``'s
``set_default_verify_paths`` is replaced, the first time, by one that defers when the
calling thread is in :func:`deferring` and loads as always otherwise.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from shipper.import_hooks import WrappingLoader

if TYPE_CHECKING:
    import ssl

CONNECTOR = "aiohttp.connector"
#: aiohttp's module-level contexts (``connector.py``, aiohttp 3.x)
DEFAULTS = ("_SSL_CONTEXT_VERIFIED", "_SSL_CONTEXT_UNVERIFIED")
#: set (to True) in a deferred context's ``__dict__`` until its default paths are loaded
PENDING = "_shipper_default_paths_pending"
METHOD = "set_default_verify_paths"
_LOCK = threading.RLock()


class _Deferring(threading.local):
    """Per thread: the contexts deferred by the innermost :func:`deferring` (or None)."""

    contexts: list[Any] | None = None


_THREADS = _Deferring()


def install() -> bool:
    """Defer aiohttp's import-time CA loads (False when ``aiohttp.connector`` is already
    imported: its contexts were loaded then; deferred contexts are completed either way)."""
    connector = sys.modules.get(CONNECTOR)
    if connector is not None:
        complete_on_use(connector)
        return False
    with _LOCK:
        if not any(isinstance(finder, _ConnectorFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _ConnectorFinder())
    return True


def build_deferred[T](build: Callable[..., T], *args: Any) -> T:
    """``build(*args)``, the default verify paths of the contexts it makes deferred to
    their first TLS connection through aiohttp."""
    if not complete_on_use(importlib.import_module(CONNECTOR)):
        return build(*args)  # no place to load them later: loaded now, as before
    with deferring():
        return build(*args)


@contextmanager
def deferring() -> Iterator[list[Any]]:
    """The contexts that load their default verify paths on this thread meanwhile are
    marked :data:`PENDING` instead (and listed in what this yields)."""
    if not _patch_ssl():
        yield []  # someone else's method: contexts load as they are built
        return
    outer, _THREADS.contexts = _THREADS.contexts, []
    try:
        yield _THREADS.contexts
    finally:
        _THREADS.contexts = outer


def load_pending(context: Any) -> None:
    """Load a deferred context's default verify paths (nothing if none are pending)."""
    if vars(context).get(PENDING):
        with _LOCK:
            if vars(context).get(PENDING):
                _ssl_method()(context)
                del vars(context)[PENDING]


def complete_on_use(connector: ModuleType) -> bool:
    """Have ``TCPConnector._get_ssl_context`` load a deferred context before handing it
    out (once per process). False when this aiohttp has no such method (another
    version): nothing may be deferred then."""
    cls: Any = getattr(connector, "TCPConnector", None)
    with _LOCK:
        original = None if cls is None else vars(cls).get("_get_ssl_context")
        if cls is None or original is None:
            return False
        if vars(original).get(PENDING) is not None:
            return True  # done already

        def _get_ssl_context(self: Any, req: Any) -> ssl.SSLContext | None:
            context: ssl.SSLContext | None = original(self, req)
            if context is not None:
                load_pending(context)
            return context

        _get_ssl_context.__doc__ = original.__doc__
        vars(_get_ssl_context)[PENDING] = False
        cls._get_ssl_context = _get_ssl_context
        return True


def _ssl_method() -> Callable[[Any], None]:
    import _ssl

    method: Callable[[Any], None] = getattr(_ssl._SSLContext, METHOD)
    return method


def _set_default_verify_paths(self: ssl.SSLContext) -> None:
    """Load the default CA paths, or mark the context :data:`PENDING` on a thread in
    :func:`deferring`."""
    deferred = _THREADS.contexts
    if deferred is None:
        _ssl_method()(self)
    else:
        vars(self)[PENDING] = True
        deferred.append(self)


def _patch_ssl() -> bool:
    """``ssl.SSLContext.set_default_verify_paths`` becomes :func:`_set_default_verify_paths`
    (once; it loads as always on a thread that is not deferring). False when the class
    has a method of its own there (not ``_ssl``'s): nothing is deferred then."""
    import ssl

    with _LOCK:
        current = vars(ssl.SSLContext).get(METHOD)
        if current is None:
            setattr(ssl.SSLContext, METHOD, _set_default_verify_paths)
            return True
        return current is _set_default_verify_paths


class _ConnectorFinder:
    """Finds ``aiohttp.connector`` as the path finder does, with a loader that runs it
    in :func:`deferring`; then takes itself off ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != CONNECTOR or CONNECTOR in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferringLoader(spec.loader, self.retire)
        return spec

    def retire(self) -> None:
        with _LOCK:
            if self in sys.meta_path:
                sys.meta_path.remove(self)


class _DeferringLoader(WrappingLoader):
    """``inner``'s module, executed with its CA loads deferred."""

    def run(self, module: ModuleType) -> None:
        importlib.import_module("ssl")  # its own import (deferred_openssl) outside the window
        with deferring() as deferred:
            super().run(module)
        hooked = complete_on_use(module)
        defaults = [vars(module).get(name) for name in DEFAULTS] if hooked else []
        for context in deferred:
            if not any(context is default for default in defaults):
                load_pending(context)  # not reachable through _get_ssl_context
