"""``shipper run`` exit codes: the pipeline's code comes back; a bug that escapes the
pipeline is one JSON error line (no record content) and exit 1, never a traceback."""

from __future__ import annotations

import logging

import shipper.run as run_module
from shipper.cli import run
from shipper.config import Settings
from shipper.errors import ShipperError


def test_the_pipeline_exit_code_is_the_exit_code(monkeypatch):
    async def failed(settings, **kwargs):
        return 1

    monkeypatch.setattr(run_module, "run_pipeline", failed)
    assert run(Settings(paths=["/nonexistent/*.log"]), listen_given=False) == 1


def test_a_bug_outside_the_tasks_is_logged_and_exits_1(monkeypatch, caplog):
    async def broken(settings, **kwargs):
        raise KeyError("password=hunter22")

    monkeypatch.setattr(run_module, "run_pipeline", broken)
    caplog.set_level(logging.CRITICAL, logger="shipper")
    assert run(Settings(paths=["/nonexistent/*.log"]), listen_given=False) == 1
    [entry] = caplog.records
    assert entry.getMessage() == "shipper crashed" and entry.error_type == "KeyError"
    assert "hunter22" not in caplog.text


def test_the_shippers_own_errors_still_reach_main(monkeypatch):
    async def refused(settings, **kwargs):
        raise ShipperError("sink refused to start")

    monkeypatch.setattr(run_module, "run_pipeline", refused)
    try:
        run(Settings(paths=["/nonexistent/*.log"]), listen_given=False)
    except ShipperError as exc:
        assert str(exc) == "sink refused to start"
    else:
        raise AssertionError("ShipperError was swallowed")
