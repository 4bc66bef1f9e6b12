"""The forward sink against a Fluentd forward input: PackedForward and
CompressedPackedForward, EventTime, chunk acks, the shared_key handshake and user auth."""

from __future__ import annotations

import pytest

from shipper.errors import RetryableSinkError
from shipper.sinks.forward import ForwardSink
from shipper.sinks.settings import ForwardSinkSettings
from tests.receivers.forward import ForwardReceiver
from tests.receivers.harness import Recorder, make_record, new_metrics, ship

pytestmark = pytest.mark.integration


KEY = "fwd-shared-key-0123456789"
ONE_PER_BATCH = {"max_wait": 0.01, "max_records": 1}


def fwd(rx, metrics=None, state_dir=None, **overrides):
    cfg = {"url": rx.url, "tag": "app.video", "batch": {"max_wait": 0.01}, **overrides}
    return ForwardSink(ForwardSinkSettings(**cfg), metrics=metrics or new_metrics(),
                       sleep=Recorder(), state_dir=state_dir)


async def test_packed_forward_events_with_nanosecond_event_time_are_acked():
    async with ForwardReceiver() as rx:
        tokens = await ship(fwd(rx), [[make_record(i) for i in range(4)], [make_record(9)]])
    assert all(t.complete for t in tokens)
    assert [e.record["message"] for e in rx.events] == [f"frame {i} done" for i in (0, 1, 2, 3, 9)]
    assert {e.tag for e in rx.events} == {"app.video"}
    assert rx.events[1].time_ns == 1714557601001000000
    assert "raw 0" not in str(rx.events[0].record)  # the raw line stays home
    assert rx.errors == []


async def test_missing_ack_times_out_and_the_chunk_is_resent_once_stored():
    async with ForwardReceiver(drop_acks=1) as rx:
        sink = fwd(rx, timeout=0.2)
        tokens = await ship(sink, [[make_record(1), make_record(2)]])
    assert tokens[0].complete
    assert len(rx.events) == 2  # the resend has the same chunk id: stored once
    assert len(rx.chunks) == 1


async def test_unreachable_aggregator_is_retried_until_close_deadline():
    sink = ForwardSink(ForwardSinkSettings(url="tcp://127.0.0.1:1", batch={"max_wait": 0}),
                       metrics=new_metrics(), sleep=Recorder())
    tokens = await ship(sink, [[make_record(1)]], deadline=0.1)
    assert not tokens[0].complete


async def test_shared_key_handshake_then_gzip_compressed_chunks_are_acked():
    async with ForwardReceiver(shared_key=KEY) as rx:
        sink = fwd(rx, shared_key=KEY, compression="gzip", self_hostname="shipper-1")
        tokens = await ship(sink, [[make_record(i) for i in range(3)], [make_record(7)]])
    assert all(t.complete for t in tokens) and rx.errors == []
    assert rx.handshakes == [(True, "", "shipper-1")]  # one connection, kept alive
    assert rx.compressed_messages == len(rx.chunks) >= 1  # every message gzip, every one acked
    assert [e.record["message"] for e in rx.events] == [f"frame {i} done" for i in (0, 1, 2, 7)]


async def test_user_auth_is_answered_with_the_password_digest(tmp_path):
    (tmp_path / "pw").write_text("hunter2\n")
    async with ForwardReceiver(shared_key=KEY, users={"shipper": "hunter2"}) as rx:
        tokens = await ship(fwd(rx, shared_key=KEY, username="shipper",
                                password_file=tmp_path / "pw"), [[make_record(1)]])
    assert tokens[0].complete and len(rx.events) == 1 and rx.handshakes[0][0] is True


@pytest.mark.parametrize("server,client,reason", [
    ({"shared_key": "the-servers-key"}, {"shared_key": KEY}, "shared_key mismatch"),
    ({"shared_key": KEY, "users": {"shipper": "right"}},
     {"shared_key": KEY, "username": "shipper", "password": "wrong-pw"},
     "username/password mismatch"),
])
async def test_a_refused_handshake_is_fatal_logged_once_and_dead_lettered_without_secrets(
        tmp_path, caplog, server, client, reason):
    metrics = new_metrics()
    async with ForwardReceiver(**server) as rx:
        sink = fwd(rx, metrics=metrics, state_dir=tmp_path, batch=ONE_PER_BATCH, **client)
        tokens = await ship(sink, [[make_record(1)], [make_record(2)]])
    assert all(t.complete for t in tokens) and rx.events == []
    assert [h[:2] for h in rx.handshakes] == [(False, reason)] * 2
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and reason in errors[0].getMessage()
    assert "refused by the server" in errors[0].getMessage()
    dead = (tmp_path / "dead-letter" / "forward.ndjson").read_text()
    assert dead.count("\n") == 2 and reason in dead
    for secret in (KEY, "wrong-pw", "the-servers-key"):
        assert secret not in caplog.text and secret not in dead
    assert metrics.value("shipper_records_failed_total", sink="forward", reason="dead-letter") == 2


async def test_a_server_asking_for_a_handshake_without_a_key_configured_is_fatal(tmp_path):
    async with ForwardReceiver(shared_key=KEY) as rx:
        tokens = await ship(fwd(rx, state_dir=tmp_path), [[make_record(1)]])
    assert tokens[0].complete and rx.events == []
    assert "requires the shared_key handshake" in (
        tmp_path / "dead-letter" / "forward.ndjson").read_text()


async def test_keepalive_false_in_helo_closes_after_each_batch():
    async with ForwardReceiver(shared_key=KEY, keepalive=False) as rx:
        tokens = await ship(fwd(rx, shared_key=KEY, batch=ONE_PER_BATCH),
                            [[make_record(1)], [make_record(2)]])
    assert all(t.complete for t in tokens) and len(rx.events) == 2
    assert rx.connections == 2 and len(rx.handshakes) == 2 and rx.errors == []


async def test_a_server_without_a_handshake_times_out_saying_what_was_awaited():
    """A key is set but the server never sends HELO: retried, and the error says why."""
    async with ForwardReceiver() as rx:  # no shared_key: in_forward without <security>
        sink = fwd(rx, shared_key=KEY, timeout=0.2)
        await sink.start()
        with pytest.raises(RetryableSinkError, match="waiting for the server's HELO"):
            await sink.send(sink.encode([make_record(1)])[0])
        await sink.close(1.0)
    assert rx.events == []
