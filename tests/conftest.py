"""Hypothesis profiles for the whole suite.

``deterministic`` (the default, what ``make test`` and CI run): every property test draws
the same examples on every run (``derandomize``: seeded from the test itself) and no
example database is read or written, so a red CI run is a bug that reproduces, never a
draw. ``explore`` (``HYPOTHESIS_PROFILE=explore``): fresh random draws and the local
example database, for hunting new failures; a failure found there becomes an
``@example`` on its test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
