"""Raw noise (:mod:`shipper.filters.raw_noise`) beyond a plain file read chunk by chunk:
probe lines inside CRI and docker json-file wrappers, and chunks grouped by
``Processor.feed_many``, dropped unparsed, leave everything observable as today's path
leaves it (records, batches, safe offsets, drops and their order, what drop listeners see,
parse counts and errors); partial pieces, and lines joined from them, are never skipped."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.config import Settings
from shipper.processor import Processor
from shipper.sources.files import Chunk
from tests.unit.filters.test_raw_noise import (
    BENCH,
    KUBE,
    NEAR_MISSES,
    NEIGHBOURS,
    UVICORN,
    _compare,
    _fates,
    _observed,
    _podinfo,
    _run,
    _same,
)

#: the lines of the plain file test: probes between held records and JSON lines
MIX = ["2025-07-06T10:30:00Z INFO start", KUBE, UVICORN, NEIGHBOURS[1], KUBE, NEIGHBOURS[0]]


def _stamp(i: int) -> str:
    return f"2025-07-06T10:{i // 60 % 60:02d}:{i % 60:02d}.{i:09d}Z"


def _stream(i: int) -> str:
    return "stderr" if i % 3 == 2 else "stdout"


def _cri(texts: list[str], rng: random.Random | None = None, split: float = 0.0,
         stamp: Any = _stamp) -> list[bytes]:
    """CRI lines of ``texts`` (streams and times varying); with ``split``, that share of
    them cut into a ``P`` piece and the ``F`` rest."""
    out = []
    for i, text in enumerate(texts):
        if rng is not None and len(text) > 1 and rng.random() < split:
            cut = rng.randint(1, len(text) - 1)
            out.append(f"{stamp(i)} {_stream(i)} P {text[:cut]}".encode())
            text = text[cut:]
        out.append(f"{stamp(i)} {_stream(i)} F {text}".encode())
    return out


def _docker(texts: list[str], rng: random.Random | None = None,
            split: float = 0.0) -> list[bytes]:
    """docker json-file lines of ``texts``; with ``split``, that share cut in two pieces
    (the first without its newline)."""
    out = []
    for i, text in enumerate(texts):
        entry = {"stream": _stream(i), "time": _stamp(i)}
        if rng is not None and len(text) > 1 and rng.random() < split:
            cut = rng.randint(1, len(text) - 1)
            out.append(orjson.dumps({"log": text[:cut], **entry}))
            text = text[cut:]
        out.append(orjson.dumps({"log": text + "\n", **entry}))
    return out


@pytest.mark.parametrize("wrap", [_cri, _docker])
def test_wrapped_probe_lines_are_skipped_with_the_same_drops_counts_and_job_ids(
        wrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = wrap(MIX * 5)
    assert _same(lines, [7, 3, 11], tmp_path, monkeypatch) >= 10
    fast = _run(lines, [7, 3, 11], tmp_path, fast=True)
    assert ("nightly", "noise", "health") in fast["seen"]
    assert ("access", 15) in fast["formats"]


@pytest.mark.parametrize("wrap", [_cri, _docker])
def test_without_a_job_the_wrapped_drops_are_counted_the_same(
        wrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = wrap([NEIGHBOURS[1], KUBE, UVICORN, NEIGHBOURS[1]])
    assert _same(lines, [1, 3], tmp_path, monkeypatch, job=None) == 2
    fast = _run(lines, [1, 3], tmp_path, fast=True, job=None)
    assert fast["seen"] == [] and fast["drops"] == [(("noise", "health"), 2)]


def test_the_wrappers_stream_and_time_do_not_stop_a_skip(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes on either stream, with any possible wrapper time, are all skipped."""
    lines = _cri([NEIGHBOURS[1]] + [KUBE, UVICORN] * 6 + [NEIGHBOURS[1]])
    assert _same(lines, [len(lines)], tmp_path, monkeypatch) == 12
    assert {line.split(b" ")[1] for line in lines} == {b"stdout", b"stderr"}


def test_an_impossible_wrapper_time_has_a_timeless_probe_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's line takes the wrapper's time: an impossible one is counted as
    ``bad_timestamp`` when parsed, so the line is parsed; kube-probe's has its own."""
    lines = _cri([NEIGHBOURS[1], UVICORN, KUBE, NEIGHBOURS[1]],
                 stamp=lambda i: "2025-02-31T10:30:00Z")
    assert _same(lines, [4], tmp_path, monkeypatch) == 1
    fast = _run(lines, [4], tmp_path, fast=True)
    assert ("bad_timestamp", 3) in fast["errors"]  # the two JSON lines (no time) and uvicorn's


