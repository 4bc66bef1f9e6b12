"""``CpuPin`` keeps every thread on one CPU and moves them off a busy one (issue 14: the
hand-offs between threads on two CPUs cost ~22% CPU). Fake ``/proc`` and affinity calls
prove the decisions; a subprocess proves the real kernel calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from shipper.cpu.pin import CpuPin
from shipper.cpu.settings import CpuSettings
from shipper.metrics import Metrics

from .test_procfs import fake_proc

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


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def build(tmp_path: Path, *, allowed: set[int] = frozenset({0, 1, 2, 3}),  # type: ignore[assignment]
          threads: tuple[int, ...] = (10, 11), **settings: object):
    proc = fake_proc(tmp_path, {tid: "0 0 0\n" for tid in threads})  # main thread on CPU 3
    (proc / "stat").write_text("".join(f"cpu{cpu} 0 0 0 0 0 0 0 0 0 0\n" for cpu in range(4)))
    affinity, clock = FakeAffinity(set(allowed), list(threads)), Clock()
    metrics = Metrics(CollectorRegistry(), collectors=False)
    pin = CpuPin(CpuSettings(**settings), metrics, proc=proc, affinity=affinity, clock=clock)
    return pin, proc, affinity, clock, metrics


def later(proc: Path, clock: Clock, seconds: float, *, waited_ns: int, idle: dict[int, int]):
    """``seconds`` pass; thread 10 waited ``waited_ns`` in all; the CPUs' idle ticks."""
    clock.now += seconds
    (proc / "self" / "task" / "10" / "schedstat").write_text(f"0 {waited_ns} 0\n")
    (proc / "stat").write_text("cpu  0 0 0 0 0\n" + "".join(
        f"cpu{cpu} 0 0 0 {ticks} 0 0 0 0 0 0\n" for cpu, ticks in idle.items()))


def test_start_pins_every_thread_to_the_cpu_the_process_is_on(tmp_path):
    pin, _, affinity, _, _ = build(tmp_path)
    assert pin.start() == 3
    assert affinity.masks == {0: {3}, 10: {3}, 11: {3}}


def test_nothing_is_pinned_with_one_cpu_allowed_or_pin_false(tmp_path):
    one, _, affinity, _, _ = build(tmp_path / "one", allowed={5})
    assert one.start() is None and affinity.masks[10] == {5}
    off, _, affinity, _, _ = build(tmp_path / "off", pin=False)
    assert off.start() is None and affinity.masks[10] == {0, 1, 2, 3}
    assert off.check() is None


def test_a_cpu_outside_the_allowed_set_is_never_chosen(tmp_path):
    """The main thread last ran on CPU 3 but only 0 and 1 are allowed: the lowest is."""
    pin, _, affinity, _, _ = build(tmp_path, allowed={0, 1})
    assert pin.start() == 0
    assert affinity.masks[11] == {0}


def test_a_refused_pin_leaves_every_thread_where_it_was(tmp_path):
    pin, _, affinity, _, _ = build(tmp_path)
    affinity.refuse = {3}
    assert pin.start() is None
    assert affinity.masks == {0: {0, 1, 2, 3}, 10: {0, 1, 2, 3}, 11: {0, 1, 2, 3}}


def test_a_thread_that_ended_meanwhile_does_not_stop_the_others(tmp_path):
    pin, _, affinity, _, _ = build(tmp_path, threads=(10, 11, 12))
    affinity.gone = {11}
    assert pin.start() == 3
    assert affinity.masks[10] == affinity.masks[12] == {3}


def test_short_waits_keep_the_threads_where_they_are(tmp_path):
    pin, proc, affinity, clock, metrics = build(tmp_path)
    pin.start()
    later(proc, clock, 10, waited_ns=1_500_000_000, idle={0: 900, 1: 900, 2: 900, 3: 0})
    assert pin.check() == 3  # 15% of the time waiting: under the 20% default
    assert metrics.value("shipper_cpu_moves_total") == 0


