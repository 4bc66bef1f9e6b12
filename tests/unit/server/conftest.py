"""Fixtures of the server tests: a fresh metrics registry per test and a fake clock."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from shipper.metrics import Metrics

from .helpers import FakeClock


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry(), collectors=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
