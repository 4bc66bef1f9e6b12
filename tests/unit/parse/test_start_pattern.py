"""``parse.multiline.start``: a user's start pattern decides where a record begins in a
file of a layout the shipper does not know (issue 16, last item). Lines matching it start
a record (parsed as any line), every other line continues it within the caps, lines before
the first match are records of their own, and private-key blocks still never split."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from shipper.filters.redact import Redactor
from shipper.filters.settings import RedactSettings
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import MultilineSettings, ParseSettings
from shipper.parse.start_pattern import StartPattern, start_pattern_for
from tests.unit.parse.test_pem_blocks import block, body, no_key_line_alone

NOW = 1767225600.0
LEVELS = r"^(INFO|WARN|ERROR) "


class Run:
    """One file parser for ``path`` with a start pattern and a clock the test moves."""

    def __init__(self, pattern: str | None = LEVELS, path: str = "/logs/batch/job.log",
                 runtime: str = "auto", **multiline: Any) -> None:
        self.now = NOW
        self.counts = ParseCounts()
        start = {"batch/*.log": pattern} if pattern is not None else {}
        settings = ParseSettings(multiline=MultilineSettings(start=start, **multiline))
        self.parser = FileParser(path, settings, self.counts, clock=lambda: self.now,
                                 runtime_format=runtime)  # type: ignore[arg-type]
        self.offset = 0
        self.offsets: list[int] = []

    def feed(self, lines: list[str]) -> list[dict[str, Any]]:
        batch = []
        for line in lines:
            raw = line.encode()
            batch.append((self.offset, raw))
            self.offsets.append(self.offset)
            self.offset += len(raw) + 1
        return self.parser.feed(batch)

    def flush(self, force: bool = False) -> list[dict[str, Any]]:
        return self.parser.flush(self.now, force=force)


def records_of(lines: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    run = Run(**kwargs)
    return run.feed(lines) + run.flush(force=True)


def messages(records: list[dict[str, Any]]) -> list[str]:
    return [record["message"] for record in records]


# -- the pattern and its glob -------------------------------------------------------------

def test_the_pattern_is_searched_in_the_line_and_anchored_only_by_the_user() -> None:
    """Search semantics (as Vector and Filebeat): ``^`` anchors, a bare pattern matches
    anywhere; RE2 classes (``\\d``) and alternations work on str lines, non-ASCII too."""
    anchored, anywhere = StartPattern(r"^\d{2}:\d{2} "), StartPattern("BEGIN JOB")
    assert anchored.matches("10:00 started") and not anchored.matches("at 10:00 started")
    assert anywhere.matches(">> BEGIN JOB 7") and not anywhere.matches("begin job")
    assert not StartPattern(r"^\w+ ").matches("étape one")  # \w is ASCII in RE2
    assert StartPattern(r"^é[a-z]+ ").matches("étape one")
    assert StartPattern("^x").matches("x\ud800") and not StartPattern("^\\w").matches("\ud800")


def test_patterns_compare_by_text_and_reject_what_re2_cannot_run_in_linear_time() -> None:
    """Equal patterns are equal (a reload that changes nothing sees no change); look-around
    and back-references are refused with RE2's reason."""
    assert StartPattern("^a") == StartPattern("^a") and StartPattern("^a") != StartPattern("^b")
    assert len({StartPattern("^a"), StartPattern("^a")}) == 1
    for bad, reason in [("^(?=x)", "invalid perl operator"), (r"(a)\1", "invalid escape"),
                        ("^(a", "missing )")]:
        with pytest.raises(ValueError, match="RE2 syntax") as caught:
            StartPattern(bad)
        assert reason in str(caught.value)


def test_globs_match_the_path_or_its_tail_and_the_first_one_wins() -> None:
    starts = {"/var/log/app/legacy-*.log": StartPattern("^a"), "batch/*.log": StartPattern("^b"),
              "*.log": StartPattern("^c")}
    assert start_pattern_for("/var/log/app/legacy-1.log", starts) == StartPattern("^a")
    assert start_pattern_for("/data/run-1/batch/x.log", starts) == StartPattern("^b")
    assert start_pattern_for("/data/other.log", starts) == StartPattern("^c")
    assert start_pattern_for("/data/other.txt", starts) is None
    assert start_pattern_for("/data/other.log", {}) is None


# -- joining -------------------------------------------------------------------------------

