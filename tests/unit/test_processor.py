"""The processor: enrich + filter a parsed batch stage by stage, with the same result as
the stages applied one record at a time (the contract in docs/ARCHITECTURE.md)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.config import Settings
from shipper.enrich.ids import Enricher, file_context
from shipper.enrich.podinfo import PodInfo
from shipper.enrich.templates import PathTemplates
from shipper.errors import BatchStopped
from shipper.filters import build_filter_stages
from shipper.filters.settings import FilterSettings
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.processor import Processor, _one_by_one, _without
from shipper.stages import RecordingFates
from tests.unit.helpers import rec as beside

PATH = "/var/log/app/a.log"
ENV = {"POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n"}
def fixed_clock() -> float:
    return 1.7e9

FILTERS = FilterSettings.model_validate({
    "min_level": "debug",
    "drop": [{"name": "chatty", "match": {"message": "^tick"}}],
    "sample": [{"name": "progress", "match": {"message": "^Progress"}, "keep_one_in": 3}],
    "dedupe": {"enabled": True},
})


def _settings(filters: FilterSettings = FILTERS) -> Settings:
    return Settings(paths=[PATH], once=True, filters=filters)


def _podinfo(settings: Settings) -> PodInfo:
    podinfo = PodInfo(ENV, settings.downward_api, settings.podinfo_dir)
    asyncio.run(podinfo.refresh())
    return podinfo


def _parse(lines: list[str]) -> list[dict]:
    parser = FileParser(PATH, ParseSettings(), ParseCounts(), clock=fixed_clock)
    records = parser.feed([(i * 100, line.encode()) for i, line in enumerate(lines)])
    return records + parser.flush(force=True)


def _reference(settings: Settings, records: list[dict], fates: RecordingFates) -> list[dict]:
    """One record at a time: enrich, then every stage in order (no pre-scan, no batches);
    dedupe summaries just before the record that carries them."""
    podinfo = _podinfo(settings)
    enrich = Enricher(file_context(PATH, podinfo.facts, PathTemplates(settings.path_templates)))
    stages = build_filter_stages(settings.filters, settings.redact, fates=fates, clock=fixed_clock)
    out = []
    for record in records:
        for stage in [enrich, *stages]:
            record = stage(record)
            if record is None:
                break
        else:
            out.extend(record.before or ())
            record.before = None
            out.append(record)
    return out


def _processed(settings: Settings, records: list[dict], fates: RecordingFates) -> list[dict]:
    processor = Processor(settings, podinfo=_podinfo(settings), fates=fates, clock=fixed_clock)
    return processor.process(records, PATH)


LINES = [
    "2023-11-14T10:30:00Z INFO GET /api/v1/jobs/job-1 200 12.2ms",
    '10.0.0.1 - - [06/Jul/2025:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"',
    "2023-11-14T10:30:00Z INFO User authenticated user_id=u-1 method=jwt",
    '{"level":"info","msg":"Upload done","job_id":"job-2","correlation_id":"c-2","shard_index":"3"}',
    '{"level":"warning","msg":"GET /health 200","jobId":7}',
    "2023-11-14T10:30:00Z INFO login with password=hunter22 token=abcdefghij",
    '{"level":"info","msg":"card 4111 1111 1111 1111","id":"bbb02690-4282-4406-96b5-03f32d8a71e8"}',
    "2023-11-14T10:30:00Z INFO tick", "2025-07-06T10:30:00Z DEBUG Progress 1",
    "2023-11-14T10:30:00Z DEBUG Progress 2", "2025-07-06T10:30:00Z DEBUG Progress 3",
    "2023-11-14T10:30:00Z INFO same again", "2025-07-06T10:30:00Z INFO same again",
    "2023-11-14T10:30:00Z ERROR boom", "Traceback (most recent call last):", '  File "x.py"',
    "INFO:urllib3.connectionpool:Starting new HTTPS connection", "plain text é with GET",
    '{"msg":"\\u0070assword=x1234567","level":"info"}',
]


def _events_and_bytes(out: list[dict], fates: RecordingFates) -> tuple[list[bytes], list]:
    return [orjson.dumps(r) for r in out], sorted(fates.reset())


def test_a_mixed_batch_comes_out_as_with_one_record_at_a_time():
    """Noise, min_level, drop, sample, redact and dedupe over one batch: the same records
    (byte for byte, key order included) and the same fates as the plain per-record path."""
    records = _parse(LINES)
    fates_a, fates_b = RecordingFates(), RecordingFates()
    expected = _events_and_bytes(_reference(_settings(), copy.deepcopy(records), fates_a), fates_a)
    got = _events_and_bytes(_processed(_settings(), records, fates_b), fates_b)
    assert got == expected
    assert any(kind == "dropped" and reason == "noise" for kind, reason, _ in got[1])
    assert any(kind == "changed" for kind, _, _ in got[1])


words = st.sampled_from(["GET", "/health", "/jobs/7", "200", "404", "User", "authenticated",
                         "password=", "hunter22", "tick", "Progress", "job_id=j", "x", " ",
                         "4111111111111111", "urllib3", "é", "\\n", '"', "=", "ERROR", "INFO"])
line = st.one_of(
    st.lists(words, max_size=8).map(" ".join).map(lambda m: "2023-11-14T10:30:00Z INFO " + m),
    st.dictionaries(st.sampled_from(["msg", "level", "method", "path", "status", "job_id",
                                     "correlation_id", "logger", "token"]),
                    st.lists(words, max_size=4).map(" ".join), max_size=6)
    .map(lambda d: orjson.dumps(d).decode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line, min_size=1, max_size=12))
def test_generated_batches_come_out_as_with_one_record_at_a_time(lines):
    """Property: for any batch, the batch path equals the per-record path."""
    records = _parse(lines)
    fates_a, fates_b = RecordingFates(), RecordingFates()
    expected = _events_and_bytes(_reference(_settings(), copy.deepcopy(records), fates_a), fates_a)
    assert _events_and_bytes(_processed(_settings(), records, fates_b), fates_b) == expected


def test_without_filters_the_batch_list_itself_comes_back():
    """No stage drops anything: no copy of the batch is made."""
    settings = _settings(FilterSettings(presets=False))
    settings = settings.model_copy(update={"redact": settings.redact.model_copy(update={"enabled": False})})
    records = _parse(["2023-11-14T10:30:00Z INFO a", "2025-07-06T10:30:00Z INFO b"])
    assert _processed(settings, records, RecordingFates()) is records
    assert all(r["k8s"] == {"namespace": "ns", "pod": "p", "node": "n"} for r in records)


def test_one_record_at_a_time_works_after_batches():
    """``explain`` feeds single records: pre-scans of earlier batches do not leak."""
    settings = _settings()
    processor = Processor(settings, podinfo=_podinfo(settings), fates=RecordingFates(), clock=fixed_clock)
    processor.process(_parse(LINES), PATH)
    [record] = _parse(["2023-11-14T10:30:00Z INFO login with password=hunter22"])
    [out] = processor.process([record], PATH)
    assert "hunter22" not in orjson.dumps(out).decode()


def test_survivors_keep_their_order():
    records = [{"n": i} for i in range(6)]
    assert _without(records, {0, 2, 5}) == [{"n": 1}, {"n": 3}, {"n": 4}]
    assert _without(records, set()) is records


def test_a_stage_without_a_batch_form_runs_per_record_and_may_replace_records():
    """Records already dropped are skipped; a stage returning a new dict replaces the old,
    as a Record keeping the raw line of the one it replaces."""
    seen = []

    def stage(record):
        seen.append(record["n"])
        return None if record["n"] == 3 else {"n": record["n"] * 10}

    records = [beside({"n": i}, f"line {i}") for i in range(5)]
    dropped = {1}
    assert _one_by_one(stage, records, dropped) is True
    assert seen == [0, 2, 3, 4] and dropped == {1, 3}
    kept = _without(records, dropped)
    assert kept == [{"n": 0}, {"n": 20}, {"n": 40}]
    assert [r.raw for r in kept] == ["line 0", "line 2", "line 4"]


def test_a_record_replaced_by_a_stage_is_checked_in_full_by_later_stages():
    """The pre-scan judged the record that was there: a stage that hands back a new one
    (with new text) makes the later stages check every record."""
    settings = _settings(FilterSettings(presets=False))
    processor = Processor(settings, podinfo=_podinfo(settings), fates=RecordingFates(),
                          clock=fixed_clock)

    def leak(record):
        return {**record, "message": "password=hunter22"}

    processor.stages.insert(0, leak)
    processor._batched.insert(0, None)
    [out] = processor.process(_parse(["2023-11-14T10:30:00Z INFO plain"]), PATH)
    assert out["message"] == "password=[REDACTED]"


# -- a stage that raises (issue 11, item 8) ---------------------------------------------

class BatchFault:
    """A stage with a batch form that raises on any batch holding ``poison`` and, called
    on that one record, raises too; it redacts nothing and drops nothing otherwise."""

    def __init__(self):
        self.calls = 0

    def process_batch(self, records, dropped):
        if any("poison" in r["message"] for r in records):
            raise KeyError("batch")

    def __call__(self, record):
        self.calls += 1
        if "poison" in record["message"]:
            raise ValueError("one record: " + record["message"])
        return record


class RecordFault:
    """A per-record stage that raises on ``poison`` records."""

    def __init__(self):
        self.seen = []

    def __call__(self, record):
        self.seen.append(record["message"])
        if "poison" in record["message"]:
            raise ZeroDivisionError(record["message"])
        return record


def _with_stage(stage, position: int = 0, filters: FilterSettings = FILTERS):
    settings = _settings(filters)
    stages = build_filter_stages(settings.filters, settings.redact, fates=RecordingFates(),
                                 clock=fixed_clock)
    stages.insert(position, stage)
    return Processor(settings, podinfo=_podinfo(settings), fates=RecordingFates(),
                     clock=fixed_clock, stages=stages)


FAULT_LINES = [
    "2023-11-14T10:30:00Z INFO login with password=hunter22",
    "2023-11-14T10:30:00Z ERROR poison password=hunter22 in a record",
    "2023-11-14T10:30:00Z WARNING last one token=abcdefghij",
]


@pytest.mark.parametrize("fault", [BatchFault, RecordFault])
def test_a_stage_that_raises_costs_only_the_record_it_raises_on(fault):
    """The failing record ships as a placeholder (its file, offset, time and level, none
    of its content); the others go through every stage, redaction included, in order."""
    processor = _with_stage(fault())
    out = processor.process(_parse(FAULT_LINES), PATH)
    text = orjson.dumps(out).decode()
    assert [r["message"] for r in out] == [
        "login with",
        f"[unprocessable record: {'ValueError' if fault is BatchFault else 'ZeroDivisionError'}]",
        "last one"]
    assert out[0]["attributes"] == {"password": "[REDACTED]"}
    assert out[2]["attributes"] == {"token": "[REDACTED]"}
    assert "hunter22" not in text and "poison" not in text
    placeholder = out[1]
    assert placeholder["file"] == {"path": PATH, "offset": 100}
    assert placeholder["level"] == "error" and placeholder["timestamp"] == "2023-11-14T10:30:00.000Z"
    assert placeholder["attributes"]["unprocessable"]["stage"] == fault.__name__
    assert placeholder["k8s"] == {"namespace": "ns", "pod": "p", "node": "n"}
    assert placeholder.raw is None
    assert processor.counts.errors["unprocessable"] == 1


def test_a_per_record_stage_is_not_run_twice_on_a_record():
    """A per-record stage that raises on one record is not re-run on the others (a
    stateful stage such as throttle or dedupe must see each record once)."""
    fault = RecordFault()
    processor = _with_stage(fault)
    processor.process(_parse(FAULT_LINES), PATH)
    assert len(fault.seen) == 3


def test_a_stage_failing_after_redaction_leaks_nothing_and_later_stages_skip_the_placeholder():
    """Placed last (after redact and dedupe): the placeholder never passes another stage,
    and the other records are redacted as usual."""
    processor = _with_stage(RecordFault(), position=len(_with_stage(RecordFault()).stages))
    out = processor.process(_parse(FAULT_LINES), PATH)
    assert [r["message"].split()[0] for r in out] == ["login", "[unprocessable", "last"]
    assert "hunter22" not in orjson.dumps(out).decode()


def test_a_failing_pre_scan_still_redacts_every_record():
    """The redaction stage's pre-scan raising: no record is trusted to be clean, every
    record is checked in full (and counted as a stage failure, not as a lost record)."""
    processor = _with_stage(RecordFault())
    for stage in processor.preparing:
        def broken(records, extra=None, texts=None):
            raise RuntimeError("prescan")
        stage.prepare = broken
    out = processor.process(_parse([FAULT_LINES[0], FAULT_LINES[2]]), PATH)
    assert [r["attributes"] for r in out] == [{"password": "[REDACTED]"},
                                              {"token": "[REDACTED]"}]
    assert processor.counts.errors["stage_failed"] >= 1
    assert processor.counts.errors["unprocessable"] == 0


def test_enrichment_raising_on_a_record_ships_a_placeholder():
    """Enrichment is isolated the same way: a record it raises on becomes a placeholder."""
    processor = _with_stage(RecordFault())
    records = _parse(FAULT_LINES)
    records[1]["attributes"] = None  # enrichment cannot read it
    out = processor.process(records, PATH)
    assert [r["message"].split()[0] for r in out] == ["login", "[unprocessable", "last"]
    assert out[1]["attributes"]["unprocessable"]["stage"] == "Enricher"


#: five messages dedupe keeps apart
WORDS = ["alpha started", "bravo loaded rows", "charlie wrote", "delta closed", "echo done"]


@pytest.mark.parametrize("k", [0, 2, 4])
def test_enrichment_stopping_at_record_k_keeps_the_ids_of_the_records_it_enriched(tmp_path, k):
    """Enrichment raising at record ``k`` of 5 resumes one record at a time from ``k``:
    the records before it keep their own job and correlation ids (taken from their lines),
    not the file's; ``k`` ships as a placeholder; those after it are enriched once.
    (On the base, records 0..k-1 were enriched twice and got the file's ids.)"""
    (tmp_path / "annotations").write_text('shipper/job-id="file-job"\n'
                                          'shipper/correlation-id="file-corr"\n')
    settings = Settings(paths=[PATH], once=True, filters=FILTERS, podinfo_dir=tmp_path)
    json_line = '{{"level":"info","msg":"{}","job_id":"job-{}","correlation_id":"c-{}"}}'
    text_line = "2023-11-14T10:30:00Z INFO {} job_id=job-{} correlation_id=c-{}"
    lines = [(json_line if i % 2 else text_line).format(WORDS[i], i, i) for i in range(5)]
    records = _parse(lines)
    records[k]["attributes"] = None  # enrichment cannot read it (batch form, then alone)
    processor = Processor(settings, podinfo=_podinfo(settings), fates=RecordingFates(),
                          clock=fixed_clock)
    out = processor.process(records, PATH)
    assert [r["message"] for r in out] == [
        "[unprocessable record: AttributeError]" if i == k else WORDS[i] for i in range(5)]
    assert [(r.get("job_id"), r.get("correlation_id")) for i, r in enumerate(out) if i != k] \
        == [(f"job-{i}", f"c-{i}") for i in range(5) if i != k]
    assert all("job_id" not in r["attributes"] for i, r in enumerate(out) if i != k)
    assert processor.counts.errors["stage_failed"] == 1
    assert processor.counts.errors["unprocessable"] == 1


def test_enrichment_failing_before_its_first_record_is_retried_one_record_at_a_time():
    """An error the batch form raises before it reaches a record (not ``BatchStopped``)
    is isolated as before: counted once, then every record enriched alone, so a
    transient failure loses nothing (it used to make five placeholders of ``Processor``)."""
    class Flaky:  # the file context, whose path fields fail on the first read only
        def __init__(self, ctx: Any) -> None:
            self._ctx, self.reads = ctx, 0

        def __getattr__(self, name: str) -> Any:
            if name == "path_fields":
                self.reads += 1
                if self.reads == 1:
                    raise RuntimeError("before the loop")
            return getattr(self._ctx, name)

    processor = _with_stage(RecordFault())
    enricher = processor.enricher_for(PATH)
    enricher.ctx = Flaky(enricher.ctx)
    lines = [f"2023-11-14T10:30:00Z INFO {WORDS[i]} job_id=job-{i}" for i in range(5)]
    out = processor.process(_parse(lines), PATH)
    assert [(r["message"], r.get("job_id")) for r in out] == [
        (WORDS[i], f"job-{i}") for i in range(5)]
    assert processor.counts.errors["stage_failed"] == 1
    assert processor.counts.errors["unprocessable"] == 0


def test_enrich_batch_says_where_it_stopped():
    """``Enricher.enrich_batch`` raising on record 3 of 5: ``BatchStopped.index`` is 3,
    the cause is the record's own error, records 0..2 are enriched and 4 untouched; called
    on one record the enricher raises that error itself (the placeholder names it)."""
    records = _parse([f"2023-11-14T10:30:00Z INFO step {i} job_id=job-{i}" for i in range(5)])
    records[3]["attributes"] = 7
    enrich = Enricher(file_context(PATH, _podinfo(_settings()).facts, PathTemplates([])))
    with pytest.raises(BatchStopped) as stopped:
        enrich.enrich_batch(records)
    assert stopped.value.index == 3
    assert isinstance(stopped.value.error, AttributeError)
    assert stopped.value.__cause__ is stopped.value.error
    assert [r.get("job_id") for r in records] == ["job-0", "job-1", "job-2", None, None]
    assert records[4]["attributes"] == {"job_id": "job-4"}
    with pytest.raises(AttributeError):
        enrich(records[3])


def test_a_failing_drain_or_stage_after_it_is_counted_not_raised():
    """Dedupe summaries: a ``drain`` that raises is counted; a later stage raising on a
    summary ships a placeholder in its place."""

    class BadDrain:
        def __call__(self, record):
            return record

        def drain(self, force=False):
            raise RuntimeError("drain")

    processor = _with_stage(BadDrain(), position=0)
    assert processor.drain(force=True) == []
    assert processor.counts.errors["stage_failed"] == 1


def test_a_secret_in_the_files_job_id_is_redacted_in_every_record_of_the_batch(tmp_path):
    """The redaction pre-scan checks the file's enrichment facts once per file: a job id
    from the pod's annotations that is a token (on no raw line, in no path) makes every
    record of the batch be redacted in full, as the per-record path does."""
    token = "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8"
    (tmp_path / "annotations").write_text(f'shipper/job-id="{token}"\n')
    settings = Settings(paths=[PATH], once=True, filters=FILTERS, podinfo_dir=tmp_path)
    records = _parse([*LINES[:7], "2023-11-14T10:30:00Z ERROR boom",
                      "2023-11-14T10:30:00Z INFO work done rows=3"])
    fates_a, fates_b = RecordingFates(), RecordingFates()
    podinfo = _podinfo(settings)
    enrich = Enricher(file_context(PATH, podinfo.facts, PathTemplates(settings.path_templates)))
    assert enrich.ctx.job_id == token  # the scenario: the secret is the file's job id
    assert token not in orjson.dumps(enrich.ctx.k8s).decode()
    stages = build_filter_stages(settings.filters, settings.redact, fates=fates_a,
                                 clock=fixed_clock)
    expected = []
    for record in copy.deepcopy(records):
        for stage in [enrich, *stages]:
            record = stage(record)
            if record is None:
                break
        else:
            expected.append(record)
    processor = Processor(settings, podinfo=podinfo, fates=fates_b, clock=fixed_clock)
    got = processor.process(records, PATH)
    assert [orjson.dumps(r) for r in got] == [orjson.dumps(r) for r in expected]
    assert got and all(token not in orjson.dumps(r).decode() for r in got)
    assert sum(r.get("job_id") == "[REDACTED]" for r in got) >= 4  # the facts' id on most


def test_a_secret_as_a_lines_own_job_id_is_redacted():
    """The other half of the rule the once-per-file check relies on: an id a line carries
    itself is on its raw line, which the pre-scan reads (JSON and logfmt alike)."""
    token = "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8"
    lines = [f'{{"level":"info","msg":"started","job_id":"{token}"}}',
             f"2023-11-14T10:30:00Z INFO started job_id={token} rows=3",
             "2023-11-14T10:30:00Z INFO work done rows=3"]
    records = _parse(lines)
    fates_a, fates_b = RecordingFates(), RecordingFates()
    expected = _events_and_bytes(_reference(_settings(), copy.deepcopy(records), fates_a), fates_a)
    got = _events_and_bytes(_processed(_settings(), records, fates_b), fates_b)
    assert got == expected
    assert len(got[0]) == 3 and not any(token.encode() in line for line in got[0])
