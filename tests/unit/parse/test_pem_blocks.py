"""Issue 12 item 1: a private-key block (PEM, OpenSSH, PGP armor) is one multi-line record
from its BEGIN line to its END line, whatever precedes the marker, however it is wrapped,
and whatever the caps; no key line ever ships in a record of its own."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import pytest

from shipper.filters.redact import Redactor
from shipper.filters.settings import RedactSettings
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import MultilineSettings, ParseSettings

NOW = 1767225600.0
NEXT = "2026-01-02T10:00:01Z INFO next line"


def body(lines: int, seed: str = "k") -> list[str]:
    """Deterministic base64 key lines, 64 characters each (the last one padded)."""
    data = b"".join(hashlib.sha512(f"{seed}{n}".encode()).digest() for n in range(lines))
    text = base64.b64encode(data[: lines * 48 - 7]).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def block(kind: str = "RSA PRIVATE KEY", lines: int = 25, head: str = "",
          headers: tuple[str, ...] = ()) -> list[str]:
    return ([f"{head}-----BEGIN {kind}-----", *headers, *body(lines, kind),
             f"-----END {kind}-----"])


class Run:
    """One file parser with a clock the test moves."""

    def __init__(self, multiline: MultilineSettings | None = None,
                 runtime: str = "auto") -> None:
        self.now = NOW
        self.counts = ParseCounts()
        settings = ParseSettings(multiline=multiline or MultilineSettings())
        self.parser = FileParser("/logs/k.log", settings, self.counts, clock=lambda: self.now,
                                 runtime_format=runtime)  # type: ignore[arg-type]
        self.offset = 0

    def feed(self, lines: list[str]) -> list[dict[str, Any]]:
        batch = []
        for line in lines:
            raw = line.encode()
            batch.append((self.offset, raw))
            self.offset += len(raw) + 1
        return self.parser.feed(batch)

    def flush(self, force: bool = False) -> list[dict[str, Any]]:
        return self.parser.flush(self.now, force=force)


def records_of(lines: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    run = Run(**kwargs)
    return run.feed(lines) + run.flush(force=True)


def no_key_line_alone(records: list[dict[str, Any]], key: list[str]) -> None:
    """Every key line sits in a record whose message holds a BEGIN marker."""
    for line in key[1:]:
        holders = [r for r in records if line.strip() and line in r["message"].split("\n")]
        assert holders, line
        assert all("-----BEGIN" in r["message"] for r in holders), line


KINDS = [
    ("RSA PRIVATE KEY", ()), ("EC PRIVATE KEY", ()), ("PRIVATE KEY", ()),
    ("DSA PRIVATE KEY", ()), ("ENCRYPTED PRIVATE KEY", ()), ("OPENSSH PRIVATE KEY", ()),
    ("RSA PRIVATE KEY", ("Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,3F17F5316E2BAC89", "")),
    ("PGP PRIVATE KEY BLOCK", ("Version: GnuPG v2", "Comment: test", "")),
]


@pytest.mark.parametrize("kind, headers", KINDS, ids=[k + (" +headers" if h else "")
                                                     for k, h in KINDS])
def test_a_bare_block_is_one_record(kind: str, headers: tuple[str, ...]) -> None:
    """BEGIN line, armor headers, blank line, body lines starting with any base64
    character, END line: one record; the next log line is its own record."""
    key = block(kind, 30, headers=headers)
    if kind.startswith("PGP"):
        key.insert(-1, "=nPRh")  # the armor checksum line
    first, nxt = records_of([*key, NEXT])
    assert first["message"] == "\n".join(key)
    assert nxt["message"] == "next line"


PREFIXES = [
    "ERROR key=",
    "2026-01-02T10:00:00Z ERROR could not load key=",
    "2026-01-02 10:00:00,000 - app.tls - ERROR - bad key: ",
    "[2026-01-02 10:00:00,000] WARNING app - key ",
    'level=error msg="bad key" key="',
    '{"level":"error","msg":"key follows: ',  # a JSON logger that wrote raw newlines
]


@pytest.mark.parametrize("head", PREFIXES)
def test_whatever_comes_before_the_marker(head: str) -> None:
    """A log line that ends with the BEGIN marker (text, logfmt, a JSON line broken by
    the raw newlines of its value) opens the block; the record keeps the marker."""
    key = block(head=head)
    if head.endswith('"'):
        key[0] += '"'
    elif head.startswith("{"):
        key[-1] += '"}'
    first, nxt = records_of([*key, NEXT])
    assert first["message"].count("\n") == len(key) - 1
    assert "-----BEGIN RSA PRIVATE KEY-----" in first["message"].split("\n")[0]
    assert "-----END RSA PRIVATE KEY-----" in first["message"].split("\n")[-1]
    assert first["file"]["offset"] == 0 and nxt["message"] == "next line"
    no_key_line_alone([first, nxt], key)


def test_inside_a_python_traceback_and_a_go_panic() -> None:
    """The exception line that prints a key takes the key with it, and the traceback or
    the goroutine dump goes on after the END line."""
    key = block("EC PRIVATE KEY", 8)
    traceback = ["Traceback (most recent call last):", '  File "/app/tls.py", line 9, in load',
                 "    load_pem(data)", f"ValueError: bad key: {key[0]}", *key[1:]]
    panic = [f"panic: cannot parse {key[0]}", *key[1:], "",
             "goroutine 1 [running]:", "main.main()", "\t/app/main.go:12 +0x1d"]
    records = records_of([*traceback, NEXT, *panic, NEXT])
    assert [r["message"].count("\n") + 1 for r in records] == [
        len(traceback), 1, len(panic), 1]
    assert records[0]["level"] == "error" and records[2]["level"] == "critical"


def test_cri_pieces_and_docker_lines() -> None:
    """CRI-wrapped (each key line split into ``P`` + ``F`` pieces) and docker-wrapped
    blocks are one record too."""
    key = block(lines=12)
    cri = []
    for n, line in enumerate([*key, NEXT]):
        stamp = f"2026-01-02T10:00:00.{n:09d}Z stderr"
        cri += [f"{stamp} P {line[:20]}", f"{stamp} F {line[20:]}"]
    docker = [orjson.dumps({"log": line + "\n", "stream": "stdout",
                            "time": "2026-01-02T10:00:00.000000000Z"}).decode()
              for line in [*key, NEXT]]
    for lines in (cri, docker):
        first, nxt = records_of(lines)
        assert first["message"] == "\n".join(key) and nxt["message"] == "next line"


def test_max_lines_never_cuts_a_block() -> None:
    """``multiline.max_lines`` does not apply inside a key block."""
    key = block(lines=120)
    run = Run(MultilineSettings(max_lines=5))
    first, nxt = run.feed([*key, NEXT]) + run.flush(force=True)
    assert first["message"] == "\n".join(key) and nxt["message"] == "next line"
    assert run.counts.errors["multiline_capped"] == 0


def test_max_bytes_cuts_into_continuations_that_start_with_the_begin_line() -> None:
    """``multiline.max_bytes`` still bounds memory: the block goes on in continuation
    records whose message starts with the BEGIN line (``pem_continued``)."""
    key = block(lines=60)
    run = Run(MultilineSettings(max_bytes=1024))
    records = run.feed([*key, NEXT]) + run.flush(force=True)
    *parts, nxt = records
    assert len(parts) >= 3 and nxt["message"] == "next line"
    assert parts[0]["message"].startswith(key[0]) and "pem_continued" not in parts[0]["attributes"]
    for part in parts[1:]:
        assert part["message"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
        assert part["attributes"] == {"pem_continued": True}
        assert len(part["message"]) <= 1024 + 64
    joined = [line for part in parts for line in part["message"].split("\n")[1:]]
    assert joined == key[1:]  # every key line once, in order
    assert run.counts.errors["multiline_capped"] == len(parts) - 1


def test_a_flush_inside_a_block_and_more_key_lines_after_it() -> None:
    """A writer that pauses mid-key: the part held is flushed after ``flush_after``,
    and the key lines that follow still join a record that starts with BEGIN."""
    key = block(lines=10)
    run = Run()
    assert run.feed(key[:4]) == []
    run.now += 5
    (first,) = run.flush()
    rest = run.feed([*key[4:], NEXT]) + run.flush(force=True)
    assert first["message"] == "\n".join(key[:4])
    cont, nxt = rest
    assert cont["message"] == "\n".join([key[0], *key[4:]])
    assert cont["attributes"] == {"pem_continued": True} and nxt["message"] == "next line"
    assert cont["file"]["offset"] > first["file"]["offset"]
    assert sum(run.counts.formats.values()) == 3


def test_a_block_without_end_is_one_record_at_shutdown() -> None:
    """No END line: the forced flush (shutdown, file closed) ships the block whole."""
    key = block(lines=10)[:-1]
    (record,) = records_of(key)
    assert record["message"] == "\n".join(key)


def test_a_truncated_block_does_not_swallow_the_log_after_it() -> None:
    """A line that cannot be in a key ends the block: later lines are records again."""
    key = block(lines=6)[:-1]
    records = records_of([*key, NEXT, "plain words here", "QUJD"])
    assert [r["message"].split("\n")[0] for r in records] == [
        key[0], "next line", "plain words here", "QUJD"]


def test_a_json_line_between_flush_and_key_lines_ends_the_block() -> None:
    """After a flush, a JSON record in between means the block is over."""
    run = Run()
    run.feed(block(lines=4)[:3])
    run.now += 5
    run.flush()
    records = run.feed(['{"msg": "other"}', "QUJD"]) + run.flush(force=True)
    assert [r["message"] for r in records] == ["other", "QUJD"]


def test_begin_and_end_on_one_line_is_not_a_block() -> None:
    """A key printed on one line (escaped newlines, or a valid JSON object, whose
    newlines are always escaped) opens nothing: the next line is a record as before."""
    one_line = '{"msg": "k", "key": "-----BEGIN RSA PRIVATE KEY-----\\nQUJD\\n-----END RSA PRIVATE KEY-----"}'
    begin_only = '{"msg": "j", "key": "-----BEGIN RSA PRIVATE KEY-----"}'
    text = "key -----BEGIN EC PRIVATE KEY----- QUJD -----END EC PRIVATE KEY-----"
    records = records_of([one_line, "QUJD", begin_only, "QUJD", text, "QUJD", NEXT])
    assert [r["message"].split(" ")[0] for r in records] == [
        "k", "QUJD", "j", "QUJD", "key", "QUJD", "next"]


@pytest.mark.parametrize("kind, headers", [k for k in KINDS if not k[0].startswith("PGP")])
def test_redaction_covers_every_key_line(kind: str, headers: tuple[str, ...]) -> None:
    """With the record whole, the built-in ``private_key`` rule removes every key line
    (PGP blocks depend on the rule learning ``PGP PRIVATE KEY BLOCK``)."""
    key = block(kind, 40, head="ERROR key=", headers=headers)
    redactor = Redactor(RedactSettings())
    records = records_of([*key, NEXT], multiline=MultilineSettings(max_bytes=1500))
    assert len(records) > 2  # cut by max_bytes: continuations must be redacted too
    for record in records:
        redactor.redact_record(record)
    shipped = orjson.dumps(records).decode()
    assert all(line not in shipped for line in body(40, kind))
