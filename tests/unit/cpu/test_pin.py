"""``CpuPin`` keeps every thread on one CPU and moves them off a CPU others keep busy, never
because of its own load (issue 14: the hand-offs between threads on two CPUs cost ~22%
CPU). Fake ``/proc`` and affinity calls prove the decisions; a subprocess proves the real
kernel calls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from shipper.cpu.pin import CpuPin
from shipper.cpu.settings import CpuSettings
from shipper.metrics import Metrics

from .test_procfs import fake_proc, stat
from .threads import before_and_after

TWO_CPUS = pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: {0})(0)) < 2,
                              reason="needs two CPUs to choose from")


class FakeAffinity:
    """Masks per thread id (0: the calling thread, as the kernel reads it); ``refuse``
    CPUs make ``set`` fail with EINVAL, ``gone`` threads with ESRCH."""

    def __init__(self, allowed: set[int], threads: list[int]) -> None:
        self.masks = {tid: set(allowed) for tid in [0, *threads]}
        self.refuse: set[int] = set()
        self.gone: set[int] = set()

    def get(self, tid: int) -> set[int]:
        return set(self.masks[tid])

    def set(self, tid: int, cpus: set[int]) -> None:
        if cpus & self.refuse:
            raise OSError(22, "Invalid argument")
        if tid in self.gone:
            raise ProcessLookupError(3, "No such process")
        self.masks[tid] = set(cpus)


def build(tmp_path: Path, *, allowed: frozenset[int] = frozenset({0, 1, 2, 3}),
          threads: tuple[int, ...] = (10, 11), **settings: object):
    proc = fake_proc(tmp_path, threads)  # the main thread last ran on CPU 3
    write_ticks(proc, own=0, idle={cpu: 0 for cpu in range(4)}, total=0)
    affinity = FakeAffinity(set(allowed), list(threads))
    metrics = Metrics(CollectorRegistry(), collectors=False)
    pin = CpuPin(CpuSettings(**settings), metrics, proc=proc, affinity=affinity)
    return pin, proc, affinity, metrics


def write_ticks(proc: Path, *, own: int, idle: dict[int, int], total: int) -> None:
    """The shipper used ``own`` ticks so far; each CPU was idle ``idle[cpu]`` of ``total``."""
    (proc / "self" / "stat").write_text(stat(utime=own, stime=0))
    (proc / "stat").write_text("cpu  0 0 0 0 0 0 0 0 0 0\n" + "".join(
        f"cpu{cpu} {total - ticks} 0 0 {ticks} 0 0 0 0 0 0\n" for cpu, ticks in idle.items()))


def test_start_pins_every_thread_to_the_cpu_the_process_is_on(tmp_path):
    pin, _, affinity, _ = build(tmp_path)
    assert pin.start() == 3
    assert affinity.masks == {0: {3}, 10: {3}, 11: {3}}


def test_nothing_is_pinned_with_one_cpu_allowed_or_pin_false(tmp_path):
    one, _, affinity, _ = build(tmp_path / "one", allowed=frozenset({5}))
    assert one.start() is None and affinity.masks[10] == {5}
    off, _, affinity, _ = build(tmp_path / "off", pin=False)
    assert off.start() is None and affinity.masks[10] == {0, 1, 2, 3}
    assert off.check() is None


def test_a_cpu_outside_the_allowed_set_is_never_chosen(tmp_path):
    """The main thread last ran on CPU 3 but only 0 and 1 are allowed: the lowest is."""
    pin, _, affinity, _ = build(tmp_path, allowed=frozenset({0, 1}))
    assert pin.start() == 0
    assert affinity.masks[11] == {0}


def test_a_refused_pin_leaves_every_thread_where_it_was(tmp_path):
    pin, _, affinity, _ = build(tmp_path)
    affinity.refuse = {3}
    assert pin.start() is None
    assert affinity.masks == {0: {0, 1, 2, 3}, 10: {0, 1, 2, 3}, 11: {0, 1, 2, 3}}


def test_a_thread_that_ended_meanwhile_does_not_stop_the_others(tmp_path):
    pin, _, affinity, _ = build(tmp_path, threads=(10, 11, 12))
    affinity.gone = {11}
    assert pin.start() == 3
    assert affinity.masks[10] == affinity.masks[12] == {3}


def test_its_own_load_never_moves_the_shipper(tmp_path):
    """The shipper used all of CPU 3 itself while CPU 0 idled: it has its whole CPU."""
    pin, proc, _, metrics = build(tmp_path)
    pin.start()
    write_ticks(proc, own=1000, idle={0: 1000, 1: 1000, 2: 1000, 3: 0}, total=1000)
    assert pin.check() == 3
    assert metrics.value("shipper_cpu_moves_total") == 0


def test_a_cpu_others_keep_busy_is_left_for_the_idlest(tmp_path):
    """Others used 70% of CPU 3 (the shipper 10%, idle 20%: 30% left to it); CPU 1 idled
    95%: every thread moves there, counted."""
    pin, proc, affinity, metrics = build(tmp_path)
    pin.start()
    write_ticks(proc, own=100, idle={0: 400, 1: 950, 2: 600, 3: 200}, total=1000)
    assert pin.check() == 1
    assert affinity.masks == {0: {1}, 10: {1}, 11: {1}}
    assert metrics.value("shipper_cpu_moves_total") == 1


def test_a_thread_that_escaped_the_pin_joins_the_others_at_the_next_look(tmp_path):
    """A thread started from a thread not moved yet kept the old mask: the next look,
    with no move to make, pins it too."""
    pin, proc, affinity, metrics = build(tmp_path)
    pin.start()
    (proc / "self" / "task" / "12").mkdir()
    affinity.masks[12] = {0, 1, 2, 3}
    write_ticks(proc, own=500, idle={0: 0, 1: 0, 2: 0, 3: 500}, total=1000)
    assert pin.check() == 3
    assert affinity.masks[12] == {3} and metrics.value("shipper_cpu_moves_total") == 0


def test_a_gain_below_min_gain_keeps_the_threads_where_they_are(tmp_path):
    """60% left here against 80% idle elsewhere: 0.2 is under the 0.25 default; with
    ``min_gain: 0.1`` it is a move."""
    pin, proc, _, metrics = build(tmp_path)
    pin.start()
    write_ticks(proc, own=100, idle={0: 800, 1: 700, 2: 0, 3: 500}, total=1000)
    assert pin.check() == 3 and metrics.value("shipper_cpu_moves_total") == 0
    eager, proc, _, _ = build(tmp_path / "eager", min_gain=0.1)
    eager.start()
    write_ticks(proc, own=100, idle={0: 800, 1: 700, 2: 0, 3: 500}, total=1000)
    assert eager.check() == 0


def test_a_cpu_outside_the_allowed_set_is_never_the_target(tmp_path):
    pin, proc, _, _ = build(tmp_path, allowed=frozenset({2, 3}))
    pin.start()
    write_ticks(proc, own=0, idle={0: 1000, 1: 1000, 2: 600, 3: 100}, total=1000)
    assert pin.check() == 2


def test_a_cpu_the_kernel_refuses_is_not_tried_again(tmp_path):
    pin, proc, affinity, metrics = build(tmp_path)
    pin.start()
    affinity.refuse = {1}
    write_ticks(proc, own=0, idle={0: 300, 1: 950, 2: 600, 3: 10}, total=1000)
    assert pin.check() == 3 and metrics.value("shipper_cpu_moves_total") == 0
    write_ticks(proc, own=0, idle={0: 600, 1: 1900, 2: 1200, 3: 20}, total=2000)
    assert pin.check() == 2  # CPU 1 left the allowed set; the next idlest is taken
    assert affinity.masks[10] == {2}


def test_a_mask_widened_from_outside_is_the_new_allowed_set(tmp_path):
    """The kubelet resized the cpuset and the kernel reset the mask: pinned again, within
    the new set; a single CPU set from outside (``taskset``) is kept."""
    pin, proc, affinity, _ = build(tmp_path)
    pin.start()
    affinity.masks[0] = {4, 5}
    assert pin.check() == 4
    assert affinity.masks[10] == {4}
    affinity.masks[0] = {5}
    assert pin.check() == 5


def test_an_unreadable_proc_is_logged_and_skipped(tmp_path, caplog):
    pin, proc, _, _ = build(tmp_path)
    pin.start()
    (proc / "stat").unlink()
    assert pin.check() == 3
    assert "could not read the CPUs' use" in caplog.text
    (proc / "self" / "stat").write_text("garbage")
    assert pin.check() == 3


def test_settings_are_checked():
    with pytest.raises(ValueError, match="min_gain"):
        CpuSettings(min_gain=0)
    with pytest.raises(ValueError, match="extra"):
        CpuSettings(pinn=True)  # type: ignore[call-arg]


@TWO_CPUS
def test_the_real_kernel_pins_every_thread_and_threads_started_later_inherit_it():
    """In a subprocess (this test process keeps its CPUs): a thread running before
    ``start`` and one started after both end up with the one CPU ``start`` chose."""
    cpu, masks = before_and_after(
        "from prometheus_client import CollectorRegistry\n"
        "from shipper.cpu.pin import CpuPin\n"
        "from shipper.cpu.settings import CpuSettings\n"
        "from shipper.metrics import Metrics",
        "CpuPin(CpuSettings(), Metrics(CollectorRegistry(), collectors=False)).start()",
        "sorted(os.sched_getaffinity(t))")
    assert cpu in os.sched_getaffinity(0)
    assert masks == [[cpu]] * 3
