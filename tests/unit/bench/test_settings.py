"""The bench's settings from its environment variables."""

from __future__ import annotations

import pydantic
import pytest

from bench.settings import from_env


def test_sink_rounds_default_to_five_and_follow_bench_sink_rounds() -> None:
    """Five pairs a sink unless ``BENCH_SINK_ROUNDS`` says otherwise (the smoke test's 1)."""
    assert from_env({"BENCH_SHIPPER": "none"}).sink_rounds == 5
    assert from_env({"BENCH_SHIPPER": "none", "BENCH_SINK_ROUNDS": "1"}).sink_rounds == 1


def test_sink_rounds_below_one_are_refused() -> None:
    """Zero rounds would make a sinks row of no pair: an error naming the field."""
    with pytest.raises(pydantic.ValidationError, match="sink_rounds"):
        from_env({"BENCH_SHIPPER": "none", "BENCH_SINK_ROUNDS": "0"})
