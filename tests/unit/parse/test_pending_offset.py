"""``pending_offset`` tells the checkpoint where unshipped held input starts."""

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings


def parser(fmt="auto"):
    return FileParser("/l/a.log", ParseSettings(), ParseCounts(), clock=lambda: 0.0,
                      runtime_format=fmt)


def test_nothing_held_means_no_pending_offset():
    p = parser()
    assert p.pending_offset is None
    p.feed([(0, b'{"msg": "json is never held"}')])
    assert p.pending_offset is None


def test_held_text_record_pins_the_offset_of_its_first_line():
    p = parser()
    p.feed([(0, b"2026-01-02 10:00:00,000 - app - ERROR - boom"),
            (45, b"Traceback (most recent call last):")])
    assert p.pending
    assert p.pending_offset == 0
    p.feed([(80, b"2026-01-02 10:00:01,000 - app - INFO - next")])
    assert p.pending_offset == 80


def test_partial_cri_piece_pins_its_offset():
    p = parser("cri")
    p.feed([(0, b"2026-01-02T19:57:03.270000000Z stdout F {\"msg\": \"done\"}"),
            (60, b"2026-01-02T19:57:03.270000000Z stderr P part one ")])
    assert p.pending_offset == 60
    p.feed([(120, b"2026-01-02T19:57:03.270000000Z stderr F part two")])
    assert p.pending_offset == 60  # the joined text record may still continue
    assert [r["message"] for r in p.flush(force=True)] == ["part one part two"]
    assert p.pending_offset is None
