"""Loki timestamps settled before sending: the bounded per-stream clock and the
``out_of_order_action`` / ``max_ahead`` policy."""

from __future__ import annotations

from shipper.sinks.loki_order import NS, Entry, OrderPolicy, StreamClock, rfc3339_nano
from shipper.sinks.settings import LokiSinkSettings

NOW = 1_714_557_600  # 2024-05-01T10:00:00Z
KEY = ("", '{app="a"}')


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def policy(clock: StreamClock | None = None, **kw) -> OrderPolicy:
    settings = LokiSinkSettings(url="http://127.0.0.1:3100", **kw)
    return OrderPolicy(settings, clock or StreamClock(100, 7200), lambda: float(NOW))


def entries(*seconds: float) -> list[Entry]:
    return [Entry(int(s * NS), f"line {i}", [], i) for i, s in enumerate(seconds)]


def test_stream_clock_keeps_the_newest_and_never_goes_back():
    clock = StreamClock(10, 60)
    clock.advance(KEY, 5 * NS)
    clock.advance(KEY, 3 * NS)
    assert clock.newest(KEY) == 5 * NS


def test_stream_clock_is_bounded_least_recently_used_first_and_counts_evictions():
    clock = StreamClock(2, 60)
    for name in ("a", "b"):
        clock.advance(("", name), NS)
    clock.newest(("", "a"))  # a read does not refresh; an advance does
    clock.advance(("", "a"), 2 * NS)
    clock.advance(("", "c"), NS)
    assert len(clock) == 2 and clock.newest(("", "b")) is None
    assert clock.newest(("", "a")) == 2 * NS and clock.forgotten == {"evicted": 1}


def test_stream_clock_forgets_a_stream_unseen_for_the_idle_time():
    now = Clock()
    clock = StreamClock(10, 60, now)
    clock.advance(KEY, NS)
    now.t = 59
    assert clock.newest(KEY) == NS
    now.t = 121
    assert clock.newest(KEY) is None and clock.forgotten == {"idle": 1}


def test_rewrite_sends_entries_too_far_behind_at_the_streams_newest_keeping_the_instant():
    p = policy()
    p.streams.advance(KEY, NOW * NS)
    late = entries(NOW - 7200, NOW - 7199, NOW - 1800)
    kept, dropped = p.settle(KEY, late)
    assert dropped == [] and len(kept) == 3
    assert kept[0].ns == (NOW - 1800) * NS and kept[0].meta == []  # within the hour: as is
    assert [e.ns for e in kept[1:]] == [NOW * NS, NOW * NS + 1]  # in order, 1 ns apart
    assert kept[1].meta == [("original_timestamp", "2024-05-01T08:00:00.000000000Z")]
    assert p.counts == {"timestamp-rewritten": 2}
    assert p.streams.newest(KEY) == NOW * NS + 1


def test_accept_sends_them_as_they_are_and_drop_leaves_them_out():
    for action, sent in (("accept", 2), ("drop", 1)):
        p = policy(out_of_order_action=action)
        p.streams.advance(KEY, NOW * NS)
        kept, dropped = p.settle(KEY, entries(NOW - 7200, NOW - 60))
        assert len(kept) == sent and len(dropped) == 2 - sent
        assert all(not e.meta for e in kept) and not p.counts


def test_a_stream_never_seen_takes_any_past_timestamp():
    p = policy()
    kept, _ = p.settle(KEY, entries(NOW - 86400, NOW - 7200))
    assert [e.ns // NS for e in kept] == [NOW - 86400, NOW - 7200] and not p.counts


def test_entries_more_than_max_ahead_in_the_future_are_sent_now_and_counted():
    p = policy()
    kept, _ = p.settle(KEY, entries(NOW + 3600, NOW + 300))
    assert [e.ns // NS for e in kept] == [NOW, NOW + 300]
    assert kept[0].meta == [("original_timestamp", rfc3339_nano((NOW + 3600) * NS))]
    assert p.counts == {"timestamp-clamped": 1}


def test_the_original_instant_is_recorded_once_when_an_entry_moves_twice():
    entry = entries(NOW - 7200)[0]
    entry.move_to(NOW * NS)
    entry.move_to(NOW * NS + 5)
    assert entry.meta == [("original_timestamp", "2024-05-01T08:00:00.000000000Z")]
