"""``batch_threads`` puts every thread of the process under ``SCHED_BATCH`` (issue 14: a
woken worker thread preempting the GIL holder cost ~5k context switches and ~2% CPU on
1M lines). Fake ``/proc`` and scheduling calls prove the decisions; subprocesses prove the
real kernel calls and that ``shipper run`` applies ``cpu.batch``."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shipper.cpu import policy
from shipper.cpu.policy import batch_threads

from .test_procfs import fake_proc
from .threads import before_and_after

LINUX = pytest.mark.skipif(not policy.supported(), reason="SCHED_BATCH is Linux-only")


class FakeScheduling:
    """Records the thread ids set (0: the calling thread); ``refuse`` ids fail with
    EPERM, ``gone`` ids with ESRCH."""

    def __init__(self, refuse: set[int] | None = None, gone: set[int] | None = None) -> None:
        self.set: list[int] = []
        self.refuse, self.gone = refuse or set(), gone or set()

    def batch(self, tid: int) -> None:
        if tid in self.refuse:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        if tid in self.gone:
            raise ProcessLookupError(errno.ESRCH, "No such process")
        self.set.append(tid)


def test_the_calling_thread_first_then_every_other_thread(tmp_path):
    """The calling thread (0) is set first, then each listed thread but its own id once
    more; a thread that ended meanwhile is skipped; the count says how many were set."""
    me = threading.get_native_id()
    calls = FakeScheduling(gone={12})
    done = batch_threads(fake_proc(tmp_path, (me, 11, 12, 13)), calls)
    assert calls.set == [0, 11, 13] and done == 3


def test_a_refused_policy_changes_nothing_and_says_so(tmp_path, caplog):
    """EPERM on the calling thread (a seccomp profile): no other thread is tried, 0, and
    a warning; EPERM on one other thread: a warning, the rest still set."""
    caplog.set_level(logging.WARNING, logger="shipper.cpu")
    calls = FakeScheduling(refuse={0})
    assert batch_threads(fake_proc(tmp_path, (11, 12)), calls) == 0
    assert calls.set == [] and "SCHED_BATCH unavailable" in caplog.text
    calls = FakeScheduling(refuse={11})
    assert batch_threads(fake_proc(tmp_path / "b", (11, 12)), calls) == 2
    assert calls.set == [0, 12] and "refused for a thread" in caplog.text


def test_without_proc_the_calling_thread_is_still_set(tmp_path):
    calls = FakeScheduling()
    assert batch_threads(tmp_path / "missing", calls) == 1 and calls.set == [0]


@LINUX
def test_the_real_kernel_sets_running_threads_and_later_ones_inherit_it():
    """In a subprocess (this test process keeps its policy): a thread running before the
    call and one started after are both ``SCHED_BATCH``, as is the calling thread."""
    done, policies = before_and_after("from shipper.cpu.policy import batch_threads",
                                      "batch_threads()", "os.sched_getscheduler(t)")
    assert done == 2 and policies == [os.SCHED_BATCH] * 3


def _thread_policies(pid: int) -> list[int]:
    return [os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


@LINUX
@pytest.mark.parametrize(("config", "policy_name"), [("cpu:\n  pin: true\n", "SCHED_BATCH"),
                                                     ("cpu:\n  batch: false\n", "SCHED_OTHER")])
def test_shipper_run_puts_its_threads_under_the_configured_policy(tmp_path: Path, config,
                                                                  policy_name):
    """A following ``shipper run`` (subprocess): every thread ``SCHED_BATCH`` by default
    (a config without ``batch``), all ``SCHED_OTHER`` with ``cpu.batch: false``."""
    (tmp_path / "app.log").write_text("hello\n")
    (tmp_path / "config.yaml").write_text(config)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from shipper.cli import main; sys.exit(main())",
         "run", "--path", str(tmp_path / "app.log"), "--config", str(tmp_path / "config.yaml"),
         "--podinfo-dir", str(tmp_path), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        assert proc.stdout is not None
        assert b"hello" in proc.stdout.readline()  # running: its threads are up
        time.sleep(0.2)
        policies = _thread_policies(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    assert len(policies) >= 2 and set(policies) == {getattr(os, policy_name)}
