"""Shared helpers to run the public corpus (../shared/corpus) through the real CLI.

A scenario directory holds ``input/``, ``pod.json`` (env, labels, annotations, optional
``path_templates``), ``expected.ndjson`` and ``dropped.json``; see the corpus README for
how an expected line is compared with a record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO.parent / "shared" / "corpus").resolve()
SCENARIOS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.ndjson").exists()) \
    if CORPUS.is_dir() else []


def go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_podinfo(pod: dict, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("labels", "annotations"):
        lines = [f"{k}={go_quote(v)}" for k, v in pod.get(name, {}).items()]
        (target / name).write_text("\n".join(lines) + "\n")
    return target


def run_scenario(scenario: Path, workdir: Path, *extra: str) -> tuple[list[dict], str]:
    """Run ``shipper run --once`` on a scenario; (records, stderr)."""
    pod = json.loads((scenario / "pod.json").read_text())
    podinfo = write_podinfo(pod, workdir / "podinfo")
    cmd = [sys.executable, "-m", "shipper.cli", "run", "--once",
           "--path", f"{scenario / 'input'}/**/*.log", "--podinfo-dir", str(podinfo)]
    for template in pod.get("path_templates", []):
        cmd += ["--path-template", template]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env.update(pod.get("env", {}))
    proc = subprocess.run([*cmd, *extra], capture_output=True, env=env, timeout=120, cwd=REPO)
    if proc.returncode != 0:
        raise AssertionError(f"shipper exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    records = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    return records, proc.stderr.decode()


def lookup(record: dict, key: str):
    if key in record:
        return record[key]
    return (record.get("attributes") or {}).get(key)


def same_instant(a: str, b: str) -> bool:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return abs((parse(a) - parse(b)).total_seconds()) <= 0.001


def mismatches(expected: dict, record: dict, input_dir: Path) -> list[str]:
    """Every way ``record`` differs from the ``expected`` line (empty = match)."""
    problems: list[str] = []
    path = Path(record.get("file", {}).get("path", ""))
    rel = os.path.relpath(path, input_dir) if path.is_absolute() else str(path)
    message = (record.get("message") or "")
    for key, want in expected.items():
        if key == "file":
            ok = rel == want
        elif key == "message":
            ok = message.strip() == want.strip()
        elif key == "message_contains":
            ok = want in message
        elif key == "message_startswith":
            ok = message.startswith(want)
        elif key == "logger_startswith":
            ok = str(record.get("logger") or "").startswith(want)
        elif key == "timestamp":
            ok = "timestamp" in record and same_instant(record["timestamp"], want)
        elif key == "attributes":
            ok = all(str(lookup(record, k)) == str(v) for k, v in want.items())
        elif key == "must_contain":
            ok = want in json.dumps(record, ensure_ascii=False)
        elif key == "lines":
            ok = message.count("\n") + 1 == want
        else:
            ok = lookup(record, key) == want
        if not ok:
            problems.append(f"{key}: want {want!r}")
    return problems


def compare(scenario: Path, records: list[dict]) -> list[str]:
    """Per file, in order: every expected record matches and nothing extra came out."""
    expected = [json.loads(l) for l in (scenario / "expected.ndjson").read_text().splitlines() if l]
    input_dir = scenario / "input"
    by_file: dict[str, list[dict]] = {}
    for record in records:
        rel = os.path.relpath(record["file"]["path"], input_dir)
        by_file.setdefault(rel, []).append(record)
    want_by_file: dict[str, list[dict]] = {}
    for line in expected:
        want_by_file.setdefault(line["file"], []).append(line)
    errors: list[str] = []
    for name in sorted(set(by_file) | set(want_by_file)):
        got, want = by_file.get(name, []), want_by_file.get(name, [])
        if len(got) != len(want):
            errors.append(f"{name}: {len(got)} records, expected {len(want)}")
        for i, (exp, rec) in enumerate(zip(want, got)):
            for problem in mismatches(exp, rec, input_dir):
                errors.append(f"{name}[{i}] {problem}; got {json.dumps(rec)[:300]}")
    return errors
