"""Raw noise (:mod:`shipper.filters.raw_noise`): probe lines dropped unparsed leave
everything observable as today's path (parse, enrich, judge, drop) leaves it: the
records and their batches, safe offsets, drops (reason, rule, order), what drop listeners
see of them (the job id), parse counts (and their order) and parse errors."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipper.config import Settings
from shipper.enrich.podinfo import PodInfo
from shipper.filters.raw_noise import JobIdListener, RawNoise
from shipper.parse.file_parser import FileParser
from shipper.processor import Processor
from shipper.record import Record
from shipper.sources.files import Chunk
from shipper.stages import CountingFates, RecordingFates

PATH = "/var/log/app/a.log"
ENV = {"POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n"}
BENCH = Path("/tmp/perf/app.log")
BENCH_CRI = Path("/tmp/perf/app.cri.log")
CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"

KUBE = ('10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /health H'
        'TTP/1.1" 200 2 "-" "kube-probe/1.29"')
UVICORN = 'INFO:     10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK'
#: lines that look like probes but are not (or not provably) noise, and lines around them
NEAR_MISSES = [
    '10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "POST /health HTTP/1.1" 200 2 "-" "curl/8"',
    'INFO:     10.42.88.221:57661 - "POST /health HTTP/1.1" 200 OK',
    'INFO:     10.42.88.221:57661 - "GET /healthz?x=1 HTTP/1.1" 200 OK',
    'INFO:     10.42.88.221:57661 - "GET /readyz HTTP/1.1" 204 No Content',
    'INFO:     10.42.88.221:57661 - "GET /health HTTP/1.1" 500 Internal Server Error',
    'WARNING:  10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK',
    ('10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /health H'
     'TTP/1.1" 503 2 "-" "kube-probe/1.29"'),
    ('10.42.133.50 - - [31/Feb/2025:10:30:00 +0000] "GET /health H'
     'TTP/1.1" 200 2 "-" "kube-probe/1.29"'),
    ('10.42.133.50 - - [06/Jul/2099:10:30:00 +0000] "GET /health H'
     'TTP/1.1" 200 2 "-" "kube-probe/1.29"'),
    ('10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /jobs/hea'
     'lth HTTP/1.1" 200 2 "-" "kube-probe/1.29"'),
    ('10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /health H'
     'TTP/1.1" 200 2 "-" "kube-probe/1.29" job_id=j-7'),
    'INFO:     10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK job_id=j-7',
    '{"level":"info","msg":"GET /health 200","job_id":"j-9","user_agent":"kube-probe/1.29"}',
    '2025-07-06T10:30:00Z GET /health 200',
    '2025-07-06T10:30:00Z WARN GET /health 200',
    '2025-07-06T10:30:00Z INFO GET /api/v1/jobs/job-1 200 12.2ms',
    ('10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /health H'
     'TTP/1.1" 200 2 "-" "kube-probe/1.29"\r'),
]
#: what may come before or after a probe line: held records, their continuations, blocks
NEIGHBOURS = [
    "2025-07-06T10:30:00Z INFO Worker heartbeat job_id=job-1 batch_size=3",
    '{"level":"info","msg":"done","job_id":"job-2"}',
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "ValueError: boom",
    "panic: runtime error",
    "goroutine 1 [running]:",
    "\tat com.example.Foo.bar(Foo.java:1)",
    "-----BEGIN PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "-----END PRIVATE KEY-----",
    "    indented continuation",
    "",
    "plain words without a time",
    "2025-07-06 10:30:00 ERROR:  duplicate key value",
    "DETAIL:  Key (id)=(1) already exists.",
    "INFO:root:started",
]


def _podinfo(tmp: Path, job: str | None) -> PodInfo:
    settings = Settings()
    if job is not None:
        (tmp / "labels").write_text(f'job-name="{job}"\n')
        (tmp / "annotations").write_text("")
    podinfo = PodInfo(ENV, settings.downward_api, tmp if job is not None else None)
    asyncio.run(podinfo.refresh())
    return podinfo


def _chunks(lines: list[bytes], sizes: list[int]) -> list[Chunk]:
    chunks, offset, at, n = [], 0, 0, 0
    while at < len(lines):
        size = sizes[n % len(sizes)]
        part = []
        for raw in lines[at:at + size]:
            part.append((offset, raw))
            offset += len(raw) + 1
        at, n = at + size, n + 1
        chunks.append(Chunk("k", PATH, part, frozenset(), offset, at >= len(lines)))
    return chunks


Seen = list[tuple[object, str, str]]


def _fates() -> tuple[CountingFates, Seen]:
    """Counting fates with a drop listener as the job summaries' (a job id, else nothing),
    and the list it fills."""
    fates = CountingFates()
    seen: Seen = []
    fates.listeners.append(JobIdListener(
        lambda record, reason, rule: seen.append((record["job_id"], reason, rule))
        if record.get("job_id") is not None else None))
    return fates, seen


def _observed(batches: list[Any], processor: Processor, fates: CountingFates,
              seen: Seen) -> dict[str, Any]:
    """The batches with the drops, what the listener saw, parse counts and errors."""
    return {"batches": batches, "drops": list(fates.drops.items()), "seen": seen,
            "formats": list(processor.counts.formats.items()),
            "errors": sorted(processor.counts.errors.items())}


def _run(lines: list[bytes], sizes: list[int], tmp: Path, *, fast: bool,
         job: str | None = "nightly", settings: Settings | None = None) -> dict[str, Any]:
    """Everything observable of feeding ``lines`` in chunks of ``sizes``."""
    settings = settings or Settings(paths=[PATH], once=True)
    fates, seen = _fates()
    processor = Processor(settings, podinfo=_podinfo(tmp, job), fates=fates,
                          clock=lambda: 1.77e9, flush_at_eof=True)
    if not fast:
        processor._raw_noise = None
    batches = []
    for chunk in _chunks(lines, sizes):
        batch = processor.feed(chunk)
        batches.append(([(dict(r), r.raw) for r in batch.records], batch.safe_offset,
                        batch.stream is not None and batch.stream.parser.pending))
    batches += [([dict(r) for r in b.records], b.safe_offset)  # type: ignore[misc]
                for b in processor.flush(0.0, force=True, drain=True)]
    return _observed(batches, processor, fates, seen)


def _skipped(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the lines ``feed_skipping`` leaves unparsed."""
    skipped: list[int] = []
    original = FileParser.feed_skipping

    def spy(self: FileParser, *args: Any) -> tuple[list[Record], list[int]]:
        out = original(self, *args)
        skipped.extend(at for at in out[1] if at >= 0)
        return out

    monkeypatch.setattr(FileParser, "feed_skipping", spy)
    return skipped


