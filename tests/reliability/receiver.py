"""A loopback NDJSON receiver for the fault suite that can be down, failing or up.

It runs ``http.server`` in a thread on 127.0.0.1 (HTTP/1.0: one request per connection,
so "down" really means connection refused, even for a client that keeps connections).
``down()`` closes the listening socket, ``up()`` listens again on the same port, and
``status`` is what a POST gets (200 accepts and counts, 503 refuses), after ``delay``
seconds (a slow backend). Accepted bodies
(gzip or plain) feed a :class:`~tests.reliability.harness.Tally`.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.reliability.harness import Tally


class Receiver:
    """``with Receiver(tally) as rx:`` listens at once; ``rx.url`` is the sink URL."""

    def __init__(self, tally: Tally, *, status: int = 200, delay: float = 0.0) -> None:
        self.tally = tally
        self.status = status
        #: seconds each POST takes before it is answered (a slow backend)
        self.delay = delay
        self.port = 0
        self.requests: Counter[int] = Counter()
        self.keys: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest"

    def __enter__(self) -> "Receiver":
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        """Listen (again, on the same port once one was picked)."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(10)
        self._server = None

    def accept(self, body: bytes, encoding: str | None, key: str | None) -> int:
        """Decide on one POST (called from a handler thread)."""
        if self.delay:
            time.sleep(self.delay)
        status = self.status
        with self._lock:
            self.requests[status] += 1
            if status == 200 and key:
                self.keys[key] += 1
        if status == 200:
            self.tally.feed(gzip.decompress(body) if encoding == "gzip" else body)
        return status

    @property
    def repeated_batches(self) -> int:
        """Accepted requests whose idempotency key had been accepted before."""
        return sum(n - 1 for n in self.keys.values() if n > 1)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.accept(body, self.headers.get("Content-Encoding"),
                                     self.headers.get("Idempotency-Key"))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet: figures are printed by the tests

    return Handler
