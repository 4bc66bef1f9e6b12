"""Run a measured process: ``--once`` commands to exit, daemons until their output settles.

CPU is user+sys of the process tree and peak RSS is ``ru_maxrss``, both from ``os.wait4``
(the kernel folds in every descendant the process waited for). Completion for a daemon is
the rule of the peer kit: its output holds the expected lines and stopped growing.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.errors import BenchError


@dataclass(frozen=True)
class Measurement:
    """One run of one system."""

    wall: float
    user: float
    sys: float
    max_rss_kib: int
    lines_out: int
    exit_code: int

    @property
    def cpu(self) -> float:
        return self.user + self.sys


@dataclass(frozen=True)
class Command:
    """What to start: argv, extra env, where its stdout goes and which file is its output."""

    argv: list[str]
    env: dict[str, str]
    output: Path
    stdout_is_output: bool = True


def stop_daemon(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM a follow-mode process (SIGKILL after ``timeout``), then close its stdout."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def warm(path: Path, chunk: int = 1 << 22) -> None:
    """Read a file once so every system starts with it in the page cache."""
    with open(path, "rb", buffering=0) as fh:
        while fh.read(chunk):
            pass


class LineCounter:
    """Counts the newlines of a file that is still growing, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines = 0

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                while block := fh.read(1 << 22):
                    self.offset += len(block)
                    self.lines += block.count(b"\n")
        except FileNotFoundError:
            pass
        return self.lines


TIME = Path("/usr/bin/time")


def peak_rss_kib(pid: int) -> int:
    """``VmHWM`` of a live process and its descendants (0 once it is gone)."""
    from bench.idle import descendants  # /proc walking lives with the idle scenario

    total = 0
    for p in descendants(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmHWM:")), 0)
    return total


def _timed(argv: list[str], rss_file: Path) -> list[str]:
    """Wrap in GNU time for the peak RSS: ``ru_maxrss`` read by this (big) process would
    include its own RSS at fork time, which the kernel carries over ``exec``."""
    if not TIME.exists():
        return argv
    return [str(TIME), "-q", "-f", "%M", "-o", str(rss_file), *argv]


def _start(cmd: Command, stderr_path: Path,
           rss_file: Path | None = None) -> tuple[subprocess.Popen[bytes], float]:
    env = os.environ | cmd.env
    argv = _timed(cmd.argv, rss_file) if rss_file else cmd.argv
    out = open(cmd.output if cmd.stdout_is_output else os.devnull, "wb")
    err = open(stderr_path, "wb")
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, start_new_session=True)
    except OSError as exc:
        raise BenchError(f"cannot start {cmd.argv[0]}: {exc}") from exc
    finally:
        out.close()
        err.close()
    return proc, started


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage]:
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


def _tail(path: Path, limit: int = 600) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace").strip()
    except OSError:
        return ""


@contextmanager
def _killed_on_error(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Never leave a measured process behind (timeout, Ctrl-C, SIGTERM of the harness)."""
    try:
        yield
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: GNU time and its child
        _reap(proc)
        raise


def _exited_within(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for exit without reaping (the rusage is read by ``os.wait4`` afterwards)."""
    fd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return bool(ready)


def run_to_exit(cmd: Command, stderr_path: Path, timeout: float) -> Measurement:
    """Run a command that ends by itself (``shipper run --once``)."""
    rss_file = stderr_path.with_name("maxrss.txt")
    rss_file.unlink(missing_ok=True)
    proc, started = _start(cmd, stderr_path, rss_file)
    peak = 0
    deadline = started + timeout
    with _killed_on_error(proc):
        while not _exited_within(proc, 0.05):
            if not TIME.exists():  # fallback: sample the high-water mark while it runs
                peak = max(peak, peak_rss_kib(proc.pid))
            if time.perf_counter() > deadline:
                raise BenchError(f"{cmd.argv[0]} did not finish in {timeout:.0f}s")
    wall = time.perf_counter() - started
    measured = _finish(proc, wall, cmd, stderr_path)
    if rss_file.exists() and rss_file.read_text().strip().isdigit():
        peak = int(rss_file.read_text().strip())
    return replace(measured, max_rss_kib=peak)


def run_daemon(cmd: Command, stderr_path: Path, expected: int, *, settle: float = 0.5,
               stall: float = 10.0, timeout: float = 900.0) -> Measurement:
    """Run a daemon until its output holds ``expected`` lines and stopped growing, then
    SIGTERM it. Wall time runs to the last growth. Without growth for ``stall`` seconds the
    run ends too (the line count then shows the mismatch)."""
    counter = LineCounter(cmd.output)
    proc, started = _start(cmd, stderr_path)
    last_growth, seen = started, 0
    with _killed_on_error(proc):
        while not (exited := _exited_within(proc, 0.05)):
            now = time.perf_counter()
            if counter.poll() != seen:
                seen, last_growth = counter.lines, now
            quiet = now - last_growth
            if (seen >= expected and quiet >= settle) or quiet >= stall \
                    or now - started > timeout:
                break
        wall = last_growth - started
        peak = peak_rss_kib(proc.pid)
        if not exited:
            proc.send_signal(signal.SIGTERM)
            if not _exited_within(proc, 30.0):
                os.killpg(proc.pid, signal.SIGKILL)
    return replace(_finish(proc, wall, cmd, stderr_path), max_rss_kib=peak)


def _finish(proc: subprocess.Popen[bytes], wall: float, cmd: Command,
            stderr_path: Path) -> Measurement:
    code, usage = _reap(proc)
    if code != 0:
        tail = _tail(stderr_path)
        last = tail.splitlines()[-1] if tail else ""
        raise BenchError(f"{Path(cmd.argv[0]).name} exited {code}: {last}\n{tail}")
    return Measurement(wall=wall, user=usage.ru_utime, sys=usage.ru_stime,
                       max_rss_kib=usage.ru_maxrss, lines_out=LineCounter(cmd.output).poll(),
                       exit_code=code)
