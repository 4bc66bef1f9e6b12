"""Multi-line records: which lines continue the pending record, and the capped joiner.

Continuations: indented lines, Python tracebacks (through the final exception line, with
chained ``During handling ...`` sections), Java traces (``\\tat``, ``Caused by:``,
``... N more``, a qualified ``...Exception: msg`` line), Go panics with their goroutine
dumps, PostgreSQL's ``DETAIL``/``HINT``/``STATEMENT``/``CONTEXT`` lines (and the lines of a
multi-line statement) after their record, blank lines inside a record (trailing ones are
trimmed), and private-key blocks
(:mod:`shipper.parse.pem`) through their END line, wherever they start.

Caps: ``max_lines`` does not cut a key block; ``max_bytes`` does, and then the rest of the
block goes on in a continuation record whose message starts with the block's BEGIN line
(``attributes.pem_continued: true``), so no key line ever ships in a record the redactor
cannot recognise. The same happens when a block is flushed (``flush_after``) before its
END line and more key lines follow.

A file with a user start pattern (``parse.multiline.start``) has a :class:`StartJoiner`
instead: the pattern decides which lines start a record; the caps and key blocks hold the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from shipper.parse.families.consoles import rich_repeat
from shipper.parse.families.servers import postgres_continuation, postgres_line
from shipper.parse.levels import level_word
from shipper.parse.pem import BEGIN_MARK, END_MARK, header, key_line
from shipper.record import Record

NONE, TRACEBACK, GO_PANIC, KEY_BLOCK, RUST_PANIC, RUST_TRACE, POSTGRES = 0, 1, 2, 3, 4, 5, 6
_SKELETON = ("timestamp", "level", "logger", "stream")
_TRACEBACK = "Traceback (most recent call last)"
_CHAINED = ("During handling of the above exception",
            "The above exception was the direct cause")
_PY_EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(?::(?: .*)?)?$", re.S)
_JAVA_EXCEPTION = re.compile(
    r"(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|$)")
#: lines that end a Go panic dump: a timestamp, JSON, logfmt (``time=...``), klog
_RECORD_START = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}|\{|\[\d{4}-|[A-Za-z_][\w.]*=|[IWEF]\d{4} \d")
#: a Ruby backtrace line as ``Logger`` prints an exception: ``app/x.rb:3:in 'foo'``
_RUBY_FRAME = re.compile(r"[^\s:]+\.rb:\d+:in [`']")
_RUST_PANIC = re.compile(r"thread '[^']*' panicked at ")


#: first characters of the lines ``start_state`` looks at (any other line: ``(None, NONE)``)
BLOCK_INITIALS = frozenset("TpfEt2")
#: first characters of a line that never continues a record in state ``NONE`` unless it
#: holds ``.rb:`` (a Ruby frame): not white space, no letter, ``_`` or ``$`` (``continues``)
_NEVER_ON = frozenset('!"#%&\'()*+,-./:;<=>?@[\\]^`{|}~')


def start_state(text: str) -> tuple[str | None, int]:
    """Level implied by a line that opens a multi-line block, and the block's state."""
    first = text[:1]
    if first == "T" and text.startswith(_TRACEBACK):
        return "error", TRACEBACK
    if first == "p" and text.startswith("panic: "):
        return "critical", GO_PANIC
    if first == "f" and text.startswith("fatal error: "):
        return "critical", GO_PANIC
    if first == "E" and text.startswith("Exception in thread "):
        return "error", NONE
    if first == "t" and _RUST_PANIC.match(text):  # TextParser gave it its level and fields
        return None, RUST_PANIC
    if first == "2" and ":  " in text and postgres_line(text):  # DETAIL/... may follow
        return None, POSTGRES
    return None, NONE


