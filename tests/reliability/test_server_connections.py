"""Fault 12: a connection flood must not starve the tailer of descriptors.

A real ``shipper run`` with ``ulimit -n 1024`` (soft and hard, so it cannot raise it)
gets 3,000 half-open connections (connected, never a byte sent) from 127.0.0.2. A log
file created afterwards must still be read and shipped, ``/metrics`` must answer a
client on 127.0.0.1, the shipper must hold few descriptors, the held connections must be
closed after the header timeout (the shipper's socket descriptors are back to what it
held before the flood), and stderr must carry no traceback (only a few rate-limited
warnings).
"""

from __future__ import annotations

import contextlib
import errno
import resource
import socket
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, report
from tests.reliability.probes import (
    descriptors,
    free_port,
    scrape,
    wait_scrape,
    write_config,
)

pytestmark = pytest.mark.integration

NOFILE = 1024
FLOOD = 3_000
NEW_LINES = 200
HEADER_TIMEOUT = 10.0
PER_CLIENT = 16  # server.max_connections_per_client's default


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def flood(port: int, count: int) -> list[socket.socket]:
    """``count`` non-blocking connects from 127.0.0.2 that never send anything."""
    socks = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.2", 0))
        code = sock.connect_ex(("127.0.0.1", port))
        assert code in (0, errno.EINPROGRESS, errno.EAGAIN), errno.errorcode.get(code, code)
        socks.append(sock)
    return socks


def sockets_held(pid: int) -> int:
    """Socket descriptors the shipper holds (listening socket and sink connections too)."""
    return sum(1 for target in descriptors(pid) if target.startswith("socket:"))


def metrics_answer(port: int, timeout: float) -> dict[str, float] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            return scrape(port, timeout=2.0)
        time.sleep(0.2)
    return None


def test_connection_flood_leaves_descriptors_for_the_tailer(tmp_path, podinfo, cli):
    """12. 3,000 half-open connections at ulimit -n 1024: the new file ships, /metrics
    answers, the shipper holds < 200 descriptors, the connections it kept are closed
    after the header timeout, and stderr has no traceback."""
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    tally = Tally()
    cfg = write_config(tmp_path / "shipper.yaml", {"server": {"listen": f"127.0.0.1:{port}"}})
    stderr = tmp_path / "stderr.log"
    shipper = Shipper(["--config", str(cfg), "--path", str(logs / "*.log"),
                       "--podinfo-dir", str(podinfo)], tally, stderr,
                      preexec_fn=_limit_descriptors)
    socks: list[socket.socket] = []
    try:
        wait_scrape(port)
        (logs / "before.log").write_bytes(line("b", 0))
        assert tally.wait_for(1, 30), "the shipper did not ship a first line"
        sockets_before = sockets_held(shipper.proc.pid)
        socks = flood(port, FLOOD)
        time.sleep(3)
        held_fds = len(descriptors(shipper.proc.pid))
        sockets_during = sockets_held(shipper.proc.pid)
        (logs / "after.log").write_bytes(b"".join(line("a", n) for n in range(NEW_LINES)))
        shipped = tally.wait_for(1 + NEW_LINES, 30)
        metrics = metrics_answer(port, timeout=5)
        time.sleep(HEADER_TIMEOUT + 3)
        sockets_after = sockets_held(shipper.proc.pid)
        after = metrics_answer(port, timeout=5) or {}
    finally:
        for sock in socks:
            sock.close()
        code = shipper.stop(60)
    text = stderr.read_text(errors="replace")
    tracebacks = text.count("Traceback")
    warnings = sum(1 for row in text.splitlines() if "server closed connections" in row)
    report("connection-flood", written=1 + NEW_LINES, tally=tally,
           rss_kib=shipper.peak_rss_kib, held_fds=held_fds, sockets_before=sockets_before,
           sockets_during=sockets_during, sockets_after=sockets_after,
           tracebacks=tracebacks, refusal_warnings=warnings, stderr_bytes=len(text),
           refused_limit=after.get('shipper_server_connections_refused_total{reason="limit"}'),
           refused_timeout=after.get(
               'shipper_server_connections_refused_total{reason="header-timeout"}'))
    assert shipped, f"the file created after the flood was not shipped ({tally.delivered} lines)"
    assert metrics is not None, "/metrics did not answer during the flood"
    assert held_fds < 200, f"the shipper holds {held_fds} descriptors"
    assert sockets_after <= sockets_before + 1, (
        f"{sockets_after - sockets_before} flood connections still held after the header timeout")
    assert tracebacks == 0 and warnings <= 3
    # the kernel's accept queue (backlog 64) drops part of a flood this fast, so not all
    # 3,000 reach the server (1,297-1,929 did in our runs): 16 are held, the rest refused
    assert after.get('shipper_server_connections_refused_total{reason="limit"}', 0) >= 100
    assert after.get('shipper_server_connections_refused_total{reason="header-timeout"}',
                     0) >= PER_CLIENT
    assert code == 0
    assert tally.duplicated == 0
