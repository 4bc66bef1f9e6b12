"""Durations and sizes in config accept human units and reject nonsense clearly."""

import pytest

from shipper.units import compile_regex, parse_duration, parse_size


@pytest.mark.parametrize("text,seconds", [
    ("250ms", 0.25), ("1s", 1.0), ("1.5s", 1.5), ("5m", 300.0), ("2h", 7200.0),
    (3, 3.0), (0.5, 0.5), ("10", 10.0), ("100us", 0.0001),
])
def test_durations_normalise_to_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["fast", "-1s", -2, True, "1 fortnight", None])
def test_bad_durations_are_rejected_with_a_hint(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize("text,size", [
    ("256KiB", 262144), ("10MB", 10_000_000), ("1MiB", 1048576), (4096, 4096),
    ("1gib", 1024**3), ("512", 512), ("2k", 2000),
])
def test_sizes_normalise_to_bytes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["big", "-5", -1, False, "12 potatoes"])
def test_bad_sizes_are_rejected_with_a_hint(bad):
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


def test_compile_regex_names_the_pattern_and_the_problem():
    with pytest.raises(ValueError, match=r"invalid regex '\(unclosed'"):
        compile_regex("(unclosed")
    assert compile_regex("a+").match("aaa")
