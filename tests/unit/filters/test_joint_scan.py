"""One pre-scan pass for the noise and redaction stages (:class:`JointScan`): each scan's
answer is exactly its own pass's, and the redaction scan never misses a text the rules
change. The scans are RE2 only (no compiled kernel): the same with ``SHIPPER_PURE=1``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.filters.joint_scan import JointScan
from shipper.filters.prescan import BatchScan, BatchTexts, re2_available
from shipper.filters.presets import NoiseStage
from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.stages import RecordingFates
from tests.unit.helpers import rec

from .secret_samples import SAMPLES

pytestmark = pytest.mark.skipif(not re2_available(), reason="google-re2 not installed")

REDACTOR = Redactor(RedactSettings())
NOISE = NoiseStage(FilterSettings(), RecordingFates())
REDACT_SCAN, NOISE_SCAN = REDACTOR.scan, NOISE.batch_scan
assert REDACT_SCAN is not None and NOISE_SCAN is not None
JOINT = JointScan([REDACT_SCAN, NOISE_SCAN])
#: the other order: the scan answered from the others' misses is the last one at first
JOINT_NOISE_FIRST = JointScan([NOISE_SCAN, REDACT_SCAN])

#: planted secrets, card numbers (grouped, at a text's edges, in ids), noise words and
#: their near misses, glued in any order
PIECES = [
    *(s.text for s in SAMPLES if "\n" not in s.text),
    *(s.near_miss for s in SAMPLES if "\n" not in s.near_miss),
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
    "378282246310005", "2690-4282-4406-96b5", "x4111111111111111", "4111111111111111-",
    "-4111111111111111", "--4111111111111111", "1751797861785", "4111111111111111.5",
    "GET /health", "head", "kube-probe/1.29", "authenticated", "sign-in", "logged in",
    "urllib3.connectionpool", "botocore", "budget", "target", "pass-_word=x", "api_key:",
    "Bearer abcdefghijklmnopqrstuvwxyz0123", "eyJhbGciOi.eyJzdWIiOi.sig", "\\", "\\n",
    "AKIAABCDEFGHIJKLMNOP", "u:pw1234@db", "?sig=", " ", "-", "_", ".", "=", ":", "\t",
    "é", "\x00", "x", "0", "9", "a-b",
]
texts = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
batches = st.lists(st.one_of(texts, st.none()), min_size=1, max_size=12)


def _alone(scan: BatchScan, batch: list[str | None]) -> set[int]:
    """The oracle: each judgeable text searched on its own, the others hits."""
    assert scan._re is not None
    return {i for i, text in enumerate(batch)
            if text is None or not text.isascii() or "\x00" in text
            or scan._re.search(text.encode())}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches)
def test_a_scan_of_the_joined_batch_finds_what_each_text_searched_alone_gives(batch):
    """One pass over the NUL-joined batch (hits resumed at the next NUL, text indices
    counted as it goes) gives exactly the texts a search of each text alone matches."""
    assert REDACT_SCAN.hits(list(batch)) == _alone(REDACT_SCAN, batch)
    assert NOISE_SCAN.hits(list(batch)) == _alone(NOISE_SCAN, batch)


@pytest.mark.parametrize("joint", [JOINT, JOINT_NOISE_FIRST], ids=["redact-first", "noise-first"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches)
def test_each_scan_of_a_joint_pass_answers_exactly_as_its_own_pass(joint, batch):
    """Noise and redaction hits from the one joint pass equal each scan's own pass over
    the whole batch (unjudgeable texts, ``None`` and non-ASCII and NUL, included),
    whichever scan is answered from the others' misses."""
    shared = BatchTexts(list(batch), joint)
    assert REDACT_SCAN.hits(shared) == REDACT_SCAN.hits(list(batch))
    assert NOISE_SCAN.hits(shared) == NOISE_SCAN.hits(list(batch))


@pytest.mark.parametrize("joint", [JOINT, JOINT_NOISE_FIRST], ids=["redact-first", "noise-first"])
def test_a_text_both_scans_match_is_a_hit_of_both(joint):
    """A text hit by the first scans is still searched by the last one."""
    batch = ["GET /x?password=1", "GET /y", "token=2", "plain", "HEAD 4111111111111111"]
    shared = BatchTexts(batch, joint)
    assert REDACT_SCAN.hits(shared) == {0, 2, 4}
    assert NOISE_SCAN.hits(shared) == {0, 1, 4}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches)
