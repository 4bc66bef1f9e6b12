"""The shared shape of the HTTP sinks (http, loki, datadog): one URL, one session."""

from __future__ import annotations

from typing import Any

from shipper.sinks.base import Payload, SinkWorker
from shipper.sinks.http import HttpTransport


class HttpPostSink(SinkWorker):
    """A sink that POSTs each payload to one URL through one reused session; subclasses
    set ``_url`` and fill ``_headers`` (auth, tenant) in :meth:`open`."""

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._transport = HttpTransport(settings, sink=self.name)
        self._headers: dict[str, str] = {}
        self._url: str = str(settings.url)

    async def shutdown(self) -> None:
        await self._transport.close()

    async def send(self, payload: Payload) -> None:
        status, headers, text = await self._transport.post(
            self._url, payload.body, {**self._headers, **payload.headers})
        self.classify(status, headers, text)
