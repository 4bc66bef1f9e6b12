"""The optional compiled kernels (``shipper/kernels/_compiled.pyx`` and the
``.pxi`` files it includes); everything else is in
pyproject.toml. Without Cython or a working C compiler the package still installs, pure:
``shipper.kernels`` then uses its pure-Python twin (see its docstring)."""

from __future__ import annotations

import glob
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = "shipper.kernels._compiled"


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when the extension cannot be built."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all (DistutilsPlatformError, ...)
            _skipped(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # the compiler failed (CompileError, LinkError, ...)
            _skipped(exc)


def _skipped(exc: Exception) -> None:
    print(f"WARNING: {KERNELS} not built ({type(exc).__name__}: {exc}); "
          "shipper installs with its pure-Python kernels", file=sys.stderr)


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        _skipped(exc)
        return []
    ext = Extension(KERNELS, ["shipper/kernels/_compiled.pyx"],
                    depends=sorted(glob.glob("shipper/kernels/*.pxi")))
    return list(cythonize([ext], quiet=True, compiler_directives={"language_level": "3"}))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
