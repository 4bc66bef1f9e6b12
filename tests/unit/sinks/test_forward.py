"""Forward encoding (pure): PackedForward and CompressedPackedForward layout, EventTime ext
type 0, chunk option; the client side of the HELO/PING/PONG handshake."""

from __future__ import annotations

import gzip
import hashlib
import struct

import msgpack
import pytest
from pydantic import ValidationError

from shipper.errors import FatalSinkError, RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks.forward import ForwardSink, event_time
from shipper.sinks.forward_auth import Credentials, Handshake
from shipper.sinks.settings import ForwardSinkSettings
from tests.receivers.harness import make_record


def sink(**kw):
    return ForwardSink(ForwardSinkSettings(tag="t", **kw), metrics=Metrics(collectors=False))


def test_event_time_is_ext_0_with_big_endian_seconds_and_nanos():
    ext = event_time(1714557600_123456789)
    assert ext.code == 0 and ext.data == struct.pack(">II", 1714557600, 123456789)


def test_packed_forward_message_layout_and_deterministic_chunk_id():
    s = sink()
    payload = s.encode([make_record(1), make_record(2)])[0]
    tag, entries, options = msgpack.unpackb(payload.body, raw=False)
    assert tag == "t" and isinstance(entries, bytes)
    assert options == {"size": 2, "chunk": payload.batch_id}
    events = list(msgpack.Unpacker(__import__("io").BytesIO(entries), raw=False))
    assert [e[1]["message"] for e in events] == ["frame 1 done", "frame 2 done"]
    assert all(isinstance(e[0], msgpack.ExtType) for e in events)
    assert b"raw 1" not in entries and b"raw 2" not in entries  # the raw lines stay home
    assert s.encode([make_record(1), make_record(2)])[0].batch_id == payload.batch_id


def test_no_chunk_option_without_acks():
    payload = sink(require_ack=False).encode([make_record(1)])[0]
    assert msgpack.unpackb(payload.body, raw=False)[2] == {"size": 1}


# --- CompressedPackedForward ------------------------------------------------------------
def test_gzip_sends_compressed_packed_forward_with_the_same_entries_and_chunk_id():
    records = [make_record(1), make_record(2)]
    plain = sink().encode(records)[0]
    packed = sink(compression="gzip").encode(records)[0]
    tag, entries, options = msgpack.unpackb(packed.body, raw=False)
    assert isinstance(entries, bytes) and options["compressed"] == "gzip"
    assert gzip.decompress(entries) == msgpack.unpackb(plain.body, raw=False)[1]
    assert packed.batch_id == plain.batch_id and options["chunk"] == plain.batch_id
    assert options["size"] == 2 and packed.raw_bytes == plain.raw_bytes


# --- the handshake (Forward Protocol Specification v1) ----------------------------------
def sha512_hex(*parts: bytes) -> str:
    return hashlib.sha512(b"".join(parts)).hexdigest()


CREDS = Credentials(b"s3cret-key", "shipper-pod-1")


def test_ping_carries_the_spec_digest_of_salt_hostname_nonce_and_key():
    shake = Handshake(CREDS, "fwd")
    ping = shake.ping(["HELO", {"nonce": b"\x01nonce", "auth": b"", "keepalive": True}])
    assert ping[:2] == ["PING", "shipper-pod-1"] and ping[4:] == ["", ""]
    salt = ping[2].encode()
    assert len(salt) == 32 and ping[3] == sha512_hex(salt, b"shipper-pod-1", b"\x01nonce",
                                                     b"s3cret-key")
    assert Handshake(CREDS, "fwd").salt != shake.salt  # a fresh salt per connection


def test_ping_answers_user_auth_with_the_password_digest():
    creds = Credentials(b"k", "me", "alice", b"pw")
    ping = Handshake(creds, "fwd").ping(["HELO", {"nonce": "n", "auth": b"AUTHSALT"}])
    assert ping[4:] == ["alice", sha512_hex(b"AUTHSALT", b"alice", b"pw")]
    with pytest.raises(FatalSinkError, match="requires user authentication"):
        Handshake(CREDS, "fwd").ping(["HELO", {"nonce": b"n", "auth": b"AUTHSALT"}])


def test_a_pong_is_checked_for_result_hostname_and_the_servers_own_digest():
    shake = Handshake(CREDS, "fwd")
    shake.ping(["HELO", {"nonce": b"N", "auth": "", "keepalive": False}])
    assert shake.keepalive is False
    good = sha512_hex(shake.salt, b"agg", b"N", b"s3cret-key")
    shake.check_pong(["PONG", True, "", "agg", good])
    bad = [(["PONG", False, "shared_key mismatch", "", ""], "refused by the server: shared_key"),
           (["PONG", True, "", "agg", sha512_hex(shake.salt, b"agg", b"N", b"other")],
            "does not match our shared_key"),
           (["PONG", True, "", "shipper-pod-1", good], "our own hostname"),
           (["PONG", True], "malformed PONG"), ({"ack": "x"}, "malformed PONG")]
    for pong, message in bad:
        with pytest.raises(FatalSinkError, match=message) as info:
            shake.check_pong(pong)
        assert "s3cret" not in str(info.value)


def test_anything_but_a_helo_first_is_refused():
    for helo in ({"ack": "x"}, ["PONG", {}], ["HELO", "nonce"], ["HELO", {"nonce": 5}]):
        with pytest.raises(FatalSinkError):
            Handshake(CREDS, "fwd").ping(helo)


def test_settings_keep_secrets_secret_and_refuse_user_auth_without_a_key():
    settings = ForwardSinkSettings(shared_key="s3cret-key", username="u", password="pw")
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
    assert settings.self_hostname  # defaults to this host's name
    with pytest.raises(ValidationError, match="set shared_key"):
        ForwardSinkSettings(username="u", password="pw")
    with pytest.raises(ValidationError, match="password without username"):
        ForwardSinkSettings(shared_key="k", password="pw")
    with pytest.raises(ValidationError, match="compression"):
        ForwardSinkSettings(compression="zstd")


def test_a_helo_instead_of_an_ack_means_the_server_wants_a_key_we_do_not_have():
    with pytest.raises(FatalSinkError, match="set shared_key"):
        sink().classify_ack(["HELO", {"nonce": b"n"}], "chunk")
    with pytest.raises(RetryableSinkError):
        sink().classify_ack({"ack": "other"}, "chunk")


def test_credentials_never_show_their_secrets():
    creds = Credentials(b"s3cret-key", "me", "alice", b"pw-secret")
    shake = Handshake(creds, "fwd")
    for text in (repr(creds), repr(shake), str(shake)):
        assert "s3cret" not in text and "pw-secret" not in text
