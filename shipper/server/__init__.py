"""shipper.server: metrics, probes, live tail and job summaries over HTTP.

The pipeline builds :class:`~shipper.server.health.Progress`,
:class:`~shipper.server.tail.TailHub` and :class:`~shipper.jobs.JobTracker` (the job
summaries live in :mod:`shipper.jobs`), feeds them, and serves them with
:func:`~shipper.server.app.build_app` / :func:`~shipper.server.app.start_server`. Import
the submodules directly: this package stays import-light so that loading the config does
not pull in aiohttp.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "bound_port": "app", "build_app": "app", "start_server": "app", "Progress": "health",
    "ServerSettings": "settings", "parse_listen": "settings",
    "TailBusyError": "tail", "TailFilter": "tail_records", "TailHub": "tail",
}
__all__ = [
    "Progress", "ServerSettings", "TailBusyError", "TailFilter", "TailHub",
    "bound_port", "build_app", "parse_listen", "start_server",
]


def __getattr__(name: str) -> Any:
    """Load a public name's submodule on first use (keeps ``import shipper.config`` light)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipper.server' has no attribute {name!r}")
    return getattr(import_module(f"shipper.server.{module}"), name)
