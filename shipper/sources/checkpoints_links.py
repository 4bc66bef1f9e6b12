"""What the checkpoint store knows beyond delivered offsets: witnesses of chunks still in
flight, and copies whose checkpoint follows their source.

:class:`PendingWitnesses` holds, per file, the witnesses the tailer noted for emitted
chunks until a delivered offset reaches them (bounded per file and in all).
:class:`Handovers` ties a copytruncate copy to the file it copies (see
``CheckpointStore.handover``): until the source's deliveries reach the hand-over offset,
the copy's checkpoint is the source's; the copy's own progress is remembered meanwhile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from shipper.sources.checkpoints_format import CheckpointEntry
from shipper.sources.identity import Witness

#: witnesses kept per file while its chunks wait for delivery (the oldest go first)
MAX_PENDING_WITNESSES = 1024
#: witnesses kept in all (the file noted longest ago loses its queue first)
MAX_PENDING_TOTAL = 65_536


class PendingWitnesses:
    """Witnesses of emitted chunk ends, by file key, oldest first."""

    def __init__(self, max_files: int) -> None:
        self._max_files = max_files
        self._queues: dict[str, deque[Witness]] = {}
        self._total = 0

    def note(self, file_key: str, witness: Witness) -> None:
        queue = self._queues.get(file_key)
        if queue is None:
            if len(self._queues) >= self._max_files:
                self.drop(next(iter(self._queues)))
            queue = self._queues[file_key] = deque(maxlen=MAX_PENDING_WITNESSES)
        if len(queue) < MAX_PENDING_WITNESSES:
            self._total += 1
        queue.append(witness)
        while self._total > MAX_PENDING_TOTAL:
            self.drop(next(iter(self._queues)))

    def take(self, file_key: str, offset: int, fallback: bool) -> Witness | None:
        """The witness of the highest noted offset at or below ``offset`` (those are
        used up); with ``fallback``, else the next one above (kept): the file held
        that a little further on, so resuming needs it to still hold it."""
        queue = self._queues.get(file_key)
        if not queue:
            return None
        best = None
        while queue and queue[0].at <= offset:
            best = queue.popleft()
            self._total -= 1
        if best is None and fallback and queue:
            return queue[0]
        if not queue:
            del self._queues[file_key]
        return best

    def drop(self, file_key: str) -> None:
        queue = self._queues.pop(file_key, None)
        if queue is not None:
            self._total -= len(queue)

    def __len__(self) -> int:
        return self._total


@dataclass(slots=True)
class _Link:
    source: str
    #: the copy's witness at the hand-over offset
    there: Witness
    #: the copy's own delivered offset (and witness) while the source still leads
    own: tuple[int, Witness | None] | None = None


class Handovers:
    """Copies whose checkpoint follows their source up to the hand-over offset."""

    def __init__(self) -> None:
        self._links: dict[str, _Link] = {}
        self._copies_of: dict[str, set[str]] = {}

    def add(self, source: str, copy_key: str, there: Witness) -> None:
        self.drop(copy_key)
        self._links[copy_key] = _Link(source, there)
        self._copies_of.setdefault(source, set()).add(copy_key)

    def own_progress(self, copy_key: str, offset: int, witness: Witness | None) -> bool:
        """Remember a linked copy's own delivered offset; ``False`` if not linked."""
        link = self._links.get(copy_key)
        if link is None:
            return False
        link.own = (offset, witness or (link.own[1] if link.own else None))
        return True

    def pass_on(self, source: CheckpointEntry,
                entry_of: Callable[[str], CheckpointEntry | None]) -> None:
        """The source's delivered offset moved: move its copies' checkpoints with it."""
        for copy_key in list(self._copies_of.get(source.key, ())):
            link, entry = self._links[copy_key], entry_of(copy_key)
            if entry is None:
                self.drop(copy_key)
            elif source.offset >= link.there.at:
                entry.encoded, own = None, link.own
                if own is not None and own[0] >= link.there.at:
                    entry.offset, entry.witness = own[0], own[1] or link.there
                else:
                    entry.offset, entry.witness = link.there.at, link.there
                self.drop(copy_key)
            elif source.offset > entry.offset or entry.witness is None:
                w, entry.encoded = source.witness, None
                entry.offset = source.offset
                entry.witness = None if w is None else Witness(w.at, w.check, link.there.size)

    def drop(self, key: str) -> None:
        """Forget ``key`` as a copy and as a source."""
        link = self._links.pop(key, None)
        if link is not None:
            copies = self._copies_of.get(link.source)
            if copies is not None:
                copies.discard(key)
                if not copies:
                    del self._copies_of[link.source]
        for copy_key in list(self._copies_of.get(key, ())):
            self.drop(copy_key)

    def __len__(self) -> int:
        return len(self._links)
