"""Loading ``prometheus_client`` with only the parts a running shipper uses.

The package's ``__init__`` imports everything, its exposition module included, which pulls
in ``http.server``, ``urllib.request``, ``wsgiref``, ``email`` and ``socketserver`` for its
push-gateway and stand-alone servers (~2 MiB resident, ~0.1 s of start-up), and
``python-snappy`` when installed (``cramjam``, 1.5 MiB) for push-gateway compression. The
shipper needs the metric classes and the registry; ``/metrics`` is written by
:mod:`shipper.metrics_text`, which never loads the exposition module.

:func:`install` (``shipper run`` calls it first) registers the package without running its
``__init__`` and imports the metric modules; the package completes itself, as imported
normally, the first time one of its own names is looked up (``from prometheus_client import
REGISTRY``), with snappy hidden from the thread that completes it only (it stays importable
everywhere else: a Loki sink built by a reload in another thread at that moment imports it
as usual).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pkgutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

PACKAGE = "prometheus_client"
#: the modules :mod:`shipper.metrics` builds on
PARTS = ("metrics", "registry", "gc_collector", "platform_collector", "process_collector")


def install() -> bool:
    """Register the package without its ``__init__`` and load :data:`PARTS`; False (and
    nothing done) once the package is loaded, normally or by an earlier call."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        raise ImportError(f"{PACKAGE} is not installed", name=PACKAGE)
    package = importlib.util.module_from_spec(spec)
    package.__getattr__ = _Completer(package)  # type: ignore[method-assign]  # PEP 562
    sys.modules[PACKAGE] = package
    try:
        for part in PARTS:  # the import statement's path: ``-X importtime`` lists them
            __import__(f"{PACKAGE}.{part}")
    except BaseException:
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]  # as if never imported: a normal import starts afresh
        raise
    return True


class _Completer:
    """The lazily registered package's ``__getattr__``: runs the real ``__init__`` once
    (its submodules already loaded are reused), then answers like the complete package.
    A submodule's name is not one of its own: ``from . import values`` goes on to import
    the submodule, as with any package."""

    def __init__(self, package: ModuleType) -> None:
        self._package = package
        self._lock = threading.RLock()
        self._state = "partial"
        self._submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}

    def __call__(self, name: str) -> Any:
        if name in self._submodules:  # as after a normal import: the submodule, loaded
            with snappy_hidden():
                return importlib.import_module(f"{PACKAGE}.{name}")
        with self._lock:
            if self._state == "loading":
                raise AttributeError(name)
            if self._state == "partial":
                self._complete()
        try:
            return self._package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    def _complete(self) -> None:
        spec = self._package.__spec__
        assert spec is not None and spec.loader is not None
        self._state = "loading"
        try:
            with snappy_hidden():
                spec.loader.exec_module(self._package)
        except BaseException:
            self._state = "partial"  # the next lookup tries again and sees the error
            raise
        self._state = "done"


class _HideSnappy:
    """Refuses ``snappy`` to the threads inside :func:`snappy_hidden`, and to no other."""

    def __init__(self) -> None:
        self.inside = threading.local()

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        depth: int = getattr(self.inside, "depth", 0)
        if fullname == "snappy" and depth:
            raise ModuleNotFoundError("snappy is not loaded with the metrics encoders",
                                      name=fullname)
        return None  # the next finder's to find


_HIDE_SNAPPY = _HideSnappy()
_HIDE_LOCK = threading.Lock()


@contextmanager
def snappy_hidden() -> Iterator[None]:
    """An ImportError for ``snappy`` inside the block, in this thread only (an import of
    it in any other thread meanwhile works); nothing changes once it is loaded."""
    with _HIDE_LOCK:
        if _HIDE_SNAPPY not in sys.meta_path:
            sys.meta_path.insert(0, _HIDE_SNAPPY)
    inside = _HIDE_SNAPPY.inside
    inside.depth = getattr(inside, "depth", 0) + 1
    try:
        yield
    finally:
        inside.depth -= 1
