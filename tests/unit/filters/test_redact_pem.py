"""The PEM backstop: a private key logged one line per record is redacted whole (BEGIN,
body, END), in the batch path and one record at a time, across batches; look-alike
lines elsewhere, public keys and other files are left alone."""

from __future__ import annotations

import copy

from shipper.filters.prescan import BatchTexts
from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.settings import RedactSettings
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.stages import RecordingFates

from .secret_samples import PEM_RSA, pem_body

BODY = PEM_RSA
BLOCK = ["-----BEGIN RSA PRIVATE KEY-----", *BODY, "-----END RSA PRIVATE KEY-----"]
LOOKALIKE = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo"  # base64 of the alphabet: not a key


def parse(lines: list[str], path: str = "/a.log") -> list[dict]:
    """One record per line, as the backstop sees a block the parser could not join (its
    start flushed before a restart, another CRI stream in between): each line goes
    through a parser of its own, so the parser's PEM joining plays no part here."""
    records: list[dict] = []
    for i, line in enumerate(lines):
        parser = FileParser(path, ParseSettings(), ParseCounts(), clock=lambda: 1.7e9)
        records += parser.feed([(i * 100, line.encode())]) + parser.flush(force=True)
    return records


def run_batch(stage: RedactStage, records: list[dict]) -> list[dict]:
    stage.prepare(records, {}, BatchTexts.of_records(records))
    stage.process_batch(records, set())
    stage.release()
    return records


def messages(records: list[dict]) -> list[str]:
    """Each record's text: ``[REDACTED]`` when redacted, else its raw line (a base64 line
    ending in ``=`` parses as a logfmt pair with an empty message)."""
    return [r["message"] if r["message"].startswith("[REDACTED") else r.raw for r in records]


def test_a_block_split_into_records_is_redacted_whole_in_a_batch():
    fates = RecordingFates()
    records = parse(["starting", *BLOCK, "key loaded", LOOKALIKE])
    out = run_batch(RedactStage(Redactor(RedactSettings()), fates), records)
    assert messages(out) == ["starting", *["[REDACTED]"] * len(BLOCK), "key loaded", LOOKALIKE]
    assert not any(line in str(out) for line in BODY)
    assert fates.events == [("changed", "redacted", "private_key")] * len(BLOCK)


def test_the_block_goes_on_in_the_next_batch_of_the_same_file_only():
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    first = run_batch(stage, parse(["x", *BLOCK[:3]]))
    other = run_batch(stage, parse([BODY[3]], path="/other.log"))   # another file: untouched
    rest = run_batch(stage, parse(BLOCK[3:] + [BODY[0]]))
    assert messages(first)[1:] == ["[REDACTED]"] * 3
    assert messages(other) == [BODY[3]]
    assert messages(rest) == ["[REDACTED]"] * (len(BLOCK) - 3) + [BODY[0]]  # closed by END


def test_one_record_at_a_time_gives_the_same_result():
    records = parse(["starting", *BLOCK, "key loaded"])
    batch = run_batch(RedactStage(Redactor(RedactSettings()), RecordingFates()),
                      copy.deepcopy(records))
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    assert [stage(r) for r in records] == batch


def test_a_non_body_line_ends_the_block():
    records = run_batch(RedactStage(Redactor(RedactSettings()), RecordingFates()),
                        parse([BLOCK[0], BODY[0], "ERROR key is truncated", BODY[1]]))
    assert messages(records) == ["[REDACTED]", "[REDACTED]", "ERROR key is truncated", BODY[1]]


def test_public_keys_and_certificates_are_not_blocks():
    lines = ["-----BEGIN PUBLIC KEY-----", *pem_body(2), "-----END PUBLIC KEY-----",
             "-----BEGIN CERTIFICATE-----", *pem_body(2), "-----END CERTIFICATE-----"]
    records = run_batch(RedactStage(Redactor(RedactSettings()), RecordingFates()), parse(lines))
    assert messages(records) == lines


def test_encrypted_key_headers_belong_to_the_block():
    lines = ["-----BEGIN RSA PRIVATE KEY-----", "Proc-Type: 4,ENCRYPTED",
             "DEK-Info: AES-128-CBC,0123456789ABCDEF", *BODY[:2], "-----END RSA PRIVATE KEY-----"]
    records = run_batch(RedactStage(Redactor(RedactSettings()), RecordingFates()), parse(lines))
    assert messages(records) == ["[REDACTED]"] * len(lines)


def test_switched_off_with_the_private_key_rule():
    stage = RedactStage(Redactor(RedactSettings(disable=["private_key"])), RecordingFates())
    records = run_batch(stage, parse(BLOCK))
    assert messages(records) == BLOCK
