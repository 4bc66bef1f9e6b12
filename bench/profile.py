"""``make profile``: where ``shipper run --once`` spends its CPU over 200k corpus lines.

cProfile of the CLI in this process (stdout to a file), then the top functions by
cumulative and by own time; the ``.prof`` file (for snakeviz / ``pstats``) and a text
summary go under ``bench/.cache/profile/``. cProfile sees the event-loop thread only;
with ``py-spy`` installed and ``BENCH_PYSPY=1`` the CLI is also sampled (all threads, no
tracing overhead) into collapsed stacks (``shipper.collapsed``, flame graph input for
flamegraph.pl or speedscope) with a summary by own and inclusive samples.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.corpora import own_corpus
from bench.manyfiles import split_corpus
from bench.settings import POD_FACTS, from_env

PROFILE_LINES = 200_000
TOP = 25


def _corpus_file(lines: int) -> Path:
    settings = from_env()
    if settings.lines < lines:
        settings = settings.model_copy(update={"lines": lines})
    corpus = own_corpus(settings, log=lambda m: print(m, file=sys.stderr))
    outdir = settings.cache / "files" / f"own-{lines}-1"
    split_corpus(corpus, 1, min(lines, corpus.manifest.lines), outdir)
    return (outdir / "f0000.log").resolve()


def _shipper_main(argv: list[str], out: Path) -> None:
    """Run the CLI in-process with fd 1 pointed at ``out``."""
    from shipper.cli import main

    saved = os.dup(1)
    with open(out, "wb") as fh:
        os.dup2(fh.fileno(), 1)
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if code not in (0, None):
        raise SystemExit(f"shipper exited {code}")


def summary(prof: Path) -> str:
    text = io.StringIO()
    stats = pstats.Stats(str(prof), stream=text).strip_dirs()
    for key in ("cumulative", "tottime"):
        text.write(f"\n=== top {TOP} by {key} ===\n")
        stats.sort_stats(key).print_stats(TOP)
    return text.getvalue()


def pyspy(argv: list[str], outdir: Path) -> str:
    """Sample the CLI with py-spy (the thread holding the GIL, so samples ~ CPU; no tracing
    overhead): collapsed stacks
    (flame graph input) and a summary by own and inclusive samples."""
    exe = shutil.which("py-spy") or str(Path(sys.prefix) / "bin" / "py-spy")
    if not Path(exe).exists():
        return "py-spy not installed: no sampled profile\n"
    raw = outdir / "shipper.collapsed"
    cmd = [exe, "record", "--format", "raw", "--gil", "-r", "250", "-o", str(raw), "--",
           sys.executable, "-m", "shipper.cli", *argv]
    with open(outdir / "pyspy.out", "wb") as out, open(outdir / "pyspy.err", "wb") as err:
        subprocess.run(cmd, stdout=out, stderr=err, env=os.environ | POD_FACTS, check=False)
    if not raw.exists():
        return "py-spy could not sample (see bench/.cache/profile/pyspy.err)\n"
    return collapsed_summary(raw.read_text())


def _function(frame: str) -> str:
    """``Redactor.scan (shipper/filters/redact.py:89)`` -> ``Redactor.scan redact.py``."""
    name, _, where = frame.partition(" (")
    return f"{name} {where.rsplit('/', 1)[-1].split(':')[0]}"


def collapsed_summary(text: str) -> str:
    """Top functions by own and by inclusive share of the samples of collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            incl[frame] += int(count)
    out = [f"py-spy: {total} samples"]
    for title, counter, top in (("own", own, TOP), ("inclusive", incl, 2 * TOP)):
        out.append(f"\n=== top {top} by {title} samples ===")
        out += [f"{100 * n / total:6.1f}%  {name}" for name, n in counter.most_common(top)]
    return "\n".join(out) + "\n"


def main() -> int:
    lines = int(os.environ.get("BENCH_PROFILE_LINES", PROFILE_LINES))
    source = _corpus_file(lines)
    outdir = (from_env().cache / "profile").resolve()
    (outdir / "podinfo").mkdir(parents=True, exist_ok=True)
    argv = ["run", "--once", "--path", str(source), "--podinfo-dir", str(outdir / "podinfo")]
    os.environ.update(POD_FACTS)
    prof = outdir / "shipper.prof"
    profiler = cProfile.Profile()
    profiler.runcall(_shipper_main, argv, outdir / "out.ndjson")
    profiler.dump_stats(prof)
    text = summary(prof)
    (outdir / "summary.txt").write_text(text)
    print(text)
    print(f"profile: {prof} (summary in {outdir / 'summary.txt'})", file=sys.stderr)
    if os.environ.get("BENCH_PYSPY") == "1":
        sampled = pyspy(argv, outdir)
        (outdir / "pyspy-summary.txt").write_text(sampled)
        print(sampled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
