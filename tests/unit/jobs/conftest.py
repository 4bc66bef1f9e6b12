"""Fixtures of the job tests: the server tests' fresh metrics registry and fake clock."""

from tests.unit.server.conftest import clock, metrics

__all__ = ["clock", "metrics"]
