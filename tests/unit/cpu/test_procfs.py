"""``shipper.cpu.procfs`` reads ``/proc`` as Linux writes it: proved on fake trees with the
kernel's layouts, and once on the real ``/proc``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from shipper.cpu import procfs



def stat(utime: int = 12, stime: int = 3, cpu: int = 3) -> str:
    """``/proc/<pid>/stat`` of a process whose comm holds a space and a ``)``: ``utime``
    and ``stime`` are fields 14 and 15, the CPU last run on field 39."""
    return (f"4242 (odd) name) S 1 4242 4242 0 -1 4194560 1024 0 0 0 {utime} {stime} 0 0 20 "
            "0 4 0 12345 567890 1234 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 "
            f"0 17 {cpu} 0 0 0 0 0 0 0 0 0 0 0 0 0\n")


STAT = stat()
PROC_STAT = """cpu  6319 0 1604 22490 130 0 40 10 0 0
cpu0 3000 0 800 11000 100 0 20 5 0 0
cpu1 3319 0 804 11490 30 0 20 5 0 0
intr 123 0 0
ctxt 456
"""


def fake_proc(tmp_path: Path, threads: tuple[int, ...]) -> Path:
    """A ``/proc`` with ``self/stat``, ``stat`` and a ``self/task`` entry per thread."""
    for tid in threads:
        (tmp_path / "self" / "task" / str(tid)).mkdir(parents=True)
    (tmp_path / "self" / "stat").write_text(STAT)
    (tmp_path / "stat").write_text(PROC_STAT)
    return tmp_path


def test_current_cpu_is_field_39_even_when_the_command_name_holds_a_parenthesis(tmp_path):
    assert procfs.current_cpu(fake_proc(tmp_path, (1,))) == 3


def test_current_cpu_is_none_without_a_stat_file(tmp_path):
    assert procfs.current_cpu(tmp_path) is None


def test_thread_ids_are_the_task_directories(tmp_path):
    assert sorted(procfs.thread_ids(fake_proc(tmp_path, (10, 11, 12)))) == [10, 11, 12]


def test_process_ticks_are_utime_plus_stime(tmp_path):
    proc = fake_proc(tmp_path, (1,))
    assert procfs.process_ticks(proc) == 15
    (proc / "self" / "stat").write_text("4242 (x) S 1 2")
    assert procfs.process_ticks(proc) is None
    assert procfs.process_ticks(tmp_path / "nowhere") is None


def test_cpu_ticks_are_idle_plus_iowait_and_the_total_up_to_steal_per_cpu(tmp_path):
    """The aggregate ``cpu`` line is left out; ``guest`` columns (inside ``user``) too."""
    proc = fake_proc(tmp_path, (1,))
    (proc / "stat").write_text(PROC_STAT.replace("cpu1 3319 0 804 11490 30 0 20 5 0 0",
                                                 "cpu1 3319 0 804 11490 30 0 20 5 700 9"))
    assert procfs.cpu_ticks(proc) == {0: (11_100, 14_925), 1: (11_520, 15_668)}


def test_a_cpu_line_that_cannot_be_read_is_left_out(tmp_path):
    proc = fake_proc(tmp_path, (1,))
    (proc / "stat").write_text(PROC_STAT + "cpu2 12 x 3 4 5 6 7 8\ncpu3 1 2\n")
    assert set(procfs.cpu_ticks(proc)) == {0, 1}


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
    ticks = procfs.cpu_ticks(Path("/proc"))
    assert allowed <= set(ticks)
    assert all(0 <= idle <= total for idle, total in ticks.values())
    assert (procfs.process_ticks(Path("/proc")) or -1) >= 0
