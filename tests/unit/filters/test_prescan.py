"""The batch pre-scan: exact hit mapping, and stages give the same result with and without it."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.enrich.ids import FileContext
from shipper.filters.prescan import BatchScan, BatchTexts, Screen, flexible, re2_available
from shipper.filters.presets import NoiseStage
from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.stages import RecordingFates
from tests.unit.helpers import rec

from .secret_samples import SAMPLES

needs_re2 = pytest.mark.skipif(not re2_available(), reason="google-re2 not installed")


@needs_re2
def test_hits_are_the_indices_of_matching_texts_and_unjudgeable_ones():
    scan = BatchScan(flexible("password") + "|kube")
    texts = ["plain", "PASS-_word=1", None, "x", "café", "a kube b", ""]
    assert scan.hits(texts) == {1, 2, 4, 5}


@needs_re2
def test_a_clean_batch_has_no_hits():
    assert BatchScan("secret").hits(["a", "b", "c" * 1000]) == set()


# -- equivalence: prepare() + stage == stage alone, on parsed lines ------------------------

WORDS = ["password", "Pass-Word", "api_key", "APIKEY", "token", "Authorization", "bearer",
         "GET", "get", "HEAD", "kube-probe/1.29", "/health", "/jobs/7", "authenticated",
         "User", "verified", "login succeeded", "successfully logged in", "urllib3.pool",
         "logger", "msg", "status", "200", "404", "4111 1111 1111 1111", "4111111111111111",
         "eyJhbGciOi.eyJzdWIiOi.sig", "AKIAABCDEFGHIJKLMNOP", "x", "=", ":", " ", "-",
         "\\u0070assword", "\\u0047ET", "é", "\\n", '"', "{", "}", "ghp_" + "a" * 36,
         "2690-4282-4406-96b5", "x4111111111111111", "4111111111111111-", "5555555555554444",
         "1751797861785", "_", ".", "\t",
         # the kinds of issue 12 (URL credentials, vendor prefixes, cookies, signed URLs)
         "postgres://", "u:pw1234@db", "redis://:", "@", "sk_live_" + "a1" * 12, "sk-proj-",
         "sk-" + "A1" * 16, "xoxe.xoxp-1-" + "b2" * 8, "Cookie: ", "Set-Cookie", "?sig=",
         "&X-Amz-Signature=", "AccountKey=", "glpat-" + "c3" * 10, "SK" + "0f" * 16,
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws", "secret", "npm_" + "d4" * 18,
         "SG." + "e5" * 11, "hvs." + "f6" * 12, "dckr_pat_" + "g7" * 10,
         # every catalogued kind, whole (in JSON, logfmt and text lines of any shape)
         *(sample.text for sample in SAMPLES if "\n" not in sample.text),
         *(sample.near_miss for sample in SAMPLES if "\n" not in sample.near_miss)]

fragments = st.lists(st.sampled_from(WORDS), max_size=12).map("".join)


@st.composite
def lines(draw) -> str:
    kind = draw(st.sampled_from(["json", "text", "logfmt"]))
    if kind == "json":
        obj = draw(st.dictionaries(fragments, st.one_of(fragments, st.integers(-2**62, 2**62)), max_size=5))
        text = orjson.dumps(obj).decode()
        # JSON escapes of secret names: the raw line differs from the parsed text
        return text.replace("p", "\\u0070") if draw(st.booleans()) else text
    if kind == "logfmt":
        return " ".join(f"{draw(fragments) or 'k'}={draw(fragments)}" for _ in range(3))
    return draw(fragments)


def _parse(batch: list[str]) -> list[dict]:
    parser = FileParser("/a.log", ParseSettings(), ParseCounts(), clock=lambda: 1.7e9)
    lines_ = [(i, line.encode()) for i, line in enumerate(batch)]
    return parser.feed(lines_) + parser.flush(force=True)


def _run(stage, records, prepared: bool, fates: RecordingFates):
    if prepared:
        stage.prepare(records, {})
    out = []
    for record in records:
        result = stage(record)
        out.append((copy.deepcopy(result), fates.reset()))
    stage.release()
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=8))
def test_redaction_is_the_same_with_the_prescan(batch):
    """The pre-scan is a sound superset: no record it lets skip would have been changed."""
    fates_a, fates_b = RecordingFates(), RecordingFates()
    plain = RedactStage(Redactor(RedactSettings()), fates_a)
    scanned = RedactStage(Redactor(RedactSettings()), fates_b)
    records = _parse(batch)
    assert _run(plain, copy.deepcopy(records), False, fates_a) == \
        _run(scanned, records, True, fates_b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=8))
def test_noise_presets_are_the_same_with_the_prescan(batch):
    """Every record a preset drops is still dropped when the batch was pre-scanned."""
    fates_a, fates_b = RecordingFates(), RecordingFates()
    plain = NoiseStage(FilterSettings(), fates_a)
    scanned = NoiseStage(FilterSettings(), fates_b)
    records = _parse(batch)
    assert _run(plain, copy.deepcopy(records), False, fates_a) == \
        _run(scanned, records, True, fates_b)


def test_secret_in_path_fields_disables_the_skip():
    """Attributes added after parsing (path-template fields) are not on the raw line."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    record = _parse(["plain line"])[0]
    record["attributes"]["password"] = "hunter22"
    stage.prepare([record], {"password": "hunter22"})
    assert stage(record)["attributes"]["password"] == "[REDACTED]"


