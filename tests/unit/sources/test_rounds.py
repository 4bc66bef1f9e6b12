"""Which files a follow-mode read round reads (:mod:`shipper.sources.rounds`): every file
while none is warm, the warm ones between passes, a pass over every file at least once a
``poll_interval`` that goes on until it has read every file."""

from __future__ import annotations

import pytest

from shipper.sources.rounds import ReadRounds


class File:
    def __init__(self, n: int) -> None:
        self.ident = (1, n)
        self.fd = 3


class Files(list):
    """The tailer's file set as the rounds use it: iterable, ``get(ident)``."""

    def get(self, ident: object) -> File | None:
        return next((f for f in self if f.ident == ident), None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    clock, files = Clock(), Files(File(n) for n in range(5))
    return ReadRounds(0.25, clock), files, clock


def read_all(rounds, order, found=()):
    for f in order:
        rounds.found(f, f in found)


def test_with_no_warm_file_every_round_reads_every_file_in_turn(setup):
    """Nothing found: each round is a pass over every file, its start rotating."""
    rounds, files, _ = setup
    first = rounds.order(files)
    assert rounds.full and sorted(first, key=id) == sorted(files, key=id)
    read_all(rounds, first)
    second = rounds.order(files)
    assert second == first[1:] + first[:1]


def test_between_passes_only_the_warm_files_are_read(setup):
    """File 2 found lines: the next rounds read it alone, even after a read that found
    nothing (it stays warm for the interval); every file again once the interval is up."""
    rounds, files, clock = setup
    read_all(rounds, rounds.order(files), found=[files[2]])
    clock.now += 0.1
    assert rounds.order(files) == [files[2]] and not rounds.full
    rounds.found(files[2], True)  # warm until 0.35 s
    clock.now += 0.1
    assert rounds.order(files) == [files[2]]
    rounds.found(files[2], False)  # still warm
    clock.now += 0.06  # 0.26 s after the pass began
    order = rounds.order(files)
    assert len(order) == 5 and rounds.full and order[-1] is files[2]  # the warm one last


def test_a_pass_cut_by_the_budget_goes_on_until_every_file_was_read(setup):
    """A busy warm file whose reads take the whole budget: the pass reads the files it
    has not reached first and carries on over the next rounds, so a quiet file is never
    left behind the busy one (one file reached a round here)."""
    rounds, files, clock = setup
    read_all(rounds, rounds.order(files), found=[files[0]])
    clock.now += 0.2
    rounds.found(rounds.order(files)[0], True)  # busy: warm until 0.45 s
    clock.now += 0.1  # a pass is due
    seen = []
    for _ in range(8):
        order = rounds.order(files)
        if not rounds.full:
            break
        rounds.found(order[0], order[0] is files[0])  # the budget ends the round there
        seen.append(order[0])
    assert sorted(f.ident for f in seen[:4]) == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert seen[4:] == [files[0]]  # the warm one, last: read every round besides
    assert rounds.order(files) == [files[0]] and not rounds.full  # the pass is done


def test_a_warm_file_cools_down_and_a_let_go_one_is_forgotten(setup):
    """Warm for ``interval`` after its last find; a file no longer in the set is not read
    however warm it was, nor left in the pass; with no warm file left every round is a
    pass."""
    rounds, files, clock = setup
    read_all(rounds, rounds.order(files), found=[files[0], files[1]])
    clock.now += 0.05
    gone = files.pop(1)
    assert rounds.order(files) == [files[0]]
    clock.now += 0.3
    order = rounds.order(files)
    assert gone not in order and len(order) == 4 and rounds.full
    read_all(rounds, order)
    assert len(rounds.order(files)) == 4 and rounds.full  # nothing warm any more


def test_look_everywhere_starts_a_new_pass(setup):
    """After a scan (new files) the next round reads every file, warm ones or not."""
    rounds, files, clock = setup
    read_all(rounds, rounds.order(files), found=[files[3]])
    clock.now += 0.01
    assert rounds.order(files) == [files[3]]
    files.append(File(9))
    rounds.look_everywhere()
    assert len(rounds.order(files)) == 6 and rounds.full


def test_the_sleep_ends_by_the_next_pass_while_a_file_is_warm(setup):
    """No warm file: the tailer sleeps as long as it asks (an event wakes it); a warm
    one: no longer than until the next pass; a pass under way: not at all."""
    rounds, files, clock = setup
    order = rounds.order(files)
    assert rounds.sleep_at_most(2.0) == 0.0  # the pass has read nothing yet
    read_all(rounds, order)
    assert rounds.sleep_at_most(2.0) == 2.0
    rounds.found(files[0], True)
    clock.now += 0.05
    assert rounds.sleep_at_most(2.0) == pytest.approx(0.2)
    assert rounds.sleep_at_most(0.1) == pytest.approx(0.1)
    clock.now += 1.0  # cooled down
    assert rounds.sleep_at_most(2.0) == 2.0
