"""File identity: fingerprints of first bytes and file keys."""

from __future__ import annotations

from shipper.sources.identity import FINGERPRINT_BYTES, FileIdentity, fingerprint_of, parse_file_key


def test_fingerprint_waits_for_a_complete_first_line():
    """No fingerprint while the first line is short and unfinished (unless forced)."""
    assert fingerprint_of(b"partial") is None
    assert fingerprint_of(b"partial", force=True) is not None


def test_fingerprint_covers_only_the_first_line():
    """Appending lines never changes the fingerprint; another first line does."""
    assert fingerprint_of(b"first\n") == fingerprint_of(b"first\nsecond\n")
    assert fingerprint_of(b"first\n") != fingerprint_of(b"other\n")


def test_long_first_line_uses_the_first_bytes():
    """A first line longer than the window is fingerprinted on the window."""
    head = b"x" * FINGERPRINT_BYTES
    assert fingerprint_of(head) == fingerprint_of(head + b"more")


def test_file_key_round_trips():
    """``dev:ino:fingerprint`` parses back into the identity; junk does not."""
    ident = FileIdentity(64768, 1234, "abcd")
    assert parse_file_key(ident.key) == ident
    assert parse_file_key("nope") is None and parse_file_key("a:b:c") is None