def test_records_after_release_are_checked_in_full():
    """A stage used without a live pre-scan (dedupe drains, explain) checks every record."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    records = _parse(["hello world"])
    stage.prepare(records, {})
    stage.release()
    records[0]["message"] = "password=hunter22"
    assert stage(records[0])["message"] == "password=[REDACTED]"


@pytest.mark.parametrize("line", [
    '{"msg":"x","\\u0070assword":"hunter22"}',
    '{"msg":"Bearer abcdefghijklmnopqrstuvwxyz0123"}',
    '{"msg":"card","n":4111111111111111}',
    "login ok pass-_word=hunter22",
])
def test_lines_with_secrets_are_redacted_after_the_prescan(line):
    """JSON escapes, card-sized integers and split key names still reach the redactor."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    records = _parse([line])
    stage.prepare(records, {})
    text = orjson.dumps(stage(records[0]))
    stage.release()
    assert b"[REDACTED]" in text


# -- the batch form of the stages, the shared texts and the binding loop ------------------

def _run_batch(stage, records, fates: RecordingFates):
    """prepare + process_batch over the whole list; the survivors and every event."""
    stage.prepare(records, {}, BatchTexts.of_records(records))
    dropped: set[int] = set()
    stage.process_batch(records, dropped)
    stage.release()
    return [r for i, r in enumerate(records) if i not in dropped], fates.reset()


def _run_plain(stage, records, fates: RecordingFates):
    out = [r for r in (stage(record) for record in records) if r is not None]
    return out, fates.reset()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=8))
def test_batch_form_of_both_stages_is_the_one_record_form(batch):
    """``process_batch`` after a shared pre-scan drops, redacts and reports exactly what the
    stages do one record at a time without a pre-scan."""
    records = _parse(batch)
    for make in (lambda f: NoiseStage(FilterSettings(), f),
                 lambda f: RedactStage(Redactor(RedactSettings()), f)):
        fates_a, fates_b = RecordingFates(), RecordingFates()
        plain = _run_plain(make(fates_a), copy.deepcopy(records), fates_a)
        assert _run_batch(make(fates_b), copy.deepcopy(records), fates_b) == plain


def test_batch_form_skips_records_dropped_before():
    """Indices in ``dropped`` are gone: not redacted, not reported."""
    fates = RecordingFates()
    stage = RedactStage(Redactor(RedactSettings()), fates)
    records = _parse(["login with password=hunter22", "login with token=abcdefgh1"])
    stage.prepare(records, {}, BatchTexts.of_records(records))
    stage.process_batch(records, {0})
    assert "hunter22" in str(records[0]) and "abcdefgh1" not in str(records[1])
    assert fates.events == [("changed", "redacted", "secret_key")]


