"""Medians, ratios, the printed table and the JSON history file."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from bench.settings import SHARED_README
from bench.throughput import Series

_REF_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([\d.]+)k\s*\|\s*([\d.]+)\s*\|\s*([\d.]+) MB\s*\|$")


def summarise(item: Series) -> dict:
    """One table row: medians over the runs of one system on one corpus."""
    lines_in, expected = item.corpus.manifest.lines, item.corpus.manifest.expected_out
    row = {"corpus": item.corpus.name, "system": item.system.key, "label": item.system.label,
           "kind": item.system.kind, "input": item.system.input, "runs": len(item.runs),
           "lines_in": lines_in, "expected_out": expected}
    if item.error:
        row["error"] = item.error
    if not item.runs:
        return row
    wall = statistics.median(m.wall for m in item.runs)
    outs = sorted({m.lines_out for m in item.runs})
    return row | {
        "wall_s": wall, "lines_per_s": lines_in / wall if wall > 0 else None,
        "cpu_s_per_1m": statistics.median(m.cpu for m in item.runs) * 1e6 / lines_in,
        "peak_rss_mib": statistics.median(m.max_rss_kib for m in item.runs) / 1024,
        "lines_out": outs[len(outs) // 2], "lines_out_all": outs,
        "lines_match": outs == [expected],
        "cpu_runs": [round(m.cpu, 3) for m in item.runs]}


def add_ratios(rows: list[dict]) -> None:
    """``ratio_vs[peer]`` = this row's CPU per line / the peer's, same corpus, same run."""
    for row in rows:
        if row["kind"] == "peer" or "cpu_s_per_1m" not in row:
            continue
        others = [r for r in rows if r["corpus"] == row["corpus"] and r is not row
                  and r["kind"] != "shipper" and "cpu_s_per_1m" in r]
        row["ratio_vs"] = {o["system"]: row["cpu_s_per_1m"] / o["cpu_s_per_1m"] for o in others}


def reference_rows(readme: Path = SHARED_README) -> list[dict]:
    """The peer kit's reference figures (Fluent Bit is not installable here)."""
    if not readme.exists():
        return []
    rows = []
    for line in readme.read_text().splitlines():
        if match := _REF_ROW.match(line.strip()):
            rows.append({"label": match.group(1), "lines_per_s": float(match.group(2)) * 1000,
                         "cpu_s_per_1m": float(match.group(3)),
                         "peak_rss_mib": float(match.group(4)) * 1e6 / 2**20})
    return rows


