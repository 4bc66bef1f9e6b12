"""What to do with each entry of a push Loki answered ``400`` for part of.

:func:`settle` sorts the entries of a :class:`~shipper.sinks.loki_push.LokiPayload` by
what Loki's refusal (:mod:`shipper.sinks.loki_refusals`) says: taken (delivered), to send
again (too far behind: at the stream's newest timestamp per ``out_of_order_action``; too
new: at the current time; once per entry), dropped (``out_of_order_action: drop``) or
refused for good (dead-lettered, with Loki's reason). ``None``: the refusal names nothing
of this payload, and the whole payload is refused as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipper.sinks.loki_order import NS, Entry, OrderPolicy
from shipper.sinks.loki_push import LokiPayload, LokiStream
from shipper.sinks.loki_refusals import Behind, Invalid, Refusal


@dataclass
class Settlement:
    accepted: list[Entry] = field(default_factory=list)
    resend: list[Entry] = field(default_factory=list)
    dropped: list[Entry] = field(default_factory=list)
    dead: list[tuple[Entry, str]] = field(default_factory=list)


def _stream_of(payload: LokiPayload, labels: dict[str, str]) -> LokiStream | None:
    """The payload's stream Loki names (its own ``__stream_shard__``-like labels aside)."""
    own = {k: v for k, v in labels.items() if not k.startswith("__")}
    for stream in payload.streams:
        if stream.labels == own:
            return stream
    return None


def _ignored(stream: LokiStream, behind: Behind) -> list[Entry] | None:
    """The entries Loki ignored: the first ``count`` when it saw the whole stream; when it
    saw part of it (a shard of a stream Loki split), those before the cutoff (given to the
    second: an entry within that second counts as ignored, sent again rather than lost)."""
    if behind.total == len(stream.entries):
        return stream.entries[:behind.count]
    if behind.cutoff_ns is None or not behind.ordering:
        return None
    return [e for e in stream.entries if e.ns < behind.cutoff_ns + NS]


def settle(payload: LokiPayload, refusal: Refusal, policy: OrderPolicy) -> Settlement | None:
    refused: dict[int, str] = {}  # id(entry) -> why
    out = Settlement()
    if refusal.behind is not None:
        stream = _stream_of(payload, refusal.behind.stream)
        ignored = _ignored(stream, refusal.behind) if stream is not None else None
        if stream is None or not ignored:
            return None
        _behind(payload, stream, ignored, refusal.behind, policy, out, refused)
    else:
        for invalid in refusal.invalid:
            _invalid(payload, invalid, policy, out, refused)
    if not refused:
        return None
    out.accepted = [e for s in payload.streams for e in s.entries if id(e) not in refused]
    return out


def _behind(payload: LokiPayload, stream: LokiStream, entries: list[Entry], behind: Behind,
            policy: OrderPolicy, out: Settlement, refused: dict[int, str]) -> None:
    """``entries`` of ``stream`` were ignored (the stream is sorted, Loki refuses those
    older than its cutoff: they are its first ones)."""
    for entry in entries:
        refused[id(entry)] = behind.reason
    if not behind.ordering or policy.action == "accept":
        out.dead += [(e, behind.reason) for e in entries]
        return
    if policy.action == "drop":
        out.dropped += entries
        return
    key = (payload.tenant or "", stream.key)
    if behind.cutoff_ns is not None:  # Loki's newest: its cutoff + the window
        policy.streams.advance(key, behind.cutoff_ns + policy.behind_ns)
    newest = policy.streams.newest(key) or max(e.ns for e in stream.entries)
    again = [e for e in entries if not e.resent]
    out.dead += [(e, behind.reason) for e in entries if e.resent]
    policy.rewrite(again, newest)
    for entry in again:
        entry.resent += 1
    out.resend += again
    policy.streams.advance(key, again[-1].ns if again else newest)


def _invalid(payload: LokiPayload, invalid: Invalid, policy: OrderPolicy, out: Settlement,
             refused: dict[int, str]) -> None:
    stream = _stream_of(payload, invalid.stream)
    if stream is None:
        return
    for entry in stream.entries:
        if id(entry) in refused or not _names(invalid, entry):
            continue
        refused[id(entry)] = invalid.text
        if invalid.kind == "future" and not entry.resent:
            entry.move_to(int(policy.now() * NS))
            entry.resent += 1
            policy.counts["timestamp-clamped"] += 1
            out.resend.append(entry)
        else:
            out.dead.append((entry, invalid.text))


def _names(invalid: Invalid, entry: Entry) -> bool:
    if invalid.kind in ("future", "old"):
        return entry.ns == invalid.ts_ns
    if invalid.kind == "too-long":
        return len(entry.line.encode("utf-8")) == invalid.length
    return True  # the whole stream
