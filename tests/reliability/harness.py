"""Fault-suite harness: the real ``shipper`` as a subprocess, writers, counters, figures.

Sizes scale with ``SHIPPER_FAULT_SCALE`` (default 0.02 = CI size; 1 = the issue's full
sizes, e.g. 5 files x 100,000 lines). Every line written carries a token
``SEQ:<stream>:<n>``; a :class:`Tally` counts the tokens that come out, so lost and
duplicated lines are exact.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCALE = float(os.environ.get("SHIPPER_FAULT_SCALE", "0.02"))
TOKEN = re.compile(rb"SEQ:(\w+):(\d+)")


def scaled(full: int, minimum: int) -> int:
    return max(minimum, int(full * SCALE))


def shipper_command() -> list[str]:
    exe = REPO / ".venv" / "bin" / "shipper"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from shipper.cli import main; sys.exit(main())"]


def cli_missing_reason() -> str | None:
    """Why the CLI cannot run yet (``None`` when ``shipper run`` works)."""
    try:
        out = subprocess.run([*shipper_command(), "run", "--help"], capture_output=True,
                             timeout=60, env=child_env(), cwd=REPO)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"shipper CLI not runnable: {exc}"
    if out.returncode != 0 or b"--state-dir" not in out.stdout:
        return "shipper run --state-dir not available yet"
    return _smoke()


def _smoke() -> str | None:
    """Run ``shipper run --once`` on one line; the reason it fails, if it does."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.log").write_bytes(line("smoke", 0))
        out = subprocess.run([*shipper_command(), "run", "--once", "--path", f"{tmp}/*.log",
                              "--podinfo-dir", tmp, "--listen", "off"], capture_output=True,
                             timeout=60, env=child_env(), cwd=REPO)
    if out.returncode == 0 and b"SEQ:smoke:0" in out.stdout:
        return None
    last = (out.stderr.strip().splitlines() or [b"no output"])[-1].decode(errors="replace")
    return f"shipper run --once does not ship a line yet (exit {out.returncode}): {last[:200]}"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def line(stream: str, n: int, pad: int = 60) -> bytes:
    return f"SEQ:{stream}:{n} {'x' * pad}\n".encode()


@dataclass
class Tally:
    """Tokens seen on an output, with the figures the issue wants recorded."""

    seen: Counter[tuple[str, int]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    paths: set[str] = field(default_factory=set)
    offsets: list[int] = field(default_factory=list)

    def feed(self, raw: bytes) -> None:
        found = [(m.group(1).decode(), int(m.group(2))) for m in TOKEN.finditer(raw)]
        with self.lock:
            self.seen.update(found)
            for p in re.findall(rb'"path":"([^"]+)"', raw):
                self.paths.add(p.decode())
            self.offsets.extend(int(o) for o in re.findall(rb'"offset":(\d+)', raw))

    @property
    def delivered(self) -> int:
        return len(self.seen)

    @property
    def duplicated(self) -> int:
        with self.lock:
            return sum(c - 1 for c in self.seen.values() if c > 1)

    @property
    def total(self) -> int:
        """Every token that came out, repeats included."""
        with self.lock:
            return sum(self.seen.values())

    def repeated(self) -> list[tuple[str, int]]:
        """Tokens that came out more than once (once each)."""
        with self.lock:
            return [token for token, count in self.seen.items() if count > 1]

    def missing(self, written: dict[str, int]) -> list[tuple[str, int]]:
        return [(s, n) for s, count in written.items() for n in range(count)
                if (s, n) not in self.seen]

    def wait_for(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.delivered >= total:
                return True
            time.sleep(0.05)
        return self.delivered >= total


class Shipper:
    """One ``shipper run`` subprocess whose stdout records feed a :class:`Tally`."""

    def __init__(self, args: list[str], tally: Tally, stderr_path: Path,
                 prefix: tuple[str, ...] = (), **popen: object) -> None:
        self.tally = tally
        self._stderr = open(stderr_path, "ab")
        command = [*prefix, *shipper_command(), "run", *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=child_env(), cwd=REPO,
                                     **popen)  # type: ignore[call-overload]
        self.peak_rss_kib = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.tally.feed(raw)

    def _sample(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.poll() is None:
            try:
                for text in status.read_text().splitlines():
                    if text.startswith("VmHWM:"):
                        self.peak_rss_kib = max(self.peak_rss_kib, int(text.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.1)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def kill(self, timeout: float = 60) -> int:
        """SIGKILL, then wait until its last output was counted."""
        self.signal(signal.SIGKILL)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        self._stderr.close()
        return code

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)


def wait_up(tally: Tally, logs: Path, n: int, timeout: float = 30) -> bool:
    """Write readiness line ``SEQ:r:<n>`` to ``logs/ready.log`` and wait until it ships
    (a SIGTERM before the shipper installed its handler ends it with -15)."""
    with open(logs / "ready.log", "ab") as fh:
        fh.write(line("r", n))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ("r", n) in tally.seen:
            return True
        time.sleep(0.05)
    return False


def until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Whether ``condition()`` came to hold within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def poll(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait until ``condition()`` holds; fail saying ``what`` was awaited after ``timeout`` s
    (used instead of a fixed sleep that hopes the thing has happened by then)."""
    if not until(condition, timeout):
        raise AssertionError(f"waited {timeout:g} s for {what}")


def checkpoint_offsets(state_dir: Path) -> dict[str, int]:
    """``path -> offset`` of the live entries of ``state_dir/checkpoints.json`` ({} while
    there is none: it is replaced atomically, so a read never sees half a file)."""
    try:
        doc = json.loads((state_dir / "checkpoints.json").read_bytes())
    except (OSError, ValueError):
        return {}
    return {e["path"]: e["offset"] for e in doc.get("files", []) if not e.get("retired")}


def spans(items: list[tuple[str, int]], limit: int = 8) -> str:
    """``k:0-469,k:2319`` for a list of missing tokens (first ``limit`` runs)."""
    runs: list[list] = []
    for stream, n in sorted(items):
        if runs and runs[-1][0] == stream and runs[-1][2] == n - 1:
            runs[-1][2] = n
        else:
            runs.append([stream, n, n])
    text = [f"{s}:{a}" if a == b else f"{s}:{a}-{b}" for s, a, b in runs[:limit]]
    return ",".join(text) + (",..." if len(runs) > limit else "") or "none"


def report(name: str, *, written: int, tally: Tally, rss_kib: int = 0, **more: object) -> None:
    """Print the run's figures (visible with ``pytest -s`` and in failure output)."""
    extra = " ".join(f"{k}={v}" for k, v in more.items())
    print(f"\n[fault] {name}: written={written} delivered={tally.delivered} "
          f"duplicated={tally.duplicated} peak_rss_mib={rss_kib / 1024:.1f} "
          f"scale={SCALE} {extra}".rstrip())