def _fmt(value: object, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "–"


def throughput_table(rows: list[dict], refs: list[dict]) -> list[str]:
    peers = sorted({k for r in rows for k in r.get("ratio_vs", {})})
    head = ["corpus", "system", "lines/s", "CPU-s per 1M", "peak RSS MiB", "lines out"]
    out = ["| " + " | ".join(head + [f"× {p}" for p in peers]) + " |",
           "|" + "---|" * (len(head) + len(peers))]
    for r in rows:
        lines = (f"{r['lines_out']:,}" + ("" if r["lines_match"] else
                 f" ≠ {r['expected_out']:,}")) if "lines_out" in r else r.get("error", "–")[:60]
        cells = [r["corpus"], r["label"], _fmt(r.get("lines_per_s"), ",.0f"),
                 _fmt(r.get("cpu_s_per_1m"), ".2f"), _fmt(r.get("peak_rss_mib"), ".1f"), lines]
        cells += [_fmt(r.get("ratio_vs", {}).get(p), ".2f") for p in peers]
        out.append("| " + " | ".join(cells) + " |")
    for ref in refs:
        cells = ["reference", f"{ref['label']} (reference, not measured here)",
                 _fmt(ref["lines_per_s"], ",.0f"), _fmt(ref["cpu_s_per_1m"], ".1f"),
                 _fmt(ref["peak_rss_mib"], ".1f"), "850,270"]
        out.append("| " + " | ".join(cells + ["–"] * len(peers)) + " |")
    return out


def scenario_lines(result: dict) -> list[str]:
    out = []
    if lat := result.get("latency"):
        out.append("latency: " + (lat["error"] if "error" in lat else
                   f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, max "
                   f"{lat['max_ms']:.1f} ms at {lat['rate']:,} lines/s "
                   f"({lat['received']:,}/{lat['sent']:,} records)"))
    if idle := result.get("idle"):
        out.append("idle: " + (idle["error"] if "error" in idle else
                   f"RSS {idle['idle_rss_mib']:.1f} MiB after {idle['after_s']:.1f} s"
                   + _idle_cpu(idle)))
    out += kernel_lines(result)
    out += instruction_lines(result.get("instructions"))
    out += [sink_instruction_line(row) for row in _rows(result, "sink_instructions")]
    for name in ("files", "sinks", "families", "busy", "sink_instructions"):
        if isinstance(result.get(name), dict):
            out.append(f"{name}: {result[name]['error'][:200]}")
    for row in _rows(result, "files"):
        state = " +state" if row.get("checkpoints") else ""
        out.append(f"files {row['files']:>5}{state}: " + (row["error"][:120] if "error" in row else
                   f"{row['cpu_s_per_1m']:.2f} CPU-s per 1M, peak {row['peak_rss_mib']:.1f} MiB"
                   f", {row['lines_out']:,}/{row['expected_out']:,} lines out"
                   + _files_ratio(row)))
    for row in _rows(result, "sinks"):
        out.append(f"sink {row['sink']:>8}: " + (f"skipped ({row['skipped']})" if "skipped"
                   in row else f"{row['cpu_s_per_1m']:.2f} CPU-s per 1M" +
                   (f", × stdout {row['ratio_vs_stdout']:.2f}" if "ratio_vs_stdout" in row
                    else "") + (f" ({row['ratio_min']:.2f}-{row['ratio_max']:.2f} over "
                                f"{row['runs']} pairs)" if "ratio_min" in row else "")
                   + ("" if row.get("delivered", True) else ", nothing delivered")))
    for row in _rows(result, "busy"):
        state = " +state" if row.get("checkpoints") else ""
        out.append(f"busy {row['quiet']:>5} quiet{state}: " + (
                   row["error"][:120] if "error" in row else
                   f"{row['cpu_pct']:.1f}% of a core at {row['rate']:,} lines/s"
                   f" ({row['received']:,}/{row['sent']:,} lines)"
                   + (f", × alone {row['ratio_vs_alone']:.2f}" if "ratio_vs_alone" in row
                      else "")))
    for row in _rows(result, "families"):
        ratio = row["ratio_vs_json"]
        out.append(f"parse {row['format']:>12}: {row['us_per_line']:.2f} µs/line"
                   + (f", × json {ratio:.2f}" if ratio else ""))
    return out + [f"note: {n}" for n in result.get("notes", [])]


def _idle_cpu(idle: dict) -> str:
    if "idle_cpu_pct" not in idle:
        return ""
    return (f"; CPU {idle['idle_cpu_pct']:.2f}% of a core, {idle['idle_wakeups_s']:.0f} "
            f"wake-ups/s over {idle['idle_window_s']:.0f} s")


def instruction_lines(found: object) -> list[str]:
    """The ``instructions`` scenario: start-up and per-line instruction counts."""
    if not isinstance(found, dict):
        return []
    if "error" in found or "skipped" in found:
        return [f"instructions: {found.get('error') or 'skipped: ' + found['skipped']}"]
    return [f"instructions: start-up {found['startup_instructions'] / 1e9:.3f} G; per line "
            f"{found['plain_per_line']:,.0f} plain, {found['cri_per_line']:,.0f} CRI "
            f"({found['cri_over_plain']:+.1%}) over {found['lines']:,} lines"]


def sink_instruction_line(row: dict) -> str:
    """One row of the ``sink_instructions`` scenario as the bench prints it."""
    text = (f"sink instructions {row['sink']:>8}: start-up {row['startup_instructions'] / 1e9:.3f}"
            f" G, {row['per_line']:,.0f} a line")
    if "per_line_vs_stdout" in row:
        text += (f", × stdout {row['per_line_vs_stdout']:.3f} a line, "
                 f"{row['run_vs_stdout']:.3f} the whole run of {row['lines']:,} lines")
        if not row["complete"]:
            text += f", LOST: {row['records']} records received, not what stdout wrote"
    return text


def kernel_lines(result: dict) -> list[str]:
    """µs per call of each kernel pure vs compiled, and ``run --once`` CPU pure/compiled."""
    out = []
    found = result.get("kernels")
    if isinstance(found, dict):
        if "error" in found:
            out.append(f"kernels: {found['error'][:200]}")
        out += [f"kernel {row['kernel']:>14}: pure {row['pure_us']:8.2f} µs, compiled "
                f"{row['compiled_us']:8.2f} µs per call, {row['speedup']:.2f}× "
                f"({row['calls']:,} calls, {found['corpus']} corpus)"
                for row in found.get("rows", [])]
    cpu = {(r["corpus"], r["system"]): r["cpu_s_per_1m"] for r in result.get("throughput", [])
           if "cpu_s_per_1m" in r}
    for (corpus, system), pure in cpu.items():
        if system == "shipper-once-pure" and (compiled := cpu.get((corpus, "shipper-once"))):
            out.append(f"kernels end to end ({corpus}): run --once {pure:.2f} CPU-s per 1M "
                       f"pure, {compiled:.2f} compiled, compiled/pure {compiled / pure:.3f}")
    return out


def _rows(result: dict, name: str) -> list[dict]:
    value = result.get(name)
    return value if isinstance(value, list) else []


def write_json(result: dict, results_dir: Path, stamp: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{stamp}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str) + "\n")
    tmp.replace(path)
    return path


def _files_ratio(row: dict) -> str:
    """`` × 1 file 1.08 (1.05-1.12 over 3 rounds)`` when the row has a ratio."""
    if "ratio_vs_base" not in row:
        return ""
    return (f", × {row['base_files']} file(s) {row['ratio_vs_base']:.3f} "
            f"({row['ratio_min']:.3f}-{row['ratio_max']:.3f} over {row['runs']} rounds)")