def test_a_start_line_takes_every_following_line_until_the_next_start() -> None:
    """Lines the built-in rules would start a record with (a timestamp, a JSON object,
    a word) continue it; the start line is parsed as any line (level, message)."""
    lines = ["INFO step one", "2026-01-02 10:00:00 not a start here", '{"json": "inside"}',
             "plain words", "", "  indented", "ERROR step two failed", "reason: disk full",
             "WARN done"]
    run = Run()
    records = run.feed(lines) + run.flush(force=True)
    assert messages(records) == [
        "step one\n2026-01-02 10:00:00 not a start here\n{\"json\": \"inside\"}\nplain words\n"
        "\n  indented", "step two failed\nreason: disk full", "done"]
    assert [r["level"] for r in records] == ["info", "error", "warning"]
    assert [r["file"]["offset"] for r in records] == [run.offsets[0], run.offsets[6],
                                                       run.offsets[8]]
    assert [r.raw for r in records] == ["INFO step one", "ERROR step two failed",
                                            "WARN done"]
    assert run.counts.formats == {"text": 3}


def test_the_built_in_rules_do_not_apply_to_a_file_with_a_pattern() -> None:
    """An indented line that matches the pattern starts a record, and a traceback is
    just lines: only the pattern decides (the same lines without it: the built-in rules)."""
    lines = ["INFO a", "Traceback (most recent call last):", '  File "x.py", line 1',
             "ValueError: bad", "INFO b"]
    assert messages(records_of(lines, pattern=r"^(INFO|  File) ")) == [
        "a\nTraceback (most recent call last):", '  File "x.py", line 1\nValueError: bad', "b"]
    assert messages(records_of(lines, pattern=None)) == [
        "a\nTraceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad", "b"]


def test_lines_before_the_first_start_line_are_records_of_their_own_at_once() -> None:
    """The head of a file read from the middle, a banner: neither lost nor glued together,
    and not held (the feed returns them)."""
    run = Run()
    first = run.feed(["banner v1.2", "  config loaded", '{"msg": "json head", "k": 1}', ""])
    assert messages(first) == ["banner v1.2", "  config loaded", "json head"]
    assert first[2]["attributes"] == {"k": 1}  # parsed as JSON, as any line
    assert not run.parser.pending and run.counts.errors["empty_line"] == 1
    rest = run.feed(["INFO go", "detail"]) + run.flush(force=True)
    assert messages(rest) == ["go\ndetail"]


def test_a_json_line_is_ruled_by_the_pattern_too() -> None:
    """A JSON start line is parsed as JSON (fields kept) and takes the lines after it; a
    JSON line that does not match is text of the pending record."""
    lines = ['{"level": "error", "msg": "job failed", "job": 7}', "  at step 3",
             '{"msg": "not a start"}', '{"level": "info", "msg": "next"}']
    records = records_of(lines, pattern=r'^\{"level"')
    assert messages(records) == ['job failed\n  at step 3\n{"msg": "not a start"}', "next"]
    assert records[0]["level"] == "error" and records[0]["attributes"] == {"job": 7}


def test_a_file_the_glob_does_not_match_keeps_the_built_in_rules() -> None:
    lines = ["INFO a", "plain words", "  indented"]
    other = records_of(lines, path="/logs/other/job.log")
    assert messages(other) == ["a", "plain words\n  indented"]
    assert messages(records_of(lines)) == ["a\nplain words\n  indented"]


def test_the_pattern_applies_to_the_unwrapped_cri_line() -> None:
    """CRI ``P``/``F`` pieces are joined first; the pattern sees the line without the
    runtime prefix (which starts with a timestamp, never with a level word)."""
    def cri(n: int, text: str) -> list[str]:
        stamp, half = f"2026-01-02T10:00:0{n}.000000000Z stdout", len(text) // 2
        return [f"{stamp} P {text[:half]}", f"{stamp} F {text[half:]}"]

    lines = ["before the first start", "INFO step one", "continued here", "ERROR two"]
    wrapped = [piece for n, line in enumerate(lines) for piece in cri(n, line)]
    records = records_of(wrapped)
    assert messages(records) == ["before the first start", "step one\ncontinued here", "two"]
    assert [r["stream"] for r in records] == ["stdout"] * 3
    assert records[1]["timestamp"] == "2026-01-02T10:00:01.000Z"  # the wrapper's time


# -- caps, flush, offsets ---------------------------------------------------------------------

