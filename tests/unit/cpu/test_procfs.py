"""``shipper.cpu.procfs`` reads ``/proc`` as Linux writes it: proved on fake trees with the
kernel's layouts, and once on the real ``/proc``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from shipper.cpu import procfs

#: ``/proc/<pid>/stat`` of a process whose comm holds a space and a ``)``; CPU 3 (field 39)
STAT = ("4242 (odd) name) S 1 4242 4242 0 -1 4194560 1024 0 0 0 12 3 0 0 20 0 4 0 "
        "12345 567890 1234 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 "
        "3 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
PROC_STAT = """cpu  6319 0 1604 22490 130 0 40 10 0 0
cpu0 3000 0 800 11000 100 0 20 5 0 0
cpu1 3319 0 804 11490 30 0 20 5 0 0
intr 123 0 0
ctxt 456
"""


def fake_proc(tmp_path: Path, delays: dict[int, str]) -> Path:
    """A ``/proc`` with ``self/stat``, ``stat`` and one ``schedstat`` per thread."""
    for tid, schedstat in delays.items():
        task = tmp_path / "self" / "task" / str(tid)
        task.mkdir(parents=True)
        (task / "schedstat").write_text(schedstat)
    (tmp_path / "self" / "stat").write_text(STAT)
    (tmp_path / "stat").write_text(PROC_STAT)
    return tmp_path


def test_current_cpu_is_field_39_even_when_the_command_name_holds_a_parenthesis(tmp_path):
    assert procfs.current_cpu(fake_proc(tmp_path, {1: "0 0 0\n"})) == 3


def test_current_cpu_is_none_without_a_stat_file(tmp_path):
    assert procfs.current_cpu(tmp_path) is None


def test_run_delay_sums_the_second_column_of_every_thread(tmp_path):
    proc = fake_proc(tmp_path, {10: "900 250 7\n", 11: "100 50 2\n", 12: "garbage\n"})
    assert sorted(procfs.thread_ids(proc)) == [10, 11, 12]
    assert procfs.run_delay_ns(proc) == 300


def test_idle_ticks_are_idle_plus_iowait_per_cpu_without_the_total_line(tmp_path):
    proc = fake_proc(tmp_path, {1: "0 0 0\n"})
    assert procfs.idle_ticks(proc) == {0: 11_100, 1: 11_520}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_the_real_proc_lists_this_threads_id_and_a_cpu_it_may_run_on():
    """The real ``/proc``: a thread started here is listed, the CPU is an allowed one,
    and the counters are there for every online CPU we may use."""
    seen: list[int] = []
    ready, done = threading.Event(), threading.Event()

    def work() -> None:
        seen.append(threading.get_native_id())
        ready.set()
        done.wait(5)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        ready.wait(5)
        assert seen[0] in procfs.thread_ids(Path("/proc"))
    finally:
        done.set()
        thread.join()
    allowed = os.sched_getaffinity(0)
    assert procfs.current_cpu(Path("/proc")) in allowed
    assert allowed <= set(procfs.idle_ticks(Path("/proc")))
    assert procfs.run_delay_ns(Path("/proc")) >= 0
