"""Config model of the HTTP server (owned by shipper.server)."""

from __future__ import annotations

from shipper.units import Model


class ServerSettings(Model):
    listen: str = "0.0.0.0:9102"