def test_batch_texts_leave_out_what_cannot_be_judged():
    """Non-string raw lines, multi-line messages and non-ASCII lines are hits by default."""
    records = [rec({"message": "a"}, "a"), rec({"message": "b"}, None),
               rec({"message": "c\nd"}, "c"), rec({"message": "é"}, "é"),
               rec({"message": "get"}, "get")]
    texts = BatchTexts.of_records(records)
    assert texts.unjudged == {1, 2, 3}
    assert texts.data == b"a\x00\x00\x00\x00get"
    assert texts.indices([0, 5]) == {0, 4}
    odd = BatchTexts.of_records([rec({}, "x"), rec({"message": 3}, "y")])  # careful path
    assert odd.unjudged == set() and odd.data == b"x\x00y"
    nul = BatchTexts(["a", "b\x00get", "get"])  # a NUL inside a text would shift the mapping
    assert nul.unjudged == {1} and nul.indices([3]) == {2}


@needs_re2
def test_binding_loop_finds_what_finditer_finds():
    """The direct RE2 call loop and the module's finditer give the same hits."""
    texts = ["x get y", "plain", "GET /a", "kube-probe/1 get", "", "auth", "é", None] * 50
    fast = BatchScan("(?i:get)|kube|auth")
    slow = BatchScan("(?i:get)|kube|auth")
    slow._re._match = None  # the module's own search, match objects and all
    assert fast.hits(texts) == slow.hits(texts) == {i for i, t in enumerate(texts)
                                                    if t is None or t in ("x get y", "GET /a",
                                                    "kube-probe/1 get", "auth", "é")}


def _offset_owner(data: bytes, start: int) -> int:
    """The text holding ``start`` as the NUL count before it says (a start on a NUL
    belongs to the text after it): the mapping ``indices`` replaced."""
    if data[start:start + 1] == b"\x00":
        start += 1
    return data.count(b"\x00", 0, start)


batch_texts = st.lists(st.one_of(st.none(), st.text(alphabet="ab get\x00\u00e9-", max_size=6)),
                       min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(texts=batch_texts)
def test_every_offset_maps_to_the_text_holding_it(texts):
    """The binary search over the separators' offsets gives, for every offset of the
    joined data (separators included), the text a count of the NULs before it gives."""
    batch = BatchTexts(texts)
    offsets = list(range(len(batch.data)))
    for start in offsets:
        assert batch.indices([start]) == {_offset_owner(batch.data, start)}
    assert batch.indices(offsets) == {_offset_owner(batch.data, s) for s in offsets}
    assert batch.indices([]) == set()


@needs_re2
@settings(max_examples=300, deadline=None)
@given(texts=batch_texts)
def test_hits_are_the_matching_texts_and_those_with_a_nul_or_non_ascii(texts):
    """Texts holding a NUL (which would split them), non-ASCII or ``None`` are hits
    whatever they hold; every other text is a hit exactly when the pattern matches it."""
    expected = {i for i, text in enumerate(texts) if text is None or not text.isascii()
                or "\x00" in text or "get" in text.lower() or "ab" in text}
    assert BatchScan("(?i:get)|ab").hits(texts) == expected


def test_screen_hands_out_hits_only_for_the_scanned_list():
    records = [{"n": i} for i in range(5)]
    screen = Screen(records, {3, 1})
    assert list(screen.to_check(records)) == [1, 3]
    assert list(screen.to_check(list(records))) == [0, 1, 2, 3, 4]
    assert screen.cleared(records[0]) and not screen.cleared(records[1])
    assert not screen.cleared({"n": 0})  # not part of the batch: check it in full


# -- the record pre-check of redaction (texts searched one by one) ------------------------

card_texts = st.lists(st.sampled_from([
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "2690-4282-4406-96b5",
    "x", "-", ".", " ", "_", "a1", "0", "5", "9", "1751797861785", "6011000990139424",
    "3782 822463 10005", "password", "eyJ", "AKIA", "é"]), max_size=8).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=card_texts, value=card_texts, raw=card_texts,
       number=st.one_of(st.none(), st.integers(10**12, 10**19)))
