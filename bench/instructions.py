"""Instructions per line: a CPU figure that a busy machine does not move.

CPU seconds on a shared 2-core box move by 10-20% from run to run; the number of
instructions a process executes moves by well under 1%. ``valgrind --tool=cachegrind
--cache-sim=no`` counts them (``I refs``) for ``shipper run --once`` (the bench's command
line: server on, pod facts in env; string hash seed 0) over the first ``lines`` lines of a
corpus, plain and CRI-wrapped, and over an empty file: ``(run - empty) / lines`` is the
cost of a line, the empty run the start-up. Under valgrind a process runs ~30x slower, so
the scenario takes at most :data:`MAX_LINES` lines. Opt-in (``BENCH_SCENARIOS=instructions``,
``make bench-ir``); it needs ``valgrind`` on the PATH (Debian package ``valgrind``) and says
so when it is not. Instructions are not time (a cache miss costs more than an add), so
compare them between commits, and keep the CPU-second rows for comparisons with the peers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from bench.corpora import Corpus
from bench.errors import BenchError
from bench.procs import Command
from bench.settings import BenchSettings
from bench.systems import shipper_command
from bench.throughput import fresh_workdir

MAX_LINES = 20_000
_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
_VALGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
             "--cachegrind-out-file=/dev/null"]


def instruction_count(stderr: str) -> int:
    """The ``I refs`` total cachegrind prints at exit (``BenchError`` when absent)."""
    found = _I_REFS.findall(stderr)
    if not found:
        raise BenchError("cachegrind printed no 'I refs' total: " + stderr[-300:])
    return int(found[-1].replace(",", ""))


def head(source: Path, lines: int, target: Path) -> int:
    """The first ``lines`` lines of ``source`` into ``target``; how many there were."""
    with open(source, "rb") as fh:
        taken = [line for _, line in zip(range(lines), fh, strict=False)]
    target.write_bytes(b"".join(taken))
    return len(taken)


def count(settings: BenchSettings, path: Path, work: Path) -> int:
    """Instructions of one ``shipper run --once`` over ``path`` under cachegrind."""
    return count_command(settings, shipper_command(settings, path, work, once=True))


def count_command(settings: BenchSettings, cmd: Command, output: Path | None = None) -> int:
    """Instructions of one run of ``cmd`` under cachegrind; its stdout into ``output``
    (else discarded)."""
    # one string hash seed: dict and set probes then repeat exactly (random seeds move
    # the count by several percent)
    argv, env = _without_env(cmd.argv, os.environ | cmd.env | {"PYTHONHASHSEED": "0"})
    with open(output or os.devnull, "wb") as out:
        result = subprocess.run([*_VALGRIND, *argv], env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.PIPE, text=True, timeout=settings.timeout,
                                check=False)
    if result.returncode != 0:
        raise BenchError(f"shipper under valgrind exited {result.returncode}: "
                         + result.stderr[-300:])
    return instruction_count(result.stderr)


def _without_env(argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """``env NAME=value ... command`` (a ``BENCH_SHIPPER_REF`` snapshot) as the command
    with those variables: valgrind would count ``env`` and not the process it starts."""
    if not argv or Path(argv[0]).name != "env":
        return argv, env
    argv, env = argv[1:], dict(env)
    while argv and "=" in argv[0] and not argv[0].startswith("-"):
        name, value = argv.pop(0).split("=", 1)
        env[name] = value
    return argv, env


def run_instructions(settings: BenchSettings, corpus: Corpus, log=print) -> dict:
    """Start-up instructions and instructions per line, plain and CRI-wrapped."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed (apt-get install valgrind)"}
    work = fresh_workdir(settings, "instructions")
    lines = min(corpus.manifest.lines, MAX_LINES)
    empty = work / "empty.log"
    empty.write_bytes(b"")
    startup = count(settings, empty, work)
    row: dict = {"lines": lines, "startup_instructions": startup}
    for kind, name in (("plain", "app.log"), ("cri", "app.cri.log")):
        path = work / f"{kind}.log"
        got = head(corpus.file(name), lines, path)
        row[f"{kind}_per_line"] = (count(settings, path, work) - startup) / got
    row["cri_over_plain"] = row["cri_per_line"] / row["plain_per_line"] - 1
    log(f"  instructions: start-up {startup / 1e9:.2f} G, {row['plain_per_line']:,.0f} a line "
        f"plain, {row['cri_per_line']:,.0f} CRI ({row['cri_over_plain']:+.0%})")
    return row
