"""shipper.server: metrics, probes, live tail and job summaries over HTTP.

The pipeline builds :class:`Progress`, :class:`TailHub` and :class:`JobTracker`, feeds
them, and serves them with :func:`build_app` / :func:`start_server`.
"""

from shipper.server.app import bound_port, build_app, start_server
from shipper.server.health import Progress
from shipper.server.jobs import JobTracker
from shipper.server.settings import ServerSettings, parse_listen
from shipper.server.tail import TailBusyError, TailFilter, TailHub

__all__ = ["JobTracker", "Progress", "ServerSettings", "TailBusyError", "TailFilter", "TailHub",
           "bound_port", "build_app", "parse_listen", "start_server"]
