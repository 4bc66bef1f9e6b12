"""pydantic's plugin look-up without ``importlib.metadata`` when no plugin is installed.

The first model pydantic builds asks ``pydantic.plugin._loader.get_plugins()`` for the
plugins of its ``pydantic`` entry-point group: that module imports ``importlib.metadata``
(``zipfile``, ``email``, ...) and reads the metadata of every installed distribution, ~0.6
MiB of a sidecar's resident memory and ~27 M instructions of start-up (2%), to find none.
:func:`skip_empty_scan` (``shipper`` calls it before the configuration loads) looks for the
group itself, in the ``entry_points.txt`` of every ``*.dist-info`` / ``*.egg-info`` on
``sys.path`` (and an egg directory's ``EGG-INFO``); when no distribution declares it,
pydantic gets a loader that answers "no plugins", as the real one would. Anything it
cannot read as plainly (a zip file on the path, another distribution finder on
``sys.meta_path``, an unreadable file) counts as "maybe": the real loader is then left to
look, so an installed plugin is loaded exactly as before.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

LOADER = "pydantic.plugin._loader"
GROUP = "pydantic"
_SECTION = re.compile(r"^\s*\[\s*pydantic\s*\]\s*$", re.MULTILINE)


@runtime_checkable
class DistributionFinder(Protocol):
    """A ``sys.meta_path`` finder that ``importlib.metadata`` asks for distributions."""

    def find_distributions(self, *args: Any, **kwargs: Any) -> Iterable[Any]: ...


def skip_empty_scan() -> bool:
    """Give pydantic a plugin loader that finds none when no installed distribution
    declares a plugin; False (nothing done) when one may, or once the loader is loaded."""
    if LOADER in sys.modules or may_declare_plugins(sys.path, sys.meta_path):
        return False
    sys.modules[LOADER] = _empty_loader()
    return True


def may_declare_plugins(path: Iterable[str], finders: Iterable[Any]) -> bool:
    """Whether a distribution that ``importlib.metadata`` would find on ``path`` may
    declare an entry point of the ``pydantic`` group."""
    if any(isinstance(finder, DistributionFinder)
           and finder is not importlib.machinery.PathFinder for finder in finders):
        return True  # distributions from elsewhere: only importlib.metadata knows
    return any(_declared_in(entry or ".") for entry in path)


def _declared_in(directory: str) -> bool:
    try:
        names = os.listdir(directory)
    except NotADirectoryError:
        return True  # a zip file's distributions
    except FileNotFoundError:
        return False
    except OSError:
        return True
    egg = directory.lower().rstrip("/").endswith(".egg")
    for name in names:
        lower = name.lower()
        if not (lower.endswith((".dist-info", ".egg-info")) or (egg and lower == "egg-info")):
            continue
        try:
            with open(os.path.join(directory, name, "entry_points.txt"), "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except (FileNotFoundError, NotADirectoryError):
            continue  # no entry points (an ``.egg-info`` may be a plain file)
        except OSError:
            return True
        if _SECTION.search(text):
            return True
    return False


def _empty_loader() -> ModuleType:
    """What ``pydantic.plugin._loader`` is once it has looked and found no plugin."""
    module = ModuleType(LOADER, "pydantic's plugin loader: no plugin is installed "
                                "(shipper.pydantic_plugins looked)")
    module.PYDANTIC_ENTRY_POINT_GROUP = GROUP  # type: ignore[attr-defined]
    module._plugins = {}  # type: ignore[attr-defined]
    module._loading_plugins = False  # type: ignore[attr-defined]
    module.get_plugins = _no_plugins  # type: ignore[attr-defined]
    return module


def _no_plugins() -> tuple[()]:
    return ()
