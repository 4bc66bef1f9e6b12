"""tqdm's tail pattern (``| n/total [elapsed<remaining, rate, postfix]``) is written with
possessive quantifiers for speed: it must match the same tails with the same groups and
span as the plain-quantifier form it replaced, near misses included."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels.pure_tqdm import _INTERVAL, _RATE, _SCALED, _TQDM_TAIL

#: the pattern as it was before the possessive quantifiers (the reference)
_PLAIN = re.compile(
    r"\|[^|]*\| (" + _SCALED + r")/(" + _SCALED + r"|\?) \[(" + _INTERVAL + r")<("
    + _INTERVAL + r"|\?), +" + _RATE + r"(?:, ([^\]]*))?\]$", re.ASCII)
_PIECES = ["|", "\u2588", " ", "  ", "45", "/", "100", "1.20M", "2.00", "k", "M", "?", "[",
           "]", "00:04", "1:02:03", "2d, ", "d, ", "<", ",", ", ", "10.00", "it", "s", "kB",
           "B", "/s", "s/it", "loss=0.3", "a]b", "\n", ":", ".", "5", "12", "x"]
_TAILS = st.lists(st.sampled_from(_PIECES), max_size=24).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TAILS)
@example("|\u2588\u2588\u2588\u2588\u258c     | 45/100 [00:04<00:05, 10.00it/s]")
@example("|\u2588\u2588| 1.20M/2.00M [1:02:03<41:22, 322kB/s, loss=0.312, acc=0.91]")
@example("|| 5/? [2d, 1:02:03<?, ?it/s]")
@example("|| 5/10 [00:01<00:01, 1.5s/it, a]b]")  # a bracket inside the postfix: no match
@example("|| 5/10 [00:01<00:01, 1.5s/it]\n")  # "$" before a final newline
@example("|| 5/10 [00:01:02:03<00:01, 1k1/s]")
def test_the_possessive_pattern_matches_as_the_plain_one(tail: str) -> None:
    """Same match or none, same span and groups, on generated tails."""
    got, expected = _TQDM_TAIL.match(tail), _PLAIN.match(tail)
    assert (got is None) == (expected is None), tail
    if got is not None and expected is not None:
        assert got.span() == expected.span()
        assert got.groups() == expected.groups()


def test_the_reference_differs_only_in_its_quantifiers() -> None:
    """Taking the possessive marks out of the pattern gives the reference back."""
    plain = _TQDM_TAIL.pattern.replace("++", "+").replace("*+", "*").replace("?+", "?")
    plain = plain.replace("{1,2}+", "{1,2}").replace(r"\d\d", r"\d{2}")
    assert plain == _PLAIN.pattern