def test_record_precheck_with_re2_redacts_what_the_plain_precheck_redacts(message, value, raw, number):
    """The RE2 record pre-check (card shape with the rule's edges, per text) never lets a
    record skip that the plain pre-check would send to the full pass and get changed."""
    fast, plain = Redactor(RedactSettings()), Redactor(RedactSettings())
    plain._text_scan = None
    attrs = {"v": value, "nested": [value], **({"n": number} if number is not None else {})}
    record = rec({"message": message, "attributes": attrs}, raw)
    a, b = copy.deepcopy(record), copy.deepcopy(record)
    assert fast.redact_record(a) == plain.redact_record(b)
    assert a == b


@needs_re2
def test_uuid_digit_runs_do_not_need_the_full_pass():
    """13 digits in a row inside a UUID are not a card: the pre-check says so (no full
    pass); real card shapes at the edges of a text still do."""
    redactor = Redactor(RedactSettings())
    assert not redactor.redact_record_check({"id": "bbb02690-4282-4406-96b5-03f32d8a71e8"})
    assert not redactor.redact_record_check({"ts": 1751797861785})
    for value in ("4111111111111111", "paid 4111 1111 1111 1111", 4111111111111111):
        assert redactor.redact_record_check({"card": value})


# -- strings that are not on the raw line (issue 12) ---------------------------------------

GL = "glpat-" + "Ab1" * 7
SLACK = "xoxb-1234567890-1234567890-" + "Cd2" * 8
NPM = "npm_" + "Ef3" * 12


def _one_file(lines: list[str]) -> list[dict]:
    """Parsed records sharing their path and ``k8s`` objects, as one file's batch does."""
    records, k8s = _parse(lines), {"namespace": "ns"}
    for record in records:
        record["k8s"] = k8s
    return records


@pytest.mark.parametrize("where", ["job_id", "correlation_id", "stream", "path", "k8s"])
def test_strings_not_on_the_raw_line_are_redacted_in_the_batch_path(where):
    """Ids from pod labels, annotations or path templates, the docker stream, the file
    path and the ``k8s`` facts are not on the raw line: checked once per distinct value
    (or per file), so a clean raw line does not let them through, in the middle of a
    batch too."""
    records = _one_file(["plain one", "plain two", "plain three"])
    middle = records[1]
    if where == "path":
        for record in records:
            record["file"] = {"path": f"/logs/{GL}/a.log", "offset": 0}
    elif where == "k8s":
        k8s = {"namespace": "ns", "labels": {"team": SLACK}}
        for record in records:
            record["k8s"] = k8s
    else:
        middle[where] = NPM
    fates = RecordingFates()
    out, events = _run_batch(RedactStage(Redactor(RedactSettings()), fates), records, fates)
    text = orjson.dumps(out).decode()
    assert GL not in text and SLACK not in text and NPM not in text
    assert events and all(kind == "changed" for kind, _, _ in events)
    if where == "k8s":
        assert k8s["labels"]["team"] == SLACK  # the shared facts object is not changed


def test_clean_strings_off_the_raw_line_keep_the_prescan():
    """Clean ids and facts leave the pre-scan in place: no record is checked in full."""
    records = _parse(["plain one", "plain two"])
    for record in records:
        record.update(job_id="job-1", correlation_id="req-7", k8s={"namespace": "ns"})
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    stage.prepare(records, {}, BatchTexts.of_records(records))
    assert stage._screen is not None and stage._screen.hits == []


def test_a_match_starting_on_a_separator_belongs_to_the_next_text():
    texts = BatchTexts(["ab", "cd", "ef"])
    assert texts.indices([2, 5]) == {1, 2}  # offsets of the NULs before "cd" and "ef"


