"""Errors of the benchmark harness."""

from __future__ import annotations

from shipper.errors import ShipperError


class BenchError(ShipperError):
    """A benchmark run could not be carried out (a system failed, timed out or is missing)."""


class PeerUnavailable(BenchError):
    """A peer (rsyslog, syslog-ng) could not be installed or started; its rows are skipped."""