def test_long_waits_move_every_thread_to_the_cpu_idle_longest(tmp_path):
    pin, proc, affinity, clock, metrics = build(tmp_path)
    pin.start()
    later(proc, clock, 10, waited_ns=4_000_000_000, idle={0: 300, 1: 950, 2: 600, 3: 10})
    assert pin.check() == 1
    assert affinity.masks == {0: {1}, 10: {1}, 11: {1}}
    assert metrics.value("shipper_cpu_moves_total") == 1


def test_long_waits_stay_when_no_cpu_is_idler_than_ours(tmp_path):
    """Every CPU is as busy: moving would only pay the move."""
    pin, proc, _, clock, metrics = build(tmp_path)
    pin.start()
    later(proc, clock, 10, waited_ns=5_000_000_000, idle={0: 5, 1: 5, 2: 5, 3: 5})
    assert pin.check() == 3
    assert metrics.value("shipper_cpu_moves_total") == 0


def test_a_cpu_the_kernel_refuses_is_not_tried_again(tmp_path):
    pin, proc, affinity, clock, metrics = build(tmp_path)
    pin.start()
    affinity.refuse = {1}
    later(proc, clock, 10, waited_ns=4_000_000_000, idle={0: 300, 1: 950, 2: 600, 3: 10})
    assert pin.check() == 3 and metrics.value("shipper_cpu_moves_total") == 0
    later(proc, clock, 10, waited_ns=8_000_000_000, idle={0: 600, 1: 1900, 2: 1200, 3: 20})
    assert pin.check() == 2  # CPU 1 left the allowed set; the next idlest is taken
    assert affinity.masks[10] == {2}


def test_a_mask_widened_from_outside_is_the_new_allowed_set(tmp_path):
    """The kubelet resized the cpuset and the kernel reset the mask: pinned again, within
    the new set; a single CPU set from outside (``taskset``) is kept."""
    pin, proc, affinity, clock, _ = build(tmp_path)
    pin.start()
    affinity.masks[0] = {4, 5}
    later(proc, clock, 10, waited_ns=0, idle={4: 10, 5: 10})
    assert pin.check() == 4
    assert affinity.masks[10] == {4}
    affinity.masks[0] = {5}
    later(proc, clock, 10, waited_ns=0, idle={4: 20, 5: 20})
    assert pin.check() == 5


def test_an_unreadable_proc_is_logged_and_skipped(tmp_path, caplog):
    pin, proc, _, clock, _ = build(tmp_path)
    pin.start()
    (proc / "stat").unlink()
    clock.now += 10
    assert pin.check() == 3
    assert "could not read the CPU waits" in caplog.text


def test_settings_are_checked():
    with pytest.raises(ValueError, match="max_wait_share"):
        CpuSettings(max_wait_share=0)
    with pytest.raises(ValueError, match="extra"):
        CpuSettings(pinn=True)  # type: ignore[call-arg]


@TWO_CPUS
def test_the_real_kernel_pins_every_thread_and_threads_started_later_inherit_it():
    """In a subprocess (this test process keeps its CPUs): a thread running before
    ``start`` and one started after both end up with the one CPU ``start`` chose."""
    script = textwrap.dedent("""
        import json, os, threading
        from prometheus_client import CollectorRegistry
        from shipper.cpu.pin import CpuPin
        from shipper.cpu.settings import CpuSettings
        from shipper.metrics import Metrics
        stop = threading.Event()
        ids = []
        def work():
            ids.append(threading.get_native_id())
            stop.wait(10)
        early = threading.Thread(target=work); early.start()
        cpu = CpuPin(CpuSettings(), Metrics(CollectorRegistry(), collectors=False)).start()
        late = threading.Thread(target=work); late.start()
        while len(ids) < 2: pass
        masks = [sorted(os.sched_getaffinity(t)) for t in [0, *ids]]
        stop.set(); early.join(); late.join()
        print(json.dumps({"cpu": cpu, "masks": masks}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    got = json.loads(out.stdout)
    assert got["cpu"] in os.sched_getaffinity(0)
    assert got["masks"] == [[got["cpu"]]] * 3
