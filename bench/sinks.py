"""HTTP sinks' CPU per line against stdout, with full batches, into a loopback receiver.

Only the shipper's CPU is counted (its process tree, from ``os.wait4``); the receiver
(``bench.receiver``) is a process of its own. Each sink runs paired with a stdout run, the
two back to back and their order swapped every round, for ``max(BENCH_SINK_ROUNDS, BENCH_RUNS)``
rounds (``BENCH_SINK_ROUNDS`` 5 unless set; the smoke test sets 1): a
pair's ratio sees the machine in one state, and the row reports the median of the pairs'
ratios with their spread (``ratio_min``/``ratio_max``, every one in ``ratios``), so a drift
of the machine's speed shows as spread instead of landing on one side. Five, not three:
one run's three pairs spread 1.13-1.47 (datadog, 2026-12-03), which moved the median by
more than the target's margin. Each pair's two CPU times are kept too (``cpu_s``: [stdout,
sink] seconds, round by round), so a spread can be traced to the run that moved.

The corpus is stamped 2025-07-06, more than the Datadog intake's 18 h ago: with its default
``max_age`` the sink would dead-letter every record unsent (the run of 2026-12-02 measured
that: 0 requests). The datadog runs set ``max_age: null`` so they measure sending; a row
whose receiver got no request says so (``delivered: false``).

Both runs of a pair load a config file that names their sink, stdout's too (``sinks: [{type:
stdout}]``), as a pod's do (the chart and ``deploy/`` always pass ``--config``): loading one
(the YAML parser's import and the validation) costs ~25 ms of CPU, 1.5% of a stdout run,
which the pairs before 2026-12-04's thirteenth session charged to the HTTP sinks alone.

The receiver counts the records the bodies hold (decoded per protocol, see
``bench.receiver``); each sink run's count is checked against the lines its paired stdout
run shipped: a row says ``complete: false`` (and the log says LOST) when any round's
receiver got fewer or more, so a partial loss cannot pass for a cheap sink.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bench.corpora import Corpus
from bench.errors import BenchError
from bench.manyfiles import MAX_LINES, split_corpus
from bench.procs import Measurement, run_to_exit
from bench.settings import BenchSettings
from bench.systems import Command, shipper_command
from bench.throughput import fresh_workdir

#: sink type -> URL path on the receiver (loki and datadog add their API paths themselves)
SINKS = {"http": "/ingest", "loki": "", "datadog": ""}
#: settings besides type and url (YAML lines), see the module docstring
SINK_SETTINGS = {"datadog": ["max_age: null"]}
#: a placeholder key so the datadog sink starts; the loopback receiver ignores it
SINK_ENV = {"datadog": {"DD_API_KEY": "bench-placeholder-not-a-key"}}
_NOT_THERE = ("invalid choice", "unknown sink", "not supported", "no such option",
              "unrecognized arguments", "no such sink", "unknown type", "no module named")


class Receiver:
    """The loopback receiver process (``bench.receiver``)."""

    def __enter__(self) -> Receiver:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.receiver"],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self.stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def run_sinks(settings: BenchSettings, corpus: Corpus, log=print) -> list[dict]:
    total = min(corpus.manifest.lines, MAX_LINES)
    source_dir = settings.cache / "files" / f"{corpus.name}-{total}-1"
    split_corpus(corpus, 1, total, source_dir)
    source = (source_dir / "f0000.log").resolve()
    stdout_cpus: list[float] = []
    rows = []
    for sink in SINKS:
        pairs = _pairs(settings, sink, source, log)
        if isinstance(pairs, dict):  # skipped or failed
            rows.append(pairs)
            continue
        stdout_cpus += [base for base, _, _ in pairs]
        rows.append(_row(sink, total, pairs, log))
    if stdout_cpus:
        rows.insert(0, {"sink": "stdout", "lines": total, "runs": len(stdout_cpus),
                        "cpu_s_per_1m": statistics.median(stdout_cpus) * 1e6 / total})
    else:  # every stdout run failed (or every sink was skipped): a skipped row, as before
        errors = [row["error"] for row in rows if "stdout run failed" in row.get("error", "")]
        rows.insert(0, {"sink": "stdout", "skipped": "failed" if errors else "no pair ran",
                        "error": errors[0] if errors else ""})
    return rows


def _pairs(settings: BenchSettings, sink: str, source: Path,
           log) -> list[tuple[float, float, dict]] | dict:
    """(stdout CPU, sink CPU, receiver stats) per round, the order swapped every round; the
    stats get ``shipped``: the lines the round's stdout run wrote."""
    pairs = []
    for round_ in range(max(settings.sink_rounds, settings.runs)):
        got: dict[str, Measurement] = {}
        for kind in (("stdout", sink) if round_ % 2 == 0 else (sink, "stdout")):
            if kind == "stdout":
                try:
                    got[kind] = _run(settings, "stdout", None, source)
                except BenchError as exc:  # no pair without it: the sink's row is skipped
                    return _skipped(sink, f"the paired stdout run failed: {exc}", log)
                continue
            with Receiver() as receiver:
                try:
                    got[kind] = _run(settings, sink, receiver.port, source)
                except BenchError as exc:
                    return _skipped(sink, str(exc), log)
            stats = receiver.stats
        stats = {**stats, "shipped": got["stdout"].lines_out}
        pairs.append((got["stdout"].cpu, got[sink].cpu, stats))
    return pairs


