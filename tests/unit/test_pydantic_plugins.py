"""shipper.pydantic_plugins: pydantic's plugin look-up is skipped only when no
distribution on the path can declare a ``pydantic`` entry point."""

from __future__ import annotations

import importlib.machinery
import sys
import zipfile
from pathlib import Path

from shipper import pydantic_plugins
from shipper.pydantic_plugins import may_declare_plugins

PATH_FINDERS = [importlib.machinery.PathFinder]


def dist(root: Path, name: str, entry_points: str | None) -> Path:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)
    return info


def test_distributions_without_a_pydantic_group_declare_no_plugin(tmp_path):
    dist(tmp_path, "tool", "[console_scripts]\ntool = tool:main\n")
    dist(tmp_path, "lib", None)
    (tmp_path / "old.egg-info").write_text("Metadata-Version: 1.0\n")  # a plain file
    assert not may_declare_plugins([str(tmp_path), str(tmp_path / "missing")], PATH_FINDERS)


def test_a_pydantic_group_in_any_distribution_may_declare_one(tmp_path):
    dist(tmp_path / "a", "tool", "[console_scripts]\ntool = tool:main\n")
    dist(tmp_path / "b", "plug", "[console_scripts]\np = plug:main\n\n[ pydantic ]\nx = plug:p\n")
    assert may_declare_plugins([str(tmp_path / "a"), str(tmp_path / "b")], PATH_FINDERS)
    assert not may_declare_plugins([str(tmp_path / "a")], PATH_FINDERS)


def test_an_egg_info_directory_is_read_too(tmp_path):
    info = tmp_path / "plug.egg-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[pydantic]\nx = plug:p\n")
    assert may_declare_plugins([str(tmp_path)], PATH_FINDERS)


def test_an_egg_directory_on_the_path_is_read_too(tmp_path):
    egg = tmp_path / "plug-1.0-py3.13.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "entry_points.txt").write_text("[pydantic]\nx = plug:p\n")
    assert may_declare_plugins([str(egg)], PATH_FINDERS)
    assert not may_declare_plugins([str(tmp_path)], PATH_FINDERS)  # only on the path


def test_what_cannot_be_read_plainly_is_left_to_pydantic(tmp_path):
    """A zip file on the path, or another distribution finder: maybe (pydantic looks)."""
    archive = tmp_path / "deps.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("x.py", "")
    assert may_declare_plugins([str(archive)], PATH_FINDERS)

    class Finder:
        def find_distributions(self, context: object) -> list[object]:
            return []

    assert may_declare_plugins([str(tmp_path / "missing")], [*PATH_FINDERS, Finder()])


def test_the_empty_cwd_entry_is_the_current_directory(tmp_path, monkeypatch):
    dist(tmp_path, "plug", "[pydantic]\nx = plug:p\n")
    monkeypatch.chdir(tmp_path)
    assert may_declare_plugins([""], PATH_FINDERS)


def test_nothing_is_replaced_once_pydantic_loaded_its_loader():
    __import__(pydantic_plugins.LOADER)
    loaded = sys.modules[pydantic_plugins.LOADER]
    assert pydantic_plugins.skip_empty_scan() is False
    assert sys.modules[pydantic_plugins.LOADER] is loaded


def test_the_empty_loader_answers_as_pydantic_finding_no_plugin(tmp_path, monkeypatch):
    """With no plugin declared, pydantic's validators are built as they would be: a model
    defined after the swap validates, and ``get_plugins`` is empty."""
    from pydantic import BaseModel

    monkeypatch.delitem(sys.modules, pydantic_plugins.LOADER)
    with monkeypatch.context() as patched:
        patched.setattr(sys, "path", [str(tmp_path)])  # a path without plugins
        assert pydantic_plugins.skip_empty_scan() is True
    loader = sys.modules[pydantic_plugins.LOADER]
    assert list(loader.get_plugins()) == []
    assert loader.get_plugins is pydantic_plugins._no_plugins

    class Model(BaseModel):
        n: int

    assert Model(n="3").n == 3