def continues(text: str, state: int) -> tuple[bool, int]:
    """Whether ``text`` belongs to the pending record, and the state after it."""
    first = text[:1]
    if state == NONE and (first == "{" or "0" <= first <= "9"):
        return False, NONE  # a JSON object or a timestamp: a new record
    if first == " " and text[20:21] > " " and rich_repeat(text):
        return False, NONE  # rich's next record, its time column left blank
    if first in (" ", "\t") or not text or text.isspace():
        return True, state
    if state == POSTGRES:
        return _postgres_continues(text, first)
    if text.startswith(_TRACEBACK) or text.startswith(_CHAINED):
        return True, TRACEBACK
    if state == TRACEBACK:
        return (True, NONE) if _PY_EXCEPTION.match(text) else (False, NONE)
    if text.startswith(("Caused by: ", "Suppressed: ")) or _JAVA_EXCEPTION.match(text):
        return True, state
    if state == GO_PANIC:
        if _RECORD_START.match(text) or level_word(text.partition(" ")[0]) is not None:
            return False, NONE
        return True, GO_PANIC
    if state in (RUST_PANIC, RUST_TRACE):  # the message, ``stack backtrace:``, frames, ...
        if text.startswith("note: "):
            return True, NONE
        if state == RUST_TRACE or _RECORD_START.match(text) or level_word(
                text.partition(" ")[0]) is not None:
            return False, NONE
        return True, RUST_TRACE if text.startswith("stack backtrace:") else RUST_PANIC
    if ".rb:" in text and _RUBY_FRAME.match(text):
        return True, state
    return False, NONE


def _postgres_continues(text: str, first: str) -> tuple[bool, int]:
    """After a PostgreSQL line: its ``DETAIL``/``HINT``/``STATEMENT``/``CONTEXT`` lines,
    and the further lines of a multi-line statement (no record start of their own)."""
    if "0" <= first <= "9":
        return (True, POSTGRES) if postgres_continuation(text) else (False, NONE)
    if first in ("{", "<", "[") or _RECORD_START.match(text) or level_word(
            text.partition(" ")[0]) is not None:
        return False, NONE
    return True, POSTGRES


