"""Which kernels are live: the extension when it is built and current, the pure twin when
``SHIPPER_PURE=1`` forces it, when the extension is missing or when it is stale; the choice
shows in ``shipper --version`` and the ``shipper_build_info`` metric."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from shipper import kernels
from shipper.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
EXTENSION = "shipper.kernels._compiled"


def _version(**env: str) -> str:
    result = subprocess.run([sys.executable, "-m", "shipper.cli", "--version"],
                            capture_output=True, text=True, timeout=60, check=True,
                            env=os.environ | {"PYTHONPATH": str(ROOT)} | env)
    return result.stdout.strip()


def test_shipper_pure_forces_the_twin() -> None:
    """``SHIPPER_PURE=1`` makes ``--version`` say pure, whatever is built."""
    assert _version(SHIPPER_PURE="1").endswith("(kernels: pure)")


def test_built_extension_is_live() -> None:
    """Built and current, the extension is what runs (and ``SHIPPER_PURE=0`` keeps it)."""
    pytest.importorskip(EXTENSION, reason="the compiled kernels are not built")
    assert _version(SHIPPER_PURE="0").endswith("(kernels: compiled)")


@pytest.mark.parametrize(("module", "why"), [
    (None, "the extension is not built"),
    (types.SimpleNamespace(KERNEL_API=kernels.pure.KERNEL_API - 1), "the extension is stale"),
])
def test_missing_or_stale_extension_means_pure(monkeypatch: pytest.MonkeyPatch,
                                               module: object, why: str) -> None:
    """No extension (ImportError) or one of another API version: the twin, with the
    reason."""
    monkeypatch.delenv("SHIPPER_PURE", raising=False)
    monkeypatch.setitem(sys.modules, EXTENSION, module)  # type: ignore[arg-type]
    monkeypatch.delattr(kernels, "_compiled", raising=False)
    reason = kernels._why_pure()
    assert reason is not None and reason.startswith(why)


def test_build_info_names_the_live_kernels() -> None:
    """The ``kernels`` label of ``shipper_build_info`` is the live implementation."""
    registry = CollectorRegistry()
    Metrics(registry, collectors=False)
    labels = [s.labels for m in registry.collect() if m.name == "shipper_build_info"
              for s in m.samples]
    assert [lab["kernels"] for lab in labels] == [kernels.IMPLEMENTATION]