def _run_with_facts(records, facts):
    fates = RecordingFates()
    stage = RedactStage(Redactor(RedactSettings()), fates)
    stage.prepare(records, {}, BatchTexts.of_records(records), facts=facts)
    stage.process_batch(records, set())
    screen = stage._screen
    stage.release()
    return records, fates.events, screen


@pytest.mark.parametrize("where", ["job_id", "correlation_id", "labels"])
def test_given_the_file_facts_their_ids_and_k8s_are_checked_once_per_file(where):
    """With enrichment's file context, ids from labels/annotations/path templates are
    judged once per file; a secret in them makes the whole batch checked in full."""
    records = _one_file(["plain one", "plain two"])
    k8s = {"namespace": "ns", "labels": {"team": SLACK if where == "labels" else "a"}}
    facts = FileContext(k8s=k8s, path_fields={}, job_id=GL if where == "job_id" else None,
                        correlation_id=NPM if where == "correlation_id" else None, shard_index=None)
    for record in records:
        record["k8s"] = k8s
    records[1][where if where != "labels" else "job_id"] = getattr(facts, where, "job-1")
    out, events, screen = _run_with_facts(records, facts)
    assert screen is None  # the facts hold a secret: no record skips the full check
    text = orjson.dumps(out).decode()
    assert GL not in text and SLACK not in text and NPM not in text and events


def test_given_clean_file_facts_only_raw_hits_and_streams_are_checked():
    records = _one_file(["plain one", f"token {GL}", "plain three"])
    records[2]["stream"] = NPM
    facts = FileContext(k8s=records[0]["k8s"], path_fields={}, job_id="job-1",
                        correlation_id=None, shard_index=None)
    out, events, screen = _run_with_facts(records, facts)
    assert screen is not None and screen.hits == [1, 2]
    assert out[1]["message"] == "token [REDACTED]" and out[2]["stream"] == "[REDACTED]"


# -- the card-number candidates of the batch pre-scan (issue 14) ----------------------------

def _luhn_completed(body: str) -> str:
    """``body`` with the check digit that makes it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str(-total % 10)


@st.composite
def card_numbers(draw) -> str:
    """Luhn-valid 13-19 digit numbers with issuer prefixes, as they are written: plain,
    in groups of four (spaces or dashes) or Amex's 4-6-5."""
    prefix = draw(st.sampled_from(["4", "51", "55", "34", "37", "6011", "65", "35", "36",
                                   "2221", "2720", "30", "62"]))
    size = draw(st.integers(13, 19))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"),
                                          min_size=size - len(prefix) - 1,
                                          max_size=size - len(prefix) - 1)))
    digits = _luhn_completed(body)
    style = draw(st.sampled_from(["plain", " ", "-", "amex"]))
    if style == "plain":
        return digits
    if style == "amex" and len(digits) == 15:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    sep = "-" if style == "-" else " "
    return sep.join(digits[i:i + 4] for i in range(0, len(digits), 4))


EDGES = ["", " ", "=", ":", '"', "'", ",", ";", "(", ")", "[", "]", "/", "#", "a", "f", "F",
         "g", "z", "Z", "_", ".", "-", "--", "a-", "f-", "9-", "0", "x=", "card ", "id-",
         "550e8400-e29b-41d4-a716-", "job-8ee019ab-", "\t", "+", "?", "&", "@", "é", "\\n"]
UUID = "2a20bd48-4627-4903-9437-edb710b474cb"
card_lines = st.tuples(st.sampled_from(EDGES), card_numbers(), st.sampled_from(EDGES),
                       st.sampled_from(["json", "logfmt", "text", "int"]))


def _card_line(left: str, card: str, right: str, kind: str) -> str:
    if kind == "json":
        return orjson.dumps({"msg": f"{left}{card}{right}"}).decode()
    if kind == "int":
        return '{"msg":"paid","n":' + card.replace(" ", "").replace("-", "") + "}"
    if kind == "logfmt":
        return f"level=info msg=paid card={left}{card}{right} id={UUID}"
    return f"2025-07-06T10:30:00Z INFO paid {left}{card}{right} for job-{UUID}"