def _compare(run: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
             *args: Any, **kw: Any) -> int:
    """Assert ``run(*args, **kw)`` observes the same with raw noise (``fast``) as without;
    return how many lines it left unparsed."""
    slow = run(*args, fast=False, **kw)
    skipped = _skipped(monkeypatch)
    fast = run(*args, fast=True, **kw)
    monkeypatch.undo()
    assert fast == slow
    return len(skipped)


def _same(lines: list[bytes], sizes: list[int], tmp: Path,
          monkeypatch: pytest.MonkeyPatch, **kw: Any) -> int:
    return _compare(_run, monkeypatch, lines, sizes, tmp, **kw)


def test_probe_lines_are_skipped_with_the_same_drops_counts_and_job_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [b"2025-07-06T10:30:00Z INFO start", KUBE.encode(), UVICORN.encode(),
             NEIGHBOURS[1].encode(), KUBE.encode(), NEIGHBOURS[0].encode()] * 5
    assert _same(lines, [7, 3, 11], tmp_path, monkeypatch) >= 10
    fast = _run(lines, [7, 3, 11], tmp_path, fast=True)
    assert ("nightly", "noise", "health") in fast["seen"]
    assert ("access", 15) in fast["formats"]


def test_without_a_job_the_stand_in_has_no_job_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [NEIGHBOURS[1].encode(), KUBE.encode(), UVICORN.encode(), NEIGHBOURS[1].encode()]
    assert _same(lines, [1, 3], tmp_path, monkeypatch, job=None) == 2
    fast = _run(lines, [1, 3], tmp_path, fast=True, job=None)
    assert fast["seen"] == [] and fast["drops"] == [(("noise", "health"), 2)]


