"""The server and syslog recognisers' edges: what they refuse, and the PostgreSQL
continuation rules ``multiline`` relies on."""

from __future__ import annotations

from shipper.kernels import iso_prefix
from shipper.parse.families.servers import postgres_continuation, postgres_line, server_line
from shipper.parse.families.syslog import syslog_line
from shipper.parse.multiline import NONE, POSTGRES, continues, start_state
from shipper.parse.timestamps import TimestampNormalizer

NOW = 1767225600.0
PG = "2026-01-02 10:00:00.123 UTC [1234] "


def _stamps() -> TimestampNormalizer:
    return TimestampNormalizer("UTC", clock=lambda: NOW)


def test_a_postgres_line_opens_the_postgres_state_and_others_do_not() -> None:
    """Only a PostgreSQL line (any severity) makes its record take continuation lines."""
    assert start_state(PG + "ERROR:  boom") == (None, POSTGRES)
    assert start_state(PG + "LOG:  checkpoint starting: time") == (None, POSTGRES)
    assert start_state("2026-01-02 10:00:00.123 [main] INFO  c.e.App - ok") == (None, NONE)
    assert start_state("2026-01-02 10:00:00 worker said LOG:  not postgres") == (None, NONE)
    assert not postgres_line("2026-01-02 10:00:00 [1] LOG: one space")


def test_continuation_severities_join_and_a_new_postgres_record_does_not() -> None:
    """DETAIL/HINT/STATEMENT/CONTEXT/QUERY/LOCATION join; LOG/ERROR start a record."""
    for severity in ("DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION"):
        assert continues(PG + f"{severity}:  x", POSTGRES) == (True, POSTGRES)
        assert postgres_continuation("2026-01-02 10:00:00 UTC [9]: [2-1] user=a,db=b "
                                     f"{severity}:  x")
    assert continues(PG + "ERROR:  next", POSTGRES) == (False, NONE)
    assert continues(PG + "DETAIL:  x", NONE) == (False, NONE)  # only after a postgres line


def test_statement_lines_join_but_other_record_starts_do_not() -> None:
    """Lines of a multi-line statement join; JSON, levels, timestamps, PRI do not."""
    assert continues("from jobs where id = 1", POSTGRES) == (True, POSTGRES)
    assert continues("\tvalues (1)", POSTGRES) == (True, POSTGRES)
    for line in ('{"msg": "x"}', "ERROR something", "<13>Oct 11 22:14:15 h a: m",
                 "[2026-01-02 10:00:00] x", "2026/01/02 10:00:00 go log", "level=info msg=x"):
        assert continues(line, POSTGRES) == (False, NONE), line


def test_syslog_refuses_bad_pri_and_malformed_structured_data() -> None:
    """A PRI over 191 or not digits, a 5424 header without a valid SD: not syslog."""
    stamps = _stamps()
    for line in ("<192>Oct 11 22:14:15 h app: x", "<1a>Oct 11 22:14:15 h app: x",
                 "<13>1 2026-01-02T10:00:00Z h app - - [broken sd",
                 '<13>1 2026-01-02T10:00:00Z h app - - [id k="v"]trailing',
                 '<13>1 2026-01-02T10:00:00Z h app - - [id k="v"j="w"] glued params',
                 '<13>1 2026-01-02T10:00:00Z h app - - [id k=v] unquoted',
                 '<13>1 2026-01-02T10:00:00Z h app - - [id k="v] no closing quote',
                 "<13>Oct 99:14:15 h app: x", "<13>"):
        assert syslog_line(line, stamps) is None, line


def test_rfc3164_year_is_last_years_when_this_years_date_is_ahead() -> None:
    """Read on 2026-01-01: ``Dec 31`` is 2025's, ``Jan  1`` this year's."""
    stamps = _stamps()
    december = syslog_line("Dec 31 23:00:00 h app: x", stamps)
    january = syslog_line("Jan  1 00:00:05 h app: x", stamps)
    assert december is not None and january is not None
    assert december[1]["timestamp"] == "2025-12-31T23:00:00.000Z"
    assert january[1]["timestamp"] == "2026-01-01T00:00:05.000Z"


def test_rfc3164_impossible_date_is_kept_as_written() -> None:
    """``Feb 30`` is no date in any year: no timestamp, the written one in attributes."""
    parsed = syslog_line("Feb 30 10:00:00 h app: x", _stamps())
    assert parsed is not None
    assert parsed[1]["timestamp"] == ""
    assert parsed[1]["attributes"]["invalid_timestamp"] == "Feb 30 10:00:00"


def test_structured_data_plain_and_escaped_give_the_same_fields() -> None:
    """An element without escapes (string methods) and one with them (the pattern) both
    give ``{SD-ID: {param: value}}``; an element without params is kept empty."""
    stamps = _stamps()
    plain = syslog_line('<13>1 2026-01-02T10:00:00Z h app - - [a@1 k="v w" x=""][b@2] m', stamps)
    escaped = syslog_line('<13>1 2026-01-02T10:00:00Z h app - - [a@1 k="v \\"w\\""] m',
                          stamps)
    assert plain is not None and escaped is not None
    assert plain[1]["attributes"]["a@1"] == {"k": "v w", "x": ""}
    assert plain[1]["attributes"]["b@2"] == {}
    assert escaped[1]["attributes"]["a@1"] == {"k": 'v "w"'}
    assert plain[1]["message"] == escaped[1]["message"] == "m"


def test_server_line_leaves_go_and_jvm_lines_alone() -> None:
    """Go's ``log`` (same slash date), logback with a numeric thread, nginx-like text
    with a fraction: ``server_line`` says "not mine" so their own layouts run."""
    stamps = _stamps()
    for line in ("2026/01/02 10:00:03 [worker] started 4 goroutines",
                 "2026/01/02 10:00:03 [error] no pid#tid here",
                 "2026/01/02 10:00:03.123456 [error] 7#7: has microseconds",
                 "2026-01-02 10:00:09.000 [1234] INFO  c.e.App - LOG:  not postgres",
                 "2026-01-02 10:00:09.000 [main] ERROR c.e.App - boom",
                 "2026/01/02 10:00:09 [1234] LOG:  slash date is not postgres"):
        prefix = iso_prefix(line)
        assert prefix is not None
        assert server_line(prefix, line, stamps) is None, line
