"""The dead-letter file is private like the rest of the state dir: 0600 in a 0700
directory, also when either existed before with a wider mode."""

from __future__ import annotations

import os
import stat

from shipper.errors import FatalSinkError
from shipper.sinks.deadletter import DeadLetter


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_new_dead_letter_file_is_owner_only(tmp_path):
    dead = DeadLetter(tmp_path, "http", 1 << 20)
    old = os.umask(0o022)
    try:
        assert await dead.write([{"message": "m"}], FatalSinkError("HTTP 400", sink="http", status=400))
    finally:
        os.umask(old)
    assert mode(dead.path) == 0o600 and mode(dead.path.parent) == 0o700
    assert b'"status":400' in dead.path.read_bytes()


async def test_existing_wide_file_and_directory_are_narrowed(tmp_path):
    dead = DeadLetter(tmp_path, "http", 1 << 20)
    dead.path.parent.mkdir(mode=0o755)
    os.chmod(dead.path.parent, 0o755)
    dead.path.write_bytes(b'{"old": 1}\n')
    os.chmod(dead.path, 0o644)
    assert await dead.write([{"message": "m"}], FatalSinkError("HTTP 400", sink="http", status=400))
    assert mode(dead.path) == 0o600 and mode(dead.path.parent) == 0o700
    assert dead.path.read_bytes().startswith(b'{"old": 1}\n{"sink":"http"')


async def test_full_file_still_narrowed_and_refused(tmp_path):
    dead = DeadLetter(tmp_path, "http", 16)
    dead.path.parent.mkdir()
    dead.path.write_bytes(b"x" * 16)
    os.chmod(dead.path, 0o666)
    assert not await dead.write([{"message": "m"}], FatalSinkError("HTTP 400", sink="http", status=400))
    assert mode(dead.path) == 0o600 and dead.path.read_bytes() == b"x" * 16


async def test_reason_echoing_a_secret_is_redacted(tmp_path):
    """A backend's error text may echo what it got (a key): the reason is scrubbed."""
    dead = DeadLetter(tmp_path, "http", 1 << 20)
    key = "sk_live_" + "aB3" * 8
    assert await dead.write([{"message": "m"}],
                            FatalSinkError(f"HTTP 400: bad key {key}", sink="http", status=400))
    text = dead.path.read_text()
    assert key not in text and "bad key [REDACTED]" in text