class MultilineJoiner:
    """Holds one pending record and joins its continuation lines, within the caps."""

    # slots: the ``JsonLines`` kernel reads and sets the state through their members
    __slots__ = ("_max_lines", "_max_bytes", "_errors", "pending", "_parts", "_size",
                 "_state", "_outer", "_header", "dangling")

    def __init__(self, max_lines: int, max_bytes: int, errors: Counter[str]) -> None:
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._errors = errors
        self.pending: Record | None = None
        self._parts: list[str] | None = None
        self._size = 0
        self._state = NONE
        self._outer = NONE  # the state to go back to when a key block ends
        self._header: str | None = None  # BEGIN line of the open key block
        #: fields of a record taken while its key block was open (``resume``)
        self.dangling: Record | None = None

    def accepts(self, text: str) -> bool:
        """True when ``text`` continues the pending record (the state moves on)."""
        if self.pending is None:
            return False
        state = self._state
        if state == KEY_BLOCK:
            if key_line(text):
                return True
            state = self._close_block()  # not a key line: the block ended without END
        first = text[:1]
        if state == NONE and (first == "{" or "0" <= first <= "9" or (
                first in _NEVER_ON and ".rb:" not in text)):
            return False  # the common cases, as in ``continues``, without the call
        joined, self._state = continues(text, state)
        return joined

    def append(self, text: str, offset: int) -> Record | None:
        """Join ``text``; returns the pending record if the caps forced it out first."""
        parts = self._parts
        if parts is None:
            parts = self._parts = [self.pending["message"]]  # type: ignore[index]
        if (len(parts) >= self._max_lines and self._state != KEY_BLOCK) or (
                self._size + len(text) + 1 > self._max_bytes):
            self._errors["multiline_capped"] += 1
            return self._overflow(text, offset)
        parts.append(text)
        self._size += len(text) + 1
        self._after_line(text)
        return None

    def _after_line(self, text: str) -> None:
        """An END line closes the open key block; a BEGIN line opens one."""
        if self._state == KEY_BLOCK:
            if END_MARK in text:
                self._close_block()
        elif BEGIN_MARK in text:
            opened = header(text)
            if opened is not None:
                self._outer, self._state, self._header = self._state, KEY_BLOCK, opened

    def _close_block(self) -> int:
        self._state, self._outer, self._header = self._outer, NONE, None
        return self._state

    def _overflow(self, text: str, offset: int) -> Record:
        state, outer, opened = self._state, self._outer, self._header
        capped = self.take()
        if capped is None:  # pragma: no cover - append() is only called with a pending record
            raise ValueError("no pending record to cap")
        self.start(self._continuation(capped, text, offset, opened), outer if opened else state,
                   opened)
        self._after_line(text)
        return capped

    def _continuation(self, previous: Record, text: str, offset: int,
                      opened: str | None) -> Record:
        """A record that goes on where ``previous`` was cut; inside a key block its
        message starts with the block's BEGIN line."""
        record = Record({key: previous[key] for key in _SKELETON if key in previous})
        record.raw = text
        if opened is None:
            record.update(message=text, attributes={})
        else:
            record.update(message=f"{opened}\n{text}", attributes={"pem_continued": True})
        record["file"] = {**previous["file"], "offset": offset}
        return record

    def takes(self, text: str, offset: int, accepted: bool, formats: Counter[str],
              out: list[Record]) -> bool:
        """Whether ``text`` went into the pending record (``accepted``: the caller's rules
        say it continues it; a record the caps completed goes to ``out``) or into a key
        block going on after a flush; ``False``: it is a line of its own."""
        if accepted:
            capped = self.append(text, offset)
            if capped is not None:
                formats["text"] += 1
                out.append(capped)
            return True
        if self.dangling is not None and self.resume(text, offset) is not None:
            formats["text"] += 1  # a key block goes on after a flush
            return True
        return False

    def resume(self, text: str, offset: int) -> Record | None:
        """After a record was taken inside an open key block (``dangling``): a key line
        starts the block's continuation record (returned, now pending); any other line
        ends the block (``None``)."""
        previous, opened = self.dangling, self._header
        self.dangling, self._header = None, None
        if previous is None or opened is None or not key_line(text):
            return None
        self.start(self._continuation(previous, text, offset, opened), NONE, opened)
        self._after_line(text)
        return self.pending

    def start(self, record: Record, state: int,
              opened: str | None = None) -> Record | None:
        """Make ``record`` the pending one (inside the key block ``opened``, if given);
        returns the record it replaces (finished)."""
        previous = self.pending
        if previous is not None and (self._parts is not None or self._state == KEY_BLOCK):
            previous = self.take()  # else (one line, no key block) ``take`` only resets
            # ``pending`` and the state, both set below: a call saved on most text lines
        self.pending = record
        self._size = len(record["message"])
        if opened is not None:
            self._state, self._outer, self._header = KEY_BLOCK, state, opened
        else:
            self._state = state
            if self._header is not None:  # left from a block cut by a flush
                self._header = None
        self.dangling = None
        return previous

    def restart(self) -> None:
        """As new, for another file's lines (nothing of the last file is held: ``idle``)."""
        self.pending = self.dangling = self._parts = self._header = None
        self._size, self._state, self._outer = 0, NONE, NONE

    def take(self) -> Record | None:
        """The pending record with its lines joined by ``\\n`` (``None`` if none)."""
        record = self.pending
        if record is None:
            return None
        if self._parts is not None:
            record["message"] = "\n".join(self._parts).rstrip()
            self._parts = None
        if self._state == KEY_BLOCK:  # cut inside a key block: ``resume`` may go on
            self.dangling = record
        self.pending = None
        self._state = NONE
        return record


class StartJoiner(MultilineJoiner):
    """The joiner of a file with a start pattern (``parse.multiline.start``): once a line
    matched it (:attr:`seen`), every line that does not continues the pending record, in
    place of the built-in rules. Key blocks hold as in :class:`MultilineJoiner`: a key line
    inside an open block joins it even if it matches the pattern."""

    __slots__ = ("starts", "seen")

    def __init__(self, starts: Callable[[str], bool], max_lines: int, max_bytes: int,
                 errors: Counter[str]) -> None:
        super().__init__(max_lines, max_bytes, errors)
        self.starts = starts
        #: a line matched the pattern in this file: records are held and take the lines
        #: after them (before that, each line is a record of its own)
        self.seen = False

    def restart(self) -> None:
        """As new: the pattern not yet seen either."""
        super().restart()
        self.seen = False

    def accepts(self, text: str) -> bool:
        if self.pending is None:
            return False
        if self._state == KEY_BLOCK:
            if key_line(text):
                return True
            self._close_block()  # not a key line: the block ended without END
        return self.seen and not self.starts(text)
