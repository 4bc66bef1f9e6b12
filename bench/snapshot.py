"""Benchmark a committed shipper (``BENCH_SHIPPER_REF=HEAD``) while the work tree changes.

``git archive REF shipper`` is unpacked once under ``bench/.cache/snapshots/<sha>`` and run
as ``python -P -m shipper.cli`` with that directory first on ``PYTHONPATH`` (``-P``: not
the work tree from the current directory). A snapshot has no compiled kernels (``git
archive`` holds the ``.pyx``, not the build): it runs the pure twin, so compare it with a
work tree run under ``SHIPPER_PURE=1``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

from bench.errors import BenchError
from bench.settings import REPO


def resolve(ref: str) -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"BENCH_SHIPPER_REF={ref}: not a commit ({result.stderr.strip()})")
    return result.stdout.strip()


def snapshot_command(ref: str, cache: Path) -> list[str]:
    """The command line that runs the shipper package as it is at ``ref``."""
    sha = resolve(ref)
    root = (cache / "snapshots" / sha).resolve()
    if not (root / "shipper" / "cli.py").exists():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "shipper"],
                                 capture_output=True, check=True).stdout
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(root, filter="data")
    # -P: the current directory (the work tree, whose ``shipper`` would win over the
    # snapshot's) stays off sys.path
    return ["env", f"PYTHONPATH={root}", sys.executable, "-P", "-m", "shipper.cli"]
