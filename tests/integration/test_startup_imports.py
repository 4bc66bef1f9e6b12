"""What ``shipper run`` imports at start-up (``-X importtime`` of the real CLI): nothing
heavy its configuration does not use. A stdout-only run with the HTTP server on loads
neither aiohttp (probes and metrics are served without it) nor any sink's client
library; the metrics library loads without python-snappy, which stays importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
#: top-level packages a stdout-only configuration never needs (``snappy`` is left out:
#: importtime also lists the import prometheus_client attempts and is refused; ``cramjam``
#: is what loading python-snappy would bring)
UNUSED = ("aiohttp", "cramjam", "kubernetes", "zstandard", "msgpack", "google",
          "opentelemetry", "yarl", "multidict")


def imported_modules(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | total | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")},
            "PYTHONPATH": str(REPO), "POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n"}


def test_a_stdout_run_with_the_server_on_imports_no_unused_library(tmp_path):
    log = tmp_path / "app.log"
    log.write_text('{"level":"info","msg":"hello"}\n2026-01-02T10:00:00Z INFO plain k=v\n')
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shipper.cli", "run", "--once",
         "--path", str(log), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("\n") == 2
    modules = imported_modules(proc.stderr)
    assert "shipper.server.light" in modules and "prometheus_client" in modules
    assert sorted(m for m in modules if m.split(".")[0] in UNUSED) == []


def test_snappy_stays_importable_after_the_metrics_library_loaded():
    code = ("import sys; from shipper.cli import load_metrics_library; load_metrics_library(); "
            "import prometheus_client.exposition as e; assert e.snappy is None; "
            "import snappy; print(snappy.compress(b'x' * 100) != b'')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
