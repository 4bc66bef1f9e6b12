"""HTTP sinks' CPU per line against stdout, with full batches, into a loopback receiver."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bench.corpora import Corpus
from bench.errors import BenchError
from bench.manyfiles import MAX_LINES, split_corpus
from bench.procs import run_to_exit
from bench.settings import BenchSettings
from bench.systems import shipper_command
from bench.throughput import fresh_workdir

#: sink type -> URL path on the receiver (loki and datadog add their API paths themselves)
SINKS = {"http": "/ingest", "loki": "", "datadog": ""}
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
    stdout_row = _run_sink(settings, "stdout", (), source, total, log)
    rows = [stdout_row]
    for sink, path in SINKS.items():
        with Receiver() as receiver:
            url = f"http://127.0.0.1:{receiver.port}{path}"
            row = _run_sink(settings, sink, ("--sink", f"{sink}={url}"), source, total, log)
        row["receiver"] = receiver.stats
        if "cpu_s_per_1m" in row and "cpu_s_per_1m" in stdout_row:
            row["ratio_vs_stdout"] = row["cpu_s_per_1m"] / stdout_row["cpu_s_per_1m"]
        rows.append(row)
    return rows


def _run_sink(settings: BenchSettings, sink: str, extra: tuple[str, ...], source: Path,
              total: int, log) -> dict:
    cpus = []
    for _ in range(settings.runs):
        work = fresh_workdir(settings, f"sink-{sink}")
        cmd = shipper_command(settings, source, work, once=True, extra=extra)
        cmd = replace(cmd, env=cmd.env | SINK_ENV.get(sink, {}))
        try:
            cpus.append(run_to_exit(cmd, work / "stderr.log", settings.timeout).cpu)
        except BenchError as exc:
            text = str(exc)
            missing = any(marker in text.lower() for marker in _NOT_THERE)
            note = "sink type not available yet" if missing else "failed"
            log(f"  sink {sink:8}: skipped ({note}): {text[:200]}")
            return {"sink": sink, "skipped": note, "error": text[:500]}
    cpus.sort()
    row = {"sink": sink, "lines": total, "cpu_s_per_1m": cpus[len(cpus) // 2] * 1e6 / total}
    log(f"  sink {sink:8}: {row['cpu_s_per_1m']:.2f} cpu-s per 1M")
    return row
