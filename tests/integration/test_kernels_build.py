"""Building the package: with a C compiler the wheel carries the compiled kernels; without
one (``CC`` that fails) the build still succeeds, warns, and the installed package runs
its pure-Python kernels. Built from a copy of the tree with this venv's setuptools and
Cython (``--no-build-isolation``: no network)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _source_copy(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(ROOT / "shipper", src / "shipper",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    return src


def _wheel(tmp: Path, **env: str) -> tuple[list[str], str]:
    """Build a wheel of a copy of the tree; (its member names, the build output)."""
    pytest.importorskip("Cython", reason="Cython is not installed (pip install '.[test]')")
    pytest.importorskip("setuptools", reason="setuptools is not installed")
    out = tmp / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(_source_copy(tmp))],
        capture_output=True, text=True, timeout=300, env=os.environ | env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("shipper-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist(), result.stdout + result.stderr


def test_build_without_a_compiler_installs_pure(tmp_path: Path) -> None:
    """``CC=false``: the wheel is built without the extension (a warning says so), and
    the package from it picks the pure kernels."""
    names, output = _wheel(tmp_path, CC="false")
    assert "shipper/kernels/pure.py" in names
    assert not [n for n in names if n.endswith(".so")]
    assert "shipper.kernels._compiled not built" in output
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "wheels").glob("*.whl"))) as archive:
        archive.extractall(site)
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import shipper.kernels as k; print(k.IMPLEMENTATION, k.WHY_PURE)", str(site)],
        capture_output=True, text=True, timeout=60, check=True)
    assert probe.stdout.strip() == "pure the extension is not built"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler on this machine")
def test_build_with_gcc_carries_the_extension(tmp_path: Path) -> None:
    """With gcc the wheel holds the compiled kernels (and not their generated C). Built
    unoptimised (``-O0 -g0`` come after Python's ``-O3 -g``): what the wheel carries is
    the same, in a fifth of the time (~40 s at ``-O3``); the optimised build is the one
    ``make venv`` installs and the rest of the suite runs."""
    names, _ = _wheel(tmp_path, CFLAGS="-O0 -g0")
    assert [n for n in names if n.startswith("shipper/kernels/_compiled") and n.endswith(".so")]
    assert not [n for n in names if n.endswith((".c", ".pyx", ".pxi"))]