def test_max_lines_cuts_and_the_rest_goes_on_in_a_counted_continuation() -> None:
    lines = ["ERROR long", *[f"line {n}" for n in range(7)], "INFO next"]
    run = Run(max_lines=3)
    records = run.feed(lines) + run.flush(force=True)
    assert messages(records) == ["long\nline 0\nline 1", "line 2\nline 3\nline 4",
                                 "line 5\nline 6", "next"]
    assert [r["level"] for r in records[:3]] == ["error"] * 3  # the skeleton goes on
    assert [r["file"]["offset"] for r in records[1:3]] == [run.offsets[3], run.offsets[6]]
    assert run.counts.errors["multiline_capped"] == 2


def test_max_bytes_cuts_too() -> None:
    lines = ["ERROR big", *["x" * 40 for _ in range(10)], "INFO next"]
    run = Run(max_bytes=100)
    records = run.feed(lines) + run.flush(force=True)
    assert all(len(r["message"]) <= 100 for r in records)
    assert "\n".join(messages(records[:-1])).split("\n") == ["big", *lines[1:-1]]
    assert records[-1]["message"] == "next" and run.counts.errors["multiline_capped"] >= 2


def test_the_held_record_ships_after_flush_after_and_later_lines_keep_joining() -> None:
    """Quiet for ``flush_after``: the record ships; lines that arrive after it (a slow
    trace) are one held record, as the built-in rules do after a flush."""
    run = Run(flush_after=0.5)
    assert run.feed(["ERROR slow", "part 1"]) == []
    assert run.parser.pending_offset == run.offsets[0]
    run.now += 0.2
    assert run.flush() == []
    run.now += 0.4
    assert messages(run.flush()) == ["slow\npart 1"]
    assert run.parser.pending_offset is None
    later = run.feed(["part 2", "part 3", "INFO next"]) + run.flush(force=True)
    assert messages(later) == ["part 2\npart 3", "next"]


# -- private-key blocks -----------------------------------------------------------------------

def test_a_pattern_that_matches_key_lines_never_splits_a_block() -> None:
    """``^[A-Z]`` matches most base64 lines: inside an open block, key lines still join it;
    the block's record ends at the next start line after END."""
    key = block(lines=30, head="ERROR tls key=")
    records = records_of(["INFO a", *key, "after END, continues", "WARN b"], pattern="^[A-Z]")
    assert messages(records) == ["a", "\n".join([key[0].removeprefix("ERROR "), *key[1:],
                                                 "after END, continues"]), "b"]
    no_key_line_alone(records, key)


def test_a_block_before_the_first_start_line_is_one_record_and_glues_nothing_else() -> None:
    key = block(lines=8)
    records = records_of([*key, "stray line", "INFO go"])
    assert messages(records) == ["\n".join(key), "stray line", "go"]


def test_a_block_cut_by_max_bytes_or_a_flush_goes_on_with_its_begin_line() -> None:
    key = block(lines=60, head="ERROR key=")
    records = records_of([*key, "INFO next"], pattern="^[A-Z]", max_bytes=1024)
    assert len(records) >= 4 and records[-1]["message"] == "next"
    for part in records[1:-1]:
        assert part["message"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
        assert part["attributes"] == {"pem_continued": True}
    no_key_line_alone(records, key)
    run = Run(pattern="^[A-Z]")
    run.feed(key[:5])
    run.now += 5
    first = run.flush()
    rest = run.feed([*key[5:], "INFO next"]) + run.flush(force=True)
    assert rest[0]["message"] == "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *key[5:]])
    no_key_line_alone(first + rest, key)


def test_redaction_removes_every_key_line_of_a_file_with_a_pattern() -> None:
    """End to end with the redactor: no key line survives, cut or not."""
    key = block("EC PRIVATE KEY", 40, head="ERROR key=")
    redactor = Redactor(RedactSettings())
    records = records_of(["INFO a", *key, "INFO b"], pattern="^[A-Z]", max_bytes=1500)
    for record in records:
        redactor.redact_record(record)
    shipped = orjson.dumps(records).decode()
    assert all(line not in shipped for line in body(40, "EC PRIVATE KEY"))


def test_the_pattern_applies_to_the_docker_log_field() -> None:
    """Docker JSON lines: the pattern sees ``log`` without its newline, not the wrapper."""
    lines = [json.dumps({"log": f"{text}\n", "stream": "stderr",
                         "time": f"2026-01-02T10:00:0{n}.5Z"})
             for n, text in enumerate(["INFO a", "cont 1", "ERROR b", "cont 2"])]
    records = records_of(lines)
    assert messages(records) == ["a\ncont 1", "b\ncont 2"]
    assert [r["timestamp"] for r in records] == ["2026-01-02T10:00:00.500Z",
                                                 "2026-01-02T10:00:02.500Z"]
