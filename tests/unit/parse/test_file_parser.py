"""FileParser behaviour: bad input, truncation marks, multi-line caps and flushing,
runtime detection, partial pieces and counters."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts, runtime_format_for
from shipper.parse.settings import MultilineSettings, ParseSettings

NOW = 1767225600.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(settings: ParseSettings | None = None, runtime: str = "auto",
         clock: FakeClock | None = None) -> tuple[FileParser, ParseCounts]:
    counts = ParseCounts()
    parser = FileParser("/l/a.log", settings or ParseSettings(), counts,
                        clock=clock or FakeClock(), runtime_format=runtime)  # type: ignore[arg-type]
    return parser, counts


def numbered(*lines: bytes) -> list[tuple[int, bytes]]:
    out, offset = [], 0
    for raw in lines:
        out.append((offset, raw))
        offset += len(raw) + 1
    return out


def parse_all(*lines: bytes, **kwargs: object) -> tuple[list[dict], ParseCounts]:
    parser, counts = make(**kwargs)  # type: ignore[arg-type]
    return parser.feed(numbered(*lines)) + parser.flush(force=True), counts


def test_invalid_utf8_is_replaced_and_counted() -> None:
    records, counts = parse_all(b"ERROR bad \xff\xfe byte")
    assert records[0]["message"] == "bad \ufffd\ufffd byte"
    assert records[0]["level"] == "error"
    assert counts.errors["invalid_utf8"] == 1


def test_nul_bytes_are_removed_and_counted() -> None:
    records, counts = parse_all(b'{"msg": "a", "level": "info"}\x00\x00')
    assert records[0]["message"] == "a"
    assert counts.errors["nul_bytes"] == 1


def test_broken_json_and_non_object_json_are_text() -> None:
    records, counts = parse_all(b'{"msg": "unterminated', b"[1, 2, 3]", b'"just a string"')
    assert [r["message"] for r in records] == ['{"msg": "unterminated', "[1, 2, 3]",
                                               '"just a string"']
    assert counts.formats["text"] == 3 and counts.errors["invalid_json"] == 1


def test_deeply_nested_json_and_huge_ints_do_not_crash() -> None:
    deep = b'{"a":' * 2000 + b"1" + b"}" * 2000
    huge = b'{"msg": "big", "n": ' + b"9" * 400 + b"}"
    records, _counts = parse_all(deep, huge)
    assert len(records) == 2
    assert all(r["level"] == "info" for r in records)


def test_truncated_offsets_mark_the_record() -> None:
    parser, _ = make()
    lines = numbered(b"INFO first", b'{"msg": "cut off"}')
    records = parser.feed(lines, truncated=frozenset({lines[1][0]}))
    records += parser.flush(force=True)
    assert "truncated" not in records[0]["attributes"]
    assert records[1]["attributes"]["truncated"] is True


def test_file_offset_and_raw_come_from_the_first_line() -> None:
    records, _ = parse_all(b"\x1b[31mERROR\x1b[0m boom", b"  at frame")
    assert records[0]["file"] == {"path": "/l/a.log", "offset": 0}
    assert records[0].raw == "ERROR boom"
    assert records[0]["message"] == "boom\n  at frame"


def test_text_record_is_held_until_quiet_for_flush_after() -> None:
    clock = FakeClock()
    parser, _ = make(clock=clock)
    assert parser.feed(numbered(b"INFO waiting")) == []
    assert parser.pending
    clock.now += 0.25  # flush_after defaults to 0.5 s
    assert parser.flush() == []
    flushed = parser.flush(now=clock.now + 0.3)
    assert [r["message"] for r in flushed] == ["waiting"]
    assert not parser.pending


def test_json_records_are_not_held() -> None:
    parser, _ = make()
    records = parser.feed(numbered(b'{"msg": "now"}'))
    assert [r["message"] for r in records] == ["now"] and not parser.pending


def test_multiline_is_capped_by_max_lines_and_counted() -> None:
    settings = ParseSettings(multiline=MultilineSettings(max_lines=3))
    lines = [b"ERROR failed"] + [b"  frame %d" % i for i in range(5)]
    records, counts = parse_all(*lines, settings=settings)
    assert [r["message"].count("\n") + 1 for r in records] == [3, 3]
    assert records[1]["level"] == "error" and records[1]["message"].startswith("  frame 2")
    assert counts.errors["multiline_capped"] == 1
    assert sum(counts.formats.values()) == len(records)


def test_multiline_is_capped_by_max_bytes() -> None:
    settings = ParseSettings(multiline=MultilineSettings(max_bytes=30))
    records, counts = parse_all(b"ERROR x", b"  " + b"y" * 20, b"  " + b"z" * 20,
                                settings=settings)
    assert len(records) == 2 and counts.errors["multiline_capped"] == 1
    assert all(len(r["message"]) <= 30 for r in records)


def test_cri_is_detected_and_stream_and_time_are_set() -> None:
    records, _ = parse_all(b"2026-01-02T19:57:06.100000000Z stderr F WARN slow")
    assert records[0]["stream"] == "stderr"
    assert records[0]["timestamp"] == "2026-01-02T19:57:06.100Z"
    assert records[0]["level"] == "warning" and records[0].raw == "WARN slow"


def test_cri_partials_are_kept_per_stream() -> None:
    records, _ = parse_all(
        b"2026-01-02T00:00:00Z stdout P out-a ",
        b"2026-01-02T00:00:01Z stderr F ERROR err",
        b"2026-01-02T00:00:02Z stdout F out-b")
    assert [(r["stream"], r["message"]) for r in records] == [
        ("stderr", "err"), ("stdout", "out-a out-b")]


def test_cri_join_is_capped_by_max_bytes() -> None:
    settings = ParseSettings(multiline=MultilineSettings(max_bytes=10))
    records, counts = parse_all(b"2026-01-02T00:00:00Z stdout P 12345678",
                                b"2026-01-02T00:00:00Z stdout P abcdefgh",
                                b"2026-01-02T00:00:00Z stdout F end", settings=settings)
    assert [r["message"] for r in records] == ["12345678", "abcdefgh", "end"]
    assert counts.errors["partial_capped"] == 2
    assert [r["file"]["offset"] for r in records] == [0, 39, 78]


def test_cri_partial_without_final_piece_is_flushed() -> None:
    parser, _ = make()
    assert parser.feed(numbered(b"2026-01-02T00:00:00Z stdout P half")) == []
    assert parser.pending
    assert [r["message"] for r in parser.flush(force=True)] == ["half"]


def test_docker_lines_are_unwrapped() -> None:
    line = orjson.dumps({"log": "ERROR x=1\n", "stream": "stderr",
                         "time": "2026-01-02T19:57:00.795000000Z"})
    records, counts = parse_all(line)
    assert records[0]["stream"] == "stderr" and records[0]["attributes"] == {"x": "1"}
    assert records[0]["timestamp"] == "2026-01-02T19:57:00.795Z"
    assert counts.formats == {"text": 1}


def test_plain_line_in_a_cri_file_is_parsed_plainly_and_counted() -> None:
    records, counts = parse_all(b"not a cri line", runtime="cri")
    assert records[0]["message"] == "not a cri line"
    assert counts.errors["runtime_mismatch"] == 1


def test_forced_plain_format_does_not_unwrap() -> None:
    records, _ = parse_all(b"2026-01-02T00:00:00Z stdout F hello", runtime="plain")
    assert "stream" not in records[0]


def test_blank_lines_without_a_pending_record_are_skipped() -> None:
    records, counts = parse_all(b"", b"   ", b'{"msg": "x"}')
    assert [r["message"] for r in records] == ["x"]
    assert counts.errors["empty_line"] == 2


def test_line_without_time_takes_the_read_time_once_per_batch() -> None:
    records, _ = parse_all(b"INFO a", b"INFO b")
    assert {r["timestamp"] for r in records} == {"2026-01-01T00:00:00.000Z"}


def test_default_timezone_applies_to_zone_less_times() -> None:
    settings = ParseSettings(default_timezone="Europe/Berlin")
    records, _ = parse_all(b"2026-01-02 10:00:00,500 - app - INFO - hi", settings=settings)
    assert records[0]["timestamp"] == "2026-01-02T09:00:00.500Z"


def test_formats_are_counted_per_record() -> None:
    _records, counts = parse_all(b'{"msg": "j"}', b"ts=1 level=info msg=x", b"INFO t",
                                 b'1.2.3.4 - - [03/Jan/2026:09:10:29 +0000] "GET / HTTP/1.1" 200 1')
    assert counts.formats == {"json": 1, "logfmt": 1, "text": 1, "access": 1}


def test_counts_take_resets() -> None:
    _records, counts = parse_all(b"INFO x")
    formats, _errors = counts.take()
    assert formats == {"text": 1} and not counts.formats


def test_runtime_format_for_matches_globs_on_the_path_tail() -> None:
    formats = {"cri/*.log": "cri", "/var/log/docker/*": "docker"}
    assert runtime_format_for("/corpus/input/cri/0.log", formats) == "cri"  # type: ignore[arg-type]
    assert runtime_format_for("/var/log/docker/x.log", formats) == "docker"  # type: ignore[arg-type]
    assert runtime_format_for("/var/log/app.log", formats) == "auto"  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=8))
def test_arbitrary_bytes_never_raise_and_every_record_is_complete(lines: list[bytes]) -> None:
    """Fuzz: any bytes give records with the full schema and never an exception."""
    lines = [line.replace(b"\n", b"") for line in lines]
    records, _ = parse_all(*lines)
    for record in records:
        assert record["level"] in {"trace", "debug", "info", "warning", "error", "critical"}
        assert record["timestamp"].endswith("Z") and isinstance(record["message"], str)
        assert isinstance(record["attributes"], dict)
        orjson.dumps(record)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=120), min_size=1, max_size=8), st.sampled_from(["cri", "docker"]))
def test_arbitrary_text_in_runtime_wrappers_never_raises(texts: list[str], kind: str) -> None:
    """Fuzz: arbitrary inner text wrapped as CRI or docker lines parses without errors."""
    lines = []
    for i, text in enumerate(texts):
        text = text.replace("\n", " ")
        if kind == "cri":
            lines.append(f"2026-01-02T00:00:0{i % 10}Z stdout {'PF'[i % 2]} {text}".encode(
                "utf-8", "surrogatepass"))
        else:
            lines.append(orjson.dumps({"log": text + ("\n" if i % 2 else ""),
                                       "stream": "stdout", "time": "2026-01-02T00:00:00Z"}))
    records, _ = parse_all(*lines)
    assert all(r["stream"] == "stdout" for r in records if "stream" in r)
