"""Looking at a running shipper from outside: metrics, descriptors, config, disks.

Helpers for the fault suite: a free loopback port, a Prometheus scrape, the shipper's
open descriptors (``/proc/<pid>/fd``), a YAML config file, a writer thread that writes
sequence-numbered lines at a steady pace, whether the disk buffer is wired into the
sinks yet, and a size-capped tmpfs (needs root; skipped otherwise).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import yaml

from tests.reliability.harness import REPO, Tally, child_env, line, poll, shipper_command

DISK_BUFFER_MISSING = "the disk buffer is not available yet"
_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int, timeout: float = 5.0) -> dict[str, float]:
    """``name{labels}`` -> value of every sample on ``/metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for row in text.splitlines():
        match = _SAMPLE.match(row)
        if match and not row.startswith("#"):
            out[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return out


def wait_scrape(port: int, timeout: float = 30.0) -> dict[str, float]:
    """Scrape once the server answers (it starts with the shipper)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return scrape(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def descriptors(pid: int) -> list[str]:
    """Targets of the process's open descriptors (``... (deleted)`` for unlinked files)."""
    base = Path(f"/proc/{pid}/fd")
    out = []
    for fd in base.iterdir():
        with contextlib.suppress(OSError):
            out.append(os.readlink(fd))
    return out


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def http_sink(url: str, *, buffer: dict | None = None, max_records: int = 200) -> dict:
    """An ``http`` sink entry that retries fast (the receiver comes back within seconds)."""
    sink = {"type": "http", "name": "h", "url": url,
            "batch": {"max_records": max_records, "max_wait": "100ms"},
            "retry": {"initial_backoff": "100ms", "max_backoff": "500ms"}}
    if buffer is not None:
        sink["buffer"] = buffer
    return sink


#: the token of :func:`settle`'s marker line
MARKER = ("z", 0)


def settle(path: Path, tally: Tally, port: int, sink: str = "h",
           row: bytes = line(*MARKER)) -> None:
    """Wait until nothing more can reach ``sink`` (the receiver feeding ``tally``) or its
    counters, instead of sleeping: a marker ``row`` appended to ``path`` (the file every
    line so far came from, so it is read, and buffered, after all of them) arrived, and
    the sink's buffer is empty, so every batch before it was acknowledged (none is left
    to retry) and every drop (counted when a record enters the buffer) is counted.
    Count the marker out of ``tally`` (:func:`but_marker`)."""
    with open(path, "ab") as fh:
        fh.write(row)
    poll(lambda: MARKER in tally.seen, f"the marker line at sink {sink}'s receiver", 60)
    poll(lambda: wait_scrape(port).get(f'shipper_buffer_records{{sink="{sink}"}}') == 0,
         f"sink {sink}'s buffer to be empty", 60)


def but_marker(tally: Tally) -> int:
    """Distinct tokens ``tally`` saw, without :func:`settle`'s marker."""
    return tally.delivered - (MARKER in tally.seen)


class PacedWriter(threading.Thread):
    """Writes ``count`` lines of ``stream`` to ``path`` at about ``rate`` lines/s."""

    def __init__(self, path: Path, stream: str, count: int, rate: float, *,
                 start_at: int = 0, pad: int = 60, rotate_at: int = 0) -> None:
        super().__init__(daemon=True)
        self.path, self.stream, self.count, self.rate = path, stream, count, rate
        self.start_at, self.pad, self.rotate_at = start_at, pad, rotate_at
        self.written = 0
        self.rotations = 0
        self.stop = threading.Event()

    def run(self) -> None:
        step = max(1, int(self.rate / 50))
        began = time.monotonic()
        fh = open(self.path, "ab", buffering=0)
        try:
            for first in range(0, self.count, step):
                if self.stop.is_set():
                    return
                last = min(self.count, first + step)
                fh.write(b"".join(line(self.stream, self.start_at + n, self.pad)
                                  for n in range(first, last)))
                self.written = last
                if self.rotate_at and fh.tell() >= self.rotate_at:
                    fh = self._rotate(fh)
                ahead = began + last / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            fh.close()

    def _rotate(self, fh):  # rename + create, as kubelet and logrotate's default do
        fh.close()
        self.rotations += 1
        os.rename(self.path, f"{self.path}.{self.rotations}")
        return open(self.path, "ab", buffering=0)


class RotatingWriter(threading.Thread):
    """Writes ``stream`` lines to ``path`` at ``rate`` lines/s and rotates it every
    ``every`` seconds, by ``rename`` (to ``<path>.<n>``, then a new file) or by
    ``copytruncate`` (copy to ``<path>.<n>``, then truncate in place). The copy and the
    truncation happen between two writes, so no line is lost by the rotation itself.
    Runs until :attr:`stop` is set; :attr:`written` is exact once it has ended."""

    def __init__(self, path: Path, stream: str, rate: float, every: float, mode: str,
                 *, pad: int = 60) -> None:
        super().__init__(daemon=True)
        assert mode in ("rename", "copytruncate")
        self.path, self.stream, self.rate, self.every, self.mode = path, stream, rate, every, mode
        self.pad = pad
        self.written = 0
        self.rotations = 0
        self.stop = threading.Event()

    def run(self) -> None:
        step = max(1, int(self.rate / 100))
        began = time.monotonic()
        next_rotation = began + self.every
        fh = open(self.path, "ab", buffering=0)
        try:
            while not self.stop.is_set():
                fh.write(b"".join(line(self.stream, self.written + n, self.pad)
                                  for n in range(step)))
                self.written += step
                if time.monotonic() >= next_rotation:
                    fh = self._rotate(fh)
                    next_rotation += self.every
                ahead = began + self.written / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            fh.close()

    def _rotate(self, fh):
        self.rotations += 1
        rotated = f"{self.path}.{self.rotations}"
        if self.mode == "rename":
            fh.close()
            os.rename(self.path, rotated)
            return open(self.path, "ab", buffering=0)
        import shutil

        shutil.copyfile(self.path, rotated)  # what logrotate's copytruncate does
        os.truncate(self.path, 0)
        return fh  # O_APPEND: the next write lands at the new end


def disk_buffer_missing_reason(tmp: Path) -> str | None:
    """``DISK_BUFFER_MISSING`` while ``buffer: {type: disk}`` is refused by the sinks."""
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    cfg = write_config(tmp / "probe.yaml", {"sinks": [http_sink(
        f"http://127.0.0.1:{free_port()}/x", buffer={"type": "disk", "max_bytes": "1MiB"})]})
    out = subprocess.run([*shipper_command(), "run", "--once", "--config", str(cfg),
                          "--path", str(tmp / "logs" / "*.log"), "--podinfo-dir", str(tmp),
                          "--state-dir", str(tmp / "state"), "--listen", "off"],
                         capture_output=True, timeout=60, env=child_env(), cwd=REPO)
    if b"disk buffer is not available yet" in out.stderr:
        return DISK_BUFFER_MISSING
    if out.returncode != 0:
        return f"a disk-buffered http sink does not start (exit {out.returncode})"
    return None


@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted on a temporary directory (root only)."""
    if os.geteuid() != 0:
        import pytest

        pytest.skip("mounting a size-capped tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="shipper-tmpfs-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(where)], capture_output=True)
    if done.returncode != 0:
        where.rmdir()
        import pytest

        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()[:120]}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        where.rmdir()


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; the filler file."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:
        block = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                fh.write(block)
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")
    return filler