def complete(stats: dict) -> bool:
    """Whether the receiver got every record the paired stdout run shipped, each body
    decoded (no more, no fewer)."""
    return (stats.get("undecoded", 0) == 0 and "records" in stats
            and stats["records"] == stats.get("shipped"))


def _row(sink: str, total: int, pairs: list[tuple[float, float, dict]], log) -> dict:
    ratios = [cpu / base for base, cpu, _ in pairs]
    requests = [stats.get("requests", 0) for _, _, stats in pairs]
    counts = [(stats.get("records"), stats.get("shipped")) for _, _, stats in pairs]
    whole = all(complete(stats) for _, _, stats in pairs)
    row = {"sink": sink, "lines": total, "runs": len(pairs),
           "cpu_s_per_1m": statistics.median(cpu for _, cpu, _ in pairs) * 1e6 / total,
           "ratio_vs_stdout": statistics.median(ratios), "ratio_min": min(ratios),
           "ratio_max": max(ratios), "ratios": ratios,
           "cpu_s": [[round(base, 3), round(cpu, 3)] for base, cpu, _ in pairs],
           "receiver": pairs[-1][2],
           "delivered": min(requests) > 0, "complete": whole,
           "records_vs_shipped": counts}
    log(f"  sink {sink:8}: {row['cpu_s_per_1m']:.2f} cpu-s per 1M, x stdout "
        f"{row['ratio_vs_stdout']:.2f} ({row['ratio_min']:.2f}-{row['ratio_max']:.2f}, "
        f"{len(ratios)} pairs)" + ("" if row["delivered"] else ", NOTHING DELIVERED")
        + ("" if whole or not row["delivered"]
           else f", LOST: records received / shipped by stdout {counts}"))
    return row


def _run(settings: BenchSettings, sink: str, port: int | None, source: Path) -> Measurement:
    work = fresh_workdir(settings, f"sink-{sink}")
    cmd = sink_command(settings, sink, port, source, work)
    return run_to_exit(cmd, work / "stderr.log", settings.timeout)


def sink_command(settings: BenchSettings, sink: str, port: int | None, source: Path,
                 work: Path) -> Command:
    """The run of ``sink`` (``port``: the receiver's, ``None`` for stdout) with a config
    file naming it in ``work``: stdout's run loads one too (see the module docstring)."""
    lines = [f"- type: {sink}"]
    if port is not None:
        lines.append(f"  url: http://127.0.0.1:{port}{SINKS[sink]}")
    lines += [f"  {line}" for line in SINK_SETTINGS.get(sink, [])]
    config = work / "sinks.yaml"
    config.write_text("sinks:\n" + "\n".join(lines) + "\n")
    cmd = shipper_command(settings, source, work, once=True, extra=("--config", str(config)))
    return replace(cmd, env=cmd.env | SINK_ENV.get(sink, {}))


def _skipped(sink: str, text: str, log) -> dict:
    missing = any(marker in text.lower() for marker in _NOT_THERE)
    note = "sink type not available yet" if missing else "failed"
    log(f"  sink {sink:8}: skipped ({note}): {text[:200]}")
    return {"sink": sink, "skipped": note, "error": text[:500]}
