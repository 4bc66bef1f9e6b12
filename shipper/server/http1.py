"""The part of HTTP/1.x the lightweight server speaks (:mod:`shipper.server.light`):
plain ``GET``/``HEAD`` requests for the open paths, answered exactly as aiohttp answers
them (status line in the request's version, ``Content-Type``, ``Content-Length``,
``Content-Encoding``, ``Date``, ``Server``, ``Connection`` in that order).

:func:`parse_head` accepts only requests it understands completely: ``GET``/``HEAD``
of ``/metrics``, ``/healthz`` or ``/readyz`` (a query string allowed), HTTP/1.0 or 1.1
(1.1 with its ``Host``), well-formed header lines of at most :data:`MAX_LINE` bytes, no
header named twice, no body, no upgrade. Anything else (``None``) is handed to aiohttp,
which answers it as it always did (its 400s, 404s, 405s and ``/v1/*``).
:func:`may_be_light` tells early, from the first bytes, that a request will not be one
of those, so aiohttp answers garbage as soon as it would have.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec

#: aiohttp's ``max_line_size`` / ``max_field_size``: longer lines are aiohttp's to refuse
MAX_LINE = 8190
#: a request head (without its blank line) this long at most is answered here
MAX_HEAD = 8192
HEAD_END = b"\r\n\r\n"
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(rb"[\t\x20-\x7e]*")
_TARGET = re.compile(rb"(/metrics|/healthz|/readyz)(?:\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?")
_VERSIONS = (b"HTTP/1.0", b"HTTP/1.1")
_METHODS = (b"GET", b"HEAD")
_REFUSED_HEADERS = (b"content-length", b"transfer-encoding", b"upgrade", b"expect")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_REASONS = {200: "OK", 503: "Service Unavailable"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Head:
    """A request the lightweight server answers."""

    method: bytes
    path: str
    version: bytes
    keep_alive: bool
    accept: str
    accept_encoding: str


def may_be_light(data: bytes | bytearray) -> bool:
    """``False`` once the first bytes of a request show it is not one :func:`parse_head`
    could accept (another method, a bare ``\\n``, a control byte)."""
    first = bytes(data[:6])
    if not (b"GET /".startswith(first[:5]) or b"HEAD /".startswith(first)):
        return False
    cleaned = bytes(data).replace(b"\r\n", b"")
    return _CONTROL.search(cleaned.rstrip(b"\r")) is None


def parse_head(head: bytes) -> Head | None:
    """The request whose head (up to, without, the blank line) is ``head``, or ``None``
    when it is not one answered here."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] not in _METHODS or parts[2] not in _VERSIONS:
        return None
    target = _TARGET.fullmatch(parts[1])
    if target is None or len(lines[0]) > MAX_LINE:
        return None
    headers = _headers(lines[1:])
    if headers is None or any(name in headers for name in _REFUSED_HEADERS):
        return None
    version = parts[2]
    if version == b"HTTP/1.1" and b"host" not in headers:
        return None
    connection = headers.get(b"connection", b"").lower()
    if connection not in (b"", b"close", b"keep-alive"):
        return None
    keep_alive = connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
    return Head(parts[0], target.group(1).decode(), version, keep_alive,
                headers.get(b"accept", b"").decode(), headers.get(b"accept-encoding", b"").decode())


def _headers(lines: list[bytes]) -> dict[bytes, bytes] | None:
    """Lower-case names to values; ``None`` for a malformed, long or repeated header."""
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        if (not sep or len(line) > MAX_LINE or _TOKEN.fullmatch(name) is None
                or _VALUE.fullmatch(value) is None):
            return None
        key = name.lower()
        if key in headers:
            return None
        headers[key] = value.strip(b" \t")
    return headers


def response(head: Head, status: int, content_type: str, body: bytes,
             encoding: str | None = None) -> bytes:
    """The whole response to ``head`` (no body for ``HEAD``, its length all the same)."""
    lines = [f"{head.version.decode()} {status} {_REASONS.get(status, 'Unknown')}",
             f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    if encoding is not None:
        lines.append(f"Content-Encoding: {encoding}")
    lines += [f"Date: {http_date(time.time())}", f"Server: {server_software()}"]
    if not head.keep_alive and head.version == b"HTTP/1.1":
        lines.append("Connection: close")
    elif head.keep_alive and head.version == b"HTTP/1.0":
        lines.append("Connection: keep-alive")
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head.method == b"HEAD" else out + body


def http_date(now: float) -> str:
    """``Tue, 01 Dec 2026 16:10:20 GMT`` (never localised)."""
    t = time.gmtime(now)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


@cache
def server_software() -> str:
    """aiohttp's ``Server`` header, with aiohttp's release (aiohttp is not imported)."""
    release = _installed_release("aiohttp")
    return f"Python/{sys.version_info[0]}.{sys.version_info[1]} aiohttp/{release}"


def _installed_release(package: str) -> str:
    """The release of an installed ``package``: the name of the ``.dist-info`` directory
    beside it (``aiohttp-3.14.5.dist-info``), else its metadata. ``importlib.metadata``
    (email, zipfile, csv) costs ~0.6 MiB of a sidecar's resident memory on the first
    ``/healthz`` probe; the directory name does not."""
    spec = find_spec(package)
    for location in (spec.submodule_search_locations or ()) if spec is not None else ():
        prefix = f"{package}-"
        for entry in os.listdir(os.path.dirname(location)):
            if entry.startswith(prefix) and entry.endswith(".dist-info"):
                return entry[len(prefix):-len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def content_coding(accept_encoding: str) -> str | None:
    """The coding aiohttp picks for a compressed response: the first of ``deflate``,
    ``gzip`` named anywhere in ``Accept-Encoding`` (case-insensitive)."""
    wanted = accept_encoding.lower()
    return next((coding for coding in ("deflate", "gzip") if coding in wanted), None)