@pytest.mark.parametrize("wrap", [_cri, _docker])
def test_probes_in_partial_pieces_are_never_skipped(
        wrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every probe cut into pieces: joined, each is parsed; a probe of the other stream
    read while a piece is held is parsed too."""
    lines = wrap([NEIGHBOURS[1], KUBE, UVICORN, NEIGHBOURS[1]] * 3, random.Random(1), 1.0)
    assert _same(lines, [5, 2], tmp_path, monkeypatch) == 0
    held = [f"{_stamp(0)} stdout P {KUBE[:30]}", f"{_stamp(1)} stderr F {KUBE}",
            f"{_stamp(2)} stdout F {KUBE[30:]}", f"{_stamp(3)} stdout F {NEIGHBOURS[1]}"]
    assert _same([line.encode() for line in held], [4], tmp_path, monkeypatch) == 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("wrap", [_cri, _docker])
def test_wrapped_probes_among_pieces_near_misses_and_multiline_records_match(
        seed: int, wrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random mixes (a tenth of the lines cut in pieces), fed in random chunks."""
    rng = random.Random(seed)
    pool = [KUBE, UVICORN] * 6 + NEAR_MISSES + NEIGHBOURS
    lines = wrap([rng.choice(pool) for _ in range(300)], rng, 0.1)
    sizes = [rng.randint(1, 40) for _ in range(20)]
    _same(lines, sizes, tmp_path, monkeypatch)


@pytest.mark.parametrize("wrap", [_cri, _docker])
def test_a_wrapped_probe_after_any_record_and_before_any_line(
        wrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for before in NEIGHBOURS:
        for after in NEIGHBOURS + [KUBE, UVICORN]:
            lines = wrap([before, KUBE, after, NEIGHBOURS[1]])
            for sizes in ([4], [2, 2], [3, 1]):
                _same(lines, sizes, tmp_path, monkeypatch)


# --- chunks grouped by Processor.feed_many ---------------------------------------------


def _group_run(files: list[list[bytes]], tmp: Path, seed: int, *, fast: bool,
               job: str | None = "nightly") -> dict[str, Any]:
    """Everything observable of feeding ``files`` (one file key each) chunk by chunk,
    their chunks interleaved and handed to ``feed_many`` a few at a time, each file let
    go after its last chunk."""
    rng = random.Random(seed)
    fates, seen = _fates()
    processor = Processor(Settings(paths=["/var/log/app/*.log"], once=True),
                          podinfo=_podinfo(tmp, job), fates=fates, clock=lambda: 1.77e9)
    if not fast:
        processor._raw_noise = None
    queues: list[list[Chunk | str]] = []
    for n, lines in enumerate(files):
        items: list[Chunk | str] = []
        offset, at = 0, 0
        while at < len(lines):
            part = []
            for raw in lines[at:at + rng.randint(1, 30)]:
                part.append((offset, raw))
                offset += len(raw) + 1
            at += len(part)
            items.append(Chunk(f"k{n}", f"/var/log/app/{n}.log", part, frozenset(), offset,
                               at >= len(lines)))
        queues.append([*items, f"k{n}"])
    order: list[Chunk | str] = []
    while any(queues):
        order.append(rng.choice([q for q in queues if q]).pop(0))
    batches = []
    while order:
        group, order = order[:rng.randint(2, 7)], order[rng.randint(2, 7):]
        batches += [(b.file_key, b.safe_offset, [(dict(r), r.raw) for r in b.records])
                    for b in processor.feed_many(group)]
    return _observed(batches, processor, fates, seen)


def _group_same(files: list[list[bytes]], tmp: Path, monkeypatch: pytest.MonkeyPatch,
                seed: int, **kw: Any) -> int:
    return _compare(_group_run, monkeypatch, files, tmp, seed, **kw)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("job", [None, "nightly"])
def test_grouped_chunks_skip_probes_with_the_same_drops_counts_and_offsets(
        seed: int, job: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain, CRI (with pieces) and docker files grouped: the drops are placed among the
    records of the whole group as the noise stage meets them."""
    rng = random.Random(seed)
    pool = [KUBE, UVICORN] * 6 + NEAR_MISSES + NEIGHBOURS
    files = []
    for n in range(6):
        texts = [rng.choice(pool) for _ in range(rng.randint(1, 60))]
        files.append(_cri(texts, rng, 0.1) if n % 3 == 1 else _docker(texts, rng, 0.1)
                     if n % 3 == 2 else [text.encode() for text in texts])
    assert _group_same(files, tmp_path, monkeypatch, seed, job=job) > 0


@pytest.mark.skipif(not BENCH.is_file(), reason="bench corpus not on this machine")
def test_grouped_small_files_of_the_bench_corpus_skip_their_probes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``/tmp/s26/files/many``: files of 20 lines each."""
    with BENCH.open("rb") as f:
        lines = [next(f).rstrip(b"\n") for _ in range(2000)]
    files = [lines[at:at + 20] for at in range(0, len(lines), 20)]
    assert _group_same(files, tmp_path, monkeypatch, 3) > 60
