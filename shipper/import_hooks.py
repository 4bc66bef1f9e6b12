"""A loader that runs a module as its own loader would, with something around it.

:mod:`shipper.deferred_openssl` (asyncio's modules given their ``ssl`` once it loads) and
:mod:`shipper.lazy_tls` (aiohttp's connector imported with its CA loads deferred) each
wrap the loader the path finder picked for one module.
"""

from __future__ import annotations

import importlib.machinery
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: ``importlib.abc`` imports ``importlib.resources``
    from importlib.abc import Loader
else:
    Loader = object


class WrappingLoader(Loader):
    """``inner``'s module, executed by :meth:`run`, then ``done``; the module keeps
    ``inner`` as its loader (``inspect`` and ``linecache`` read its source through it)."""

    def __init__(self, inner: Loader, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done = done

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self.run(module)
        self._done()

    def run(self, module: ModuleType) -> None:
        """Execute ``module`` (a subclass adds what goes around it)."""
        self._inner.exec_module(module)
