"""The two implementations of :meth:`JobTracker.observe`'s loop, as pytest parameters: the
pure twin always, the compiled kernel when the extension is built (skipped otherwise)."""

from __future__ import annotations

import pytest

from shipper.kernels import pure_tracker

try:
    from shipper.kernels import _compiled
except ImportError:  # the extension is not built: its cases are skipped, not passed
    _compiled = None  # type: ignore[assignment]

TWINS = [
    pytest.param(pure_tracker.observe_records, id="pure"),
    pytest.param(getattr(_compiled, "observe_records", None), id="compiled",
                 marks=pytest.mark.skipif(_compiled is None, reason="extension not built")),
]