@pytest.mark.parametrize("seed", range(12))
def test_probes_among_near_misses_and_multiline_records_match_todays_path(
        seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random mixes of probes, near misses and held records, fed in random chunks."""
    rng = random.Random(seed)
    pool = [KUBE, UVICORN] * 6 + NEAR_MISSES + NEIGHBOURS
    lines = [rng.choice(pool).encode() for _ in range(300)]
    sizes = [rng.randint(1, 40) for _ in range(20)]
    _same(lines, sizes, tmp_path, monkeypatch)


def test_near_misses_are_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for line in NEAR_MISSES:
        lines += [NEIGHBOURS[1].encode(), line.encode(), NEIGHBOURS[1].encode()]
    assert _same(lines, [len(lines)], tmp_path, monkeypatch) == 0


@pytest.mark.parametrize("before", NEIGHBOURS)
def test_a_probe_after_any_record_and_before_any_line(
        before: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for after in NEIGHBOURS + [KUBE, UVICORN]:
        for probe in (KUBE, UVICORN):
            lines = [before.encode(), probe.encode(), after.encode(), NEIGHBOURS[1].encode()]
            for sizes in ([4], [2, 2], [1], [3, 1]):
                _same(lines, sizes, tmp_path, monkeypatch)


def test_a_probe_kept_by_the_settings_is_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [NEIGHBOURS[1].encode(), UVICORN.encode(), KUBE.encode(), NEIGHBOURS[1].encode()]
    settings = Settings(paths=[PATH], once=True,
                        filters={"presets": {"health": False, "polling": True}})
    assert _same(lines, [4], tmp_path, monkeypatch, settings=settings) == 0


def test_only_job_id_listeners_and_counting_fates_allow_it(tmp_path: Path) -> None:
    settings = Settings(paths=[PATH], once=True)
    podinfo = _podinfo(tmp_path, None)
    assert Processor(settings, podinfo=podinfo, fates=RecordingFates())._raw_noise is None
    fates = CountingFates()
    processor = Processor(settings, podinfo=podinfo, fates=fates)
    assert processor._raw_noise is not None
    fates.listeners.append(lambda record, reason, rule: None)
    lines = [NEIGHBOURS[1].encode(), KUBE.encode(), NEIGHBOURS[1].encode()]
    processor.feed(_chunks(lines, [3])[0])  # the first chunk detects the runtime
    stream = processor.streams.get("k", PATH)
    assert processor._raw_noise.read(processor, stream, _chunks(lines, [3])[0]) is None
    assert isinstance(processor._raw_noise, RawNoise)


@pytest.mark.parametrize("bench", [
    pytest.param(path, id=path.name, marks=pytest.mark.skipif(
        not path.is_file(), reason="bench corpus not on this machine"))
    for path in (BENCH, BENCH_CRI)])
@pytest.mark.parametrize("job", [None, "nightly"])
def test_bench_corpus_matches_todays_path(bench: Path, job: str | None, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The first 6000 lines of the plain and the CRI bench files."""
    with bench.open("rb") as f:
        lines = [next(f).rstrip(b"\n") for _ in range(6000)]
    assert _same(lines, [1000, 333, 2048], tmp_path, monkeypatch, job=job) > 300


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*/input/**/*.log") if p.is_file())


@pytest.mark.parametrize("path", _corpus_files() or [None])
def test_golden_files_match_todays_path(path: Path | None, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if path is None:
        pytest.skip(f"public corpus not found at {CORPUS}")
    lines = path.read_bytes().split(b"\n")[:-1]
    _same(lines, [64, 7], tmp_path, monkeypatch)


class _Jobs:
    def __init__(self) -> None:
        self.seen: list[tuple[object, str]] = []

    def observe_drop(self, record: dict[str, Any], reason: str) -> None:
        self.seen.append((record["job_id"], reason))


def test_the_job_summaries_listener_allows_it_and_ignores_records_without_a_job() -> None:
    """The listener the server adds is a :class:`JobIdListener` (so raw noise works with
    the server on) and keeps its contract: nothing for a record without a job id."""
    from shipper.components import _drop_observer

    jobs = _Jobs()
    listener = _drop_observer(jobs, Settings())
    assert isinstance(listener, JobIdListener)
    listener(Record({"message": "GET /health"}), "noise", "health")
    listener(Record({"job_id": "j-1", "message": "x"}), "noise", "health")
    assert jobs.seen == [("j-1", "noise")]