@needs_re2
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(card_lines, min_size=1, max_size=6),
       uuid_lines=st.lists(st.uuids().map(str), max_size=3))
def test_every_card_the_full_pass_redacts_is_on_a_flagged_line(cases, uuid_lines):
    """Luhn-valid cards glued to any edge (hex letters, dashes, UUID fragments, quotes,
    JSON escapes), in JSON strings, JSON integers, logfmt and text lines: the records the
    scan lets skip are exactly those the full pass leaves unchanged, so every card the
    full pass redacts is still redacted."""
    batch = [_card_line(*case) for case in cases] + [f"request id={u} done" for u in uuid_lines]
    fates_a, fates_b = RecordingFates(), RecordingFates()
    plain = RedactStage(Redactor(RedactSettings()), fates_a)
    scanned = RedactStage(Redactor(RedactSettings()), fates_b)
    records = _parse(batch)
    hits = Redactor(RedactSettings()).scan.hits(BatchTexts.of_records(records))
    full = _run(plain, copy.deepcopy(records), False, fates_a)
    assert full == _run(scanned, records, True, fates_b)
    for i, (_, fates) in enumerate(full):
        if any("card_number" in str(fate) for fate in fates):
            assert i in hits, batch[i]


@needs_re2
def test_uuid_and_hex_id_lines_are_not_card_candidates():
    """Lines whose only long digit runs are inside UUIDs or hex ids skip the full pass;
    a card next to them (or at a text's edges, after ``=``, ``"``, ``-``) does not."""
    scan = Redactor(RedactSettings()).scan
    clean = ["job_id=job-8ee019ab-13c5-4abb-99eb-878e6fe04966 worker=23",
             "GET /api/v1/jobs/job-2a20bd48-4627-4903-9437-edb710b474cb 200 19.3ms",
             '{"correlation_id":"55588931-9045-4ffa-8935-7af599b4df10"}',
             "trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7",
             "commit 1234567890123abcdef4567 merged"]
    assert scan.hits(BatchTexts(clean)) == set()
    cards = ["4111111111111111", "paid 4111 1111 1111 1111.", 'card="4111-1111-1111-1111"',
             "x=-4111111111111111", "n=4111111111111111,", "3782 822463 10005", "id=" + "5" * 19,
             "550e8400-e29b-41d4-a716-446655440000 4111111111111111"]
    assert scan.hits(BatchTexts(clean + cards)) == set(range(len(clean), len(clean) + len(cards)))


@pytest.mark.parametrize(("where", "with_facts"), [("path", False), ("path", True),
                                                    ("k8s", False)])
def test_a_secret_of_a_file_between_two_runs_of_another_is_found(where, with_facts):
    """A group of chunks processed as one batch (``Processor.feed_many``) may hold file
    A's records, then B's, then A's again (A's next chunk queued behind B's): B's path or
    ``k8s`` facts are checked though the batch's first and last records share A's."""
    a, b, a2 = (_one_file([f"plain {n}"]) for n in ("one", "two", "three"))
    records = a + b + a2
    a_file, b_file = {"path": "/logs/a.log", "offset": 0}, {"path": f"/logs/{GL}/b.log",
                                                              "offset": 0}
    for record in records:
        record["file"] = b_file if record is b[0] else a_file
        record["k8s"] = a[0]["k8s"]
    if where == "k8s":
        b_file["path"] = "/logs/b.log"
        b[0]["k8s"] = {"namespace": "ns", "labels": {"team": SLACK}}
    if with_facts:  # the files share one enrichment (no path templates): one k8s
        facts = FileContext(k8s=a[0]["k8s"], path_fields={}, job_id=None,
                            correlation_id=None, shard_index=None)
        out, events, _ = _run_with_facts(records, facts)
    else:
        fates = RecordingFates()
        out, events = _run_batch(RedactStage(Redactor(RedactSettings()), fates), records, fates)
    text = orjson.dumps(out).decode()
    assert GL not in text and SLACK not in text
    assert [i for i, (kind, _, _) in enumerate(events) if kind == "changed"]
