"""Which Loki tenant (``X-Scope-OrgID``) a record goes to.

``tenant_from: k8s.labels.team`` reads each record's tenant from that field; a record
without it (or with a value Loki cannot take as a tenant ID) goes to the static
``tenant_id`` (no header if there is none). The sink sends one request per tenant and
batch.
"""

from __future__ import annotations

from collections import Counter

from shipper.record import Record
from shipper.record_fields import compile_getter
from shipper.sinks.settings import LokiSinkSettings, valid_tenant


class TenantOf:
    """``record -> tenant`` (``None``: no ``X-Scope-OrgID``); ``counts["tenant-invalid"]``
    counts records whose field held an unusable tenant ID (sent to the default)."""

    def __init__(self, settings: LokiSinkSettings) -> None:
        self.default = settings.tenant_id
        self._get = compile_getter(settings.tenant_from) if settings.tenant_from else None
        self.counts: Counter[str] = Counter()

    @property
    def per_record(self) -> bool:
        return self._get is not None

    def __call__(self, record: Record) -> str | None:
        if self._get is None:
            return self.default
        value = self._get(record)
        if value in (None, ""):
            return self.default
        text = str(value)
        if not valid_tenant(text):
            self.counts["tenant-invalid"] += 1
            return self.default
        return text
