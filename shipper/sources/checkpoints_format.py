"""The checkpoint file's format: versioned JSON, validated field by field on load, written
atomically (:func:`write_atomic`).

Version 2 (written now) stores per file its key, path, device/inode, first-line
fingerprint, delivered offset, times, and the :class:`~shipper.sources.identity.Witness`
of the bytes before the offset (``check_at``, ``check``, ``size``). Version 1 files (no
witness) load as entries without one: such an entry is resumed only on the same
device/inode with the same first line and a file at least as long as its offset (the
version 1 rules, minus the match by first line under another inode).

Nothing here trusts the file: a document that is not a checkpoint file at all raises
:class:`CorruptCheckpoints`; a single bad entry among good ones is dropped and reported
in the returned problems (the caller keeps the good ones and sets the original aside).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shipper.sources.identity import Witness, parse_file_key

VERSION = 2
READABLE_VERSIONS = (1, 2)
#: a checkpoint file larger than this is not read (10,000 entries take about 3 MB)
MAX_FILE_BYTES = 64 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")


class CorruptCheckpoints(ValueError):
    """The checkpoint file as a whole cannot be used."""


class BadEntry(ValueError):
    """One entry of the checkpoint file cannot be used (the message says why)."""


@dataclass(slots=True)
class CheckpointEntry:
    key: str
    path: str
    dev: int
    ino: int
    fingerprint: str
    offset: int
    updated: float
    retired: float | None = None
    witness: Witness | None = None
    #: the entry's JSON as :func:`serialise` last wrote it: whoever changes a field sets
    #: it to ``None`` (:meth:`CheckpointStore.set`, ``retire``, ``Handovers.pass_on``)
    encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)


def serialise(entries: list[CheckpointEntry], since: float | None) -> bytes:
    """The checkpoint file's bytes. It is made on the event loop at every save (the entries
    change there), as often as :mod:`shipper.saving` paces it, so only the entries
    changed since the last save are encoded again (:attr:`CheckpointEntry.encoded`, ~260
    bytes kept per entry): one busy file among 1,000 checkpointed ones costs 0.12 ms a
    save instead of 1.0 (encoding all of them). Entries are written by ``orjson``; a path
    it refuses (a file name that is not UTF-8: lone surrogates) by the standard library,
    escaped, and reads back the same."""
    head = b'{"version":%d,"files":[' % VERSION
    body = b",".join([e.encoded or _encode(e) for e in entries])
    tail = b"]}" if since is None else b'],"since":' + orjson.dumps(since) + b"}"
    return head + body + tail


def _encode(entry: CheckpointEntry) -> bytes:
    item = _item(entry)
    try:
        data = orjson.dumps(item)
    except TypeError:
        data = json.dumps(item).encode()
    entry.encoded = data
    return data


def _item(entry: CheckpointEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": entry.key, "path": entry.path, "dev": entry.dev, "ino": entry.ino,
        "fingerprint": entry.fingerprint, "offset": entry.offset, "updated": entry.updated,
        "retired": entry.retired}
    witness = entry.witness
    if witness is not None:  # (item assignments: ~20% faster than update() with keywords)
        item["check_at"], item["check"], item["size"] = witness.at, witness.check, witness.size
    return item


def parse(raw: bytes) -> tuple[dict[str, CheckpointEntry], float | None, list[str]]:
    """Entries, ``since`` and the problems of the entries that were dropped."""
    if len(raw) > MAX_FILE_BYTES:
        raise CorruptCheckpoints(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CorruptCheckpoints(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or doc.get("version") not in READABLE_VERSIONS:
        raise CorruptCheckpoints("unknown format or version")
    files = doc.get("files")
    if not isinstance(files, list):
        raise CorruptCheckpoints("no list of files")
    since = doc.get("since")
    if since is not None and not _is_time(since):
        raise CorruptCheckpoints("'since' is not a time")
    entries: dict[str, CheckpointEntry] = {}
    problems: list[str] = []
    for index, item in enumerate(files):
        try:
            entry = parse_entry(item)
        except BadEntry as exc:
            problems.append(f"entry {index}: {exc}")
            continue
        if entry.key in entries:
            problems.append(f"entry {index}: repeated key")
            continue
        entries[entry.key] = entry
    return entries, (float(since) if isinstance(since, (int, float)) and since else None), problems


_FIELDS = frozenset({"key", "path", "dev", "ino", "fingerprint", "offset", "updated",
                     "retired", "check_at", "check", "size"})
_WITNESS = ("check_at", "check", "size")


def parse_entry(item: Any) -> CheckpointEntry:
    """One validated entry (:class:`BadEntry` naming the first problem)."""
    if not isinstance(item, dict):
        raise BadEntry("not an object")
    unknown = set(item) - _FIELDS
    if unknown:
        raise BadEntry(f"unknown field {min(unknown)!r}")
    key, fingerprint = _text(item, "key"), _text(item, "fingerprint")
    path = _text(item, "path", empty=True)
    dev, ino, offset = _count(item, "dev"), _count(item, "ino"), _count(item, "offset")
    identity = parse_file_key(key)
    if identity is None or (identity.dev, identity.ino, identity.fingerprint) != (
            dev, ino, fingerprint):
        raise BadEntry("key does not match dev, ino and fingerprint")
    updated = _time(item, "updated")
    retired = None if item.get("retired") is None else _time(item, "retired")
    return CheckpointEntry(key, path, dev, ino, fingerprint, offset, updated, retired,
                           _witness(item))


def _witness(item: dict[str, Any]) -> Witness | None:
    present = [name for name in _WITNESS if item.get(name) is not None]
    if not present:
        return None
    if len(present) != len(_WITNESS):
        raise BadEntry("incomplete witness (check_at, check, size)")
    check = _text(item, "check")
    if len(check) != 32 or not set(check) <= _HEX:
        raise BadEntry("'check' is not a check")
    at, size = _count(item, "check_at"), _count(item, "size")
    if size < at:
        raise BadEntry("'size' below 'check_at'")
    return Witness(at, check, size)


def _text(item: dict[str, Any], name: str, *, empty: bool = False) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not (value or empty) or len(value) > 4096:
        raise BadEntry(f"{name!r} is not a string")
    return value


def _count(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    if type(value) is not int or value < 0:  # bool is an int: refused too
        raise BadEntry(f"{name!r} is not a non-negative integer")
    return value


def _time(item: dict[str, Any], name: str) -> float:
    value = item.get(name)
    if not isinstance(value, (int, float)) or not _is_time(value):
        raise BadEntry(f"{name!r} is not a time")
    return float(value)


def _is_time(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def write_atomic(path: Path, data: bytes) -> None:
    """temp file + fsync + rename + directory fsync (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        os.close(fd)
        tmp.unlink(missing_ok=True)  # a partial temp file must not hold the space
        raise
    os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
