"""File identity: fingerprints of first bytes and file keys."""

from __future__ import annotations

from shipper.sources.identity import (
    CHECK_BYTES,
    FINGERPRINT_BYTES,
    FileIdentity,
    Witness,
    check_of,
    fingerprint_of,
    holds,
    parse_file_key,
    read_check,
)


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


def test_generation_keys_round_trip_and_gen_zero_is_the_plain_key():
    """A later content generation under the same dev/inode and first line gets
    ``:<n>``; ``:0`` is never written (the plain key is generation 0)."""
    ident = FileIdentity(1, 2, "ab", 3)
    assert ident.key == "1:2:ab:3" and parse_file_key("1:2:ab:3") == ident
    assert FileIdentity(1, 2, "ab").key == "1:2:ab"
    assert parse_file_key("1:2:ab:0") is None and parse_file_key("1:2::") is None


def test_witness_checks_the_bytes_before_an_offset(tmp_path):
    """``holds``: the same bytes before the offset (at most CHECK_BYTES of them) and,
    for the same file, not shorter than it was; a copy only needs the bytes."""
    import os

    path = tmp_path / "a.log"
    data = b"".join(b"line %d\n" % i for i in range(500))
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        at = len(data) - 700
        w = Witness(at, check_of(data[:at]), len(data))
        assert read_check(fd, at) == w.check and holds(fd, len(data), w)
        assert not holds(fd, len(data) - 1, w)  # shrank: another generation
        assert holds(fd, at, w, same_file=False)  # a copy that ends there
        assert read_check(fd, len(data) + 10) is None
        assert check_of(data[:at]) == check_of(data[at - CHECK_BYTES:at])
        other = Witness(at, check_of(b"x" + data[1:at]), len(data))
        assert holds(fd, len(data), other) is (CHECK_BYTES < at)  # only the window counts
    finally:
        os.close(fd)
