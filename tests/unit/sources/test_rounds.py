"""Which files a follow-mode read round reads (:mod:`shipper.sources.rounds`): every file
while none is warm, the warm ones between full rounds, and every file at least once a
``poll_interval``."""

from __future__ import annotations

import pytest

from shipper.sources.rounds import ReadRounds


class File:
    def __init__(self, n: int) -> None:
        self.ident = (1, n)


class Files(list):
    """The tailer's file set as the rounds use it: iterable, ``ident in files``."""

    def __contains__(self, ident: object) -> bool:
        return any(f.ident == ident for f in self)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    clock, files = Clock(), Files(File(n) for n in range(5))
    return ReadRounds(0.25, clock), files, clock


def test_with_no_warm_file_every_round_reads_every_file_in_turn(setup):
    """Nothing found yet: each round is full, the start rotating by one file a round."""
    rounds, files, _ = setup
    first, second = rounds.order(files), rounds.order(files)
    assert rounds.full and sorted(first, key=id) == sorted(files, key=id)
    assert second == first[1:] + first[:1]


def test_between_full_rounds_only_the_warm_files_are_read(setup):
    """File 2 found lines: the next rounds read it alone, even after a read that found
    nothing (it stays warm for the interval); every file again once the interval is up."""
    rounds, files, clock = setup
    rounds.order(files)
    for f in files:
        rounds.found(f, f is files[2])
    clock.now += 0.1
    assert rounds.order(files) == [files[2]] and not rounds.full
    rounds.found(files[2], False)
    clock.now += 0.1
    assert rounds.order(files) == [files[2]]
    clock.now += 0.06  # 0.26 s after the full round
    assert len(rounds.order(files)) == 5 and rounds.full


def test_a_warm_file_cools_down_and_a_let_go_one_is_forgotten(setup):
    """Warm for ``interval`` after its last find; a file no longer in the set is not
    read however warm it was; with no warm file left the round is full."""
    rounds, files, clock = setup
    rounds.order(files)
    rounds.found(files[0], True)
    rounds.found(files[1], True)
    clock.now += 0.05
    del files[1]
    assert rounds.order(files) == [files[0]]
    clock.now += 0.3
    assert rounds.order(files) and rounds.full  # due anyway; and nothing warm any more
    clock.now += 0.01
    assert len(rounds.order(files)) == 4 and rounds.full


def test_look_everywhere_makes_the_next_round_full(setup):
    """After a scan (new files) the next round reads every file, warm ones or not."""
    rounds, files, clock = setup
    rounds.order(files)
    rounds.found(files[3], True)
    clock.now += 0.01
    assert rounds.order(files) == [files[3]]
    rounds.look_everywhere()
    assert len(rounds.order(files)) == 5 and rounds.full


def test_the_sleep_ends_by_the_next_full_round_while_a_file_is_warm(setup):
    """No warm file: the tailer sleeps as long as it asks (an event wakes it); a warm
    one: no longer than until the next full round, when the quiet files are read."""
    rounds, files, clock = setup
    rounds.order(files)
    assert rounds.sleep_at_most(2.0) == 2.0
    rounds.found(files[0], True)
    clock.now += 0.05
    assert rounds.sleep_at_most(2.0) == pytest.approx(0.2)
    assert rounds.sleep_at_most(0.1) == pytest.approx(0.1)
    clock.now += 1.0  # cooled down
    assert rounds.sleep_at_most(2.0) == 2.0
