"""The client side of the forward protocol v1 handshake (HELO, PING, PONG), pure.

As the Fluentd Forward Protocol Specification v1 says:

* the server opens with ``["HELO", {"nonce": n, "auth": salt_or_empty, "keepalive": bool}]``;
* the client answers ``["PING", client_hostname, shared_key_salt,
  sha512_hex(shared_key_salt + client_hostname + nonce + shared_key), username,
  sha512_hex(auth_salt + username + password)]`` (the last two empty when ``auth`` is);
* the server answers ``["PONG", auth_result, reason, server_hostname,
  sha512_hex(shared_key_salt + server_hostname + nonce + shared_key)]``, and closes the
  connection when ``auth_result`` is false.

The client checks the PONG digest too (the server proves it knows the key), and, as
Fluentd's ``out_forward`` does, refuses a server that claims the client's own hostname.
Every failure is :class:`~shipper.errors.FatalSinkError`: a configuration problem that no
retry fixes. Messages never contain a key, a password or a digest.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from shipper.errors import FatalSinkError

#: longest server ``reason`` quoted in an error
_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class Credentials:
    """The handshake's secrets; ``repr`` leaves them out."""

    shared_key: bytes = field(repr=False)
    hostname: str
    username: str = ""
    password: bytes = field(default=b"", repr=False)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(type(value).__name__)


def hexdigest(*parts: bytes) -> str:
    digest = hashlib.sha512()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


@dataclass(slots=True)
class Handshake:
    """One connection's handshake; :meth:`ping` answers the HELO, :meth:`check_pong`
    accepts or refuses the server."""

    creds: Credentials
    sink: str
    salt: bytes = field(default_factory=lambda: secrets.token_hex(16).encode("ascii"))
    nonce: bytes = b""
    keepalive: bool = True

    def ping(self, helo: Any) -> list[Any]:
        """The PING answering ``helo`` (refuses anything that is not a HELO)."""
        if not (isinstance(helo, list) and len(helo) == 2 and helo[0] == "HELO"
                and isinstance(helo[1], dict)):
            raise FatalSinkError("forward handshake: the server did not open with HELO "
                                 "(is shared_key set on the server?)", sink=self.sink)
        options = helo[1]
        try:
            self.nonce = _as_bytes(options.get("nonce", b""))
            auth_salt = _as_bytes(options.get("auth") or b"")
        except TypeError:
            raise FatalSinkError("forward handshake: malformed HELO", sink=self.sink) from None
        self.keepalive = options.get("keepalive", True) is not False
        creds = self.creds
        host = creds.hostname.encode("utf-8")
        ping: list[Any] = ["PING", creds.hostname, self.salt.decode("ascii"),
                           hexdigest(self.salt, host, self.nonce, creds.shared_key)]
        if not auth_salt:
            return [*ping, "", ""]
        if not creds.username:
            raise FatalSinkError("forward handshake: the server requires user authentication; "
                                 "set username and password", sink=self.sink)
        user = creds.username.encode("utf-8")
        return [*ping, creds.username, hexdigest(auth_salt, user, creds.password)]

    def check_pong(self, pong: Any) -> None:
        """Return when the server accepted us and proved it holds the same key."""
        if not (isinstance(pong, list) and len(pong) == 5 and pong[0] == "PONG"):
            raise FatalSinkError("forward handshake: malformed PONG", sink=self.sink)
        _, accepted, reason, server_host, digest = pong
        if accepted is not True:
            said = str(reason)[:_REASON_CHARS] or "no reason given"
            raise FatalSinkError(f"forward handshake refused by the server: {said} (check "
                                 "shared_key, username and password)", sink=self.sink)
        if not isinstance(server_host, str) or server_host == self.creds.hostname:
            raise FatalSinkError("forward handshake: the server claims our own hostname "
                                 "(self_hostname): invalid configuration", sink=self.sink)
        expected = hexdigest(self.salt, server_host.encode("utf-8"), self.nonce,
                             self.creds.shared_key)
        if not isinstance(digest, str) or not secrets.compare_digest(digest, expected):
            raise FatalSinkError("forward handshake: the server's PONG digest does not match "
                                 "our shared_key (a different key on the server)", sink=self.sink)
