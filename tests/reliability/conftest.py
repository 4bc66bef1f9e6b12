"""Fault-suite fixtures; every test here is marked ``reliability``."""

from __future__ import annotations

import pytest

from tests.reliability.harness import cli_missing_reason


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def cli() -> None:
    """Skip (with the reason) while ``shipper run`` cannot be started."""
    reason = cli_missing_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def podinfo(tmp_path):
    path = tmp_path / "podinfo"
    path.mkdir()
    return path