def test_the_joint_redaction_scan_never_misses_a_text_the_rules_change(batch):
    """Superset: every text the full rules would change is a hit of the joint pass."""
    hits = REDACT_SCAN.hits(BatchTexts(list(batch), JOINT))
    changed = {i for i, text in enumerate(batch)
               if text is not None and REDACTOR.redact_text(text) != text}
    assert changed <= hits


def test_planted_cards_at_text_edges_are_found_in_neighbouring_texts():
    """A card whose right edge is the NUL after its text does not hide a card opening
    the next text (the search resumes at that NUL), in the joint pass and alone."""
    batch = ["4111111111111111", "4111111111111111", "GET /x", "5555555555554444"]
    assert REDACT_SCAN.hits(BatchTexts(batch, JOINT)) == {0, 1, 3}
    assert REDACT_SCAN.hits(batch) == {0, 1, 3}
    assert NOISE_SCAN.hits(BatchTexts(batch, JOINT)) == {2}


def test_a_batch_is_scanned_once_for_both_stages():
    """The joint answers are kept on the batch: the second stage reads them."""
    shared = BatchTexts(["password=x", "GET /health", "plain"], JOINT)
    assert shared.answers is None
    assert NOISE_SCAN.hits(shared) == {1}
    assert shared.answers == {REDACT_SCAN: {0}, NOISE_SCAN: {1}}
    assert REDACT_SCAN.hits(shared) == {0}


def test_joint_of_the_stages_that_scan():
    """The processor's joint: built from the stages' scans, none for one scan alone; a
    scan outside it takes its own pass over a batch that carries it."""
    redact = RedactStage(Redactor(RedactSettings()), RecordingFates())
    noise = NoiseStage(FilterSettings(), RecordingFates())
    joint = JointScan.of_stages([noise, object(), redact])
    assert joint is not None and joint.scans == (noise.batch_scan, redact.batch_scan)
    assert JointScan.of_stages([redact]) is None
    other = BatchScan("plain")
    assert other not in joint
    assert other.hits(BatchTexts(["a plain line", "b"], joint)) == {0}


def test_without_re2_there_is_no_joint_and_every_record_is_checked(monkeypatch):
    """Without google-re2 no stage has a scan, so the processor gets no joint pass and
    the stages check every record (the existing fallback)."""
    monkeypatch.setattr("shipper.filters.prescan._re2", None)
    redact = RedactStage(Redactor(RedactSettings()), RecordingFates())
    noise = NoiseStage(FilterSettings(), RecordingFates())
    assert redact.batch_scan is None and noise.batch_scan is None
    assert JointScan.of_stages([noise, redact]) is None
    assert JointScan([BatchScan("password"), BatchScan("GET")]).scans == ()


@pytest.mark.parametrize("joint", [JOINT, JOINT_NOISE_FIRST], ids=["redact-first", "noise-first"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=12))
def test_joint_answers_over_batches_of_records_are_each_scans_own(joint, batch):
    """Batches joined from records (the compiled ``joined_texts`` when built, its unjudged
    lines left empty; the texts a scan is re-run over are those parts joined as they are)
    give each scan exactly its own pass's hits, multi-line messages and non-ASCII lines
    included; several batches in a row, so the scan answered from the misses changes."""
    records = [rec({"message": text + ("\nmore" if multi else "")}, text)
               for text, multi in batch]
    for records_of_batch in (records, records[::-1], records[: len(records) // 2 + 1]):
        shared = BatchTexts.of_records(records_of_batch, joint)
        alone = BatchTexts.of_records(records_of_batch)
        assert REDACT_SCAN.hits(shared) == REDACT_SCAN.hits(alone)
        assert NOISE_SCAN.hits(shared) == NOISE_SCAN.hits(alone)


def test_a_batch_only_the_busiest_scan_hits_is_answered_without_a_second_search():
    """When no other scan claims a text, the busiest scan's hits are the joint pass's
    texts as they are, and the other scans have none."""
    joint = JointScan([REDACT_SCAN, NOISE_SCAN])
    first = BatchTexts(["GET /a", "GET /b", "password=1", "plain"], joint)
    assert NOISE_SCAN.hits(first) == {0, 1} and REDACT_SCAN.hits(first) == {2}
    assert joint.scans[joint._busiest] is NOISE_SCAN
    second = BatchTexts(["plain", "HEAD /c", "auth ok", "x"], joint)
    assert second.answers is None
    assert NOISE_SCAN.hits(second) == {1, 2} and REDACT_SCAN.hits(second) == set()
    assert second.answers == {REDACT_SCAN: set(), NOISE_SCAN: {1, 2}}
