"""The hot loops (line split, trailing ``key=value`` pairs, ISO time prefix, whole CRI
lines, a plain file's chunk with its JSON object lines (``JsonLines``), a text line's
partial record, a whole logfmt line's pairs, the texts of a pre-scan's hits, the Loki
sink's record fields, timestamps, push body and its snappy, the Datadog sink's side data
and bodies, the job tracker's and enrichment's per-record loops, the trace-context gate,
records as NDJSON and their raw lines let go, the drop counts, combined access lines, the
noise presets' verdicts, a batch's raw lines joined, a tqdm progress state) in two
implementations with one API: the Cython extension ``_compiled`` (built by ``pip install``
where a C compiler is found) and its pure-Python twins ``pure`` (with ``pure_loki``,
``pure_datadog``, ``pure_json``, ``pure_logfmt``, ``pure_text``, ``pure_tracker``,
``pure_enrich``, ``pure_encode``, ``pure_access``, ``pure_noise``, ``pure_snappy`` and
``pure_tqdm``).

The extension is used when it imports and matches the twin's ``KERNEL_API``; otherwise, or
with ``SHIPPER_PURE=1`` in the environment, the twin is. ``IMPLEMENTATION`` names the live
one (``"compiled"`` or ``"pure"``): ``shipper --version`` prints it and the
``shipper_build_info`` metric carries it as its ``kernels`` label.
"""

from __future__ import annotations

import os

from shipper.kernels import pure

__all__ = ["IMPLEMENTATION", "FateCounts", "JsonLines", "SummaryBase", "combined_fields",
           "cri_whole_lines", "datadog_bodies", "datadog_side", "distinct_objects",
           "distinct_values",
           "enrich_records", "evict_front", "iso_prefix", "joined_texts",
           "lift_trace", "logfmt_pairs", "loki_cols_bytes",
           "loki_push", "loki_push_rows", "loki_read", "loki_read_cols",
           "loki_sort_rows", "loki_stamps", "ndjson_records",
           "noise_drops", "probe_lines",
           "observe_records", "release_raw", "snappy_compress_into", "snappy_max_len",
           "split_lines", "stamped_fields", "stamped_line",
           "text_fields", "text_indices", "tqdm_progress", "trailing_pairs"]


def _pure_forced() -> bool:
    return os.environ.get("SHIPPER_PURE", "").strip().lower() not in ("", "0", "false", "no")


def _why_pure() -> str | None:
    """Why the twin is used (``None``: the extension is loaded and current)."""
    if _pure_forced():
        return "SHIPPER_PURE is set"
    try:
        from shipper.kernels import _compiled
    except ImportError:
        return "the extension is not built"
    if _compiled.KERNEL_API != pure.KERNEL_API:
        return "the extension is stale (rebuild it: pip install -e .)"
    return None


WHY_PURE = _why_pure()

if WHY_PURE is None:
    from shipper.kernels._compiled import (
        FateCounts,
        JsonLines,
        SummaryBase,
        combined_fields,
        cri_whole_lines,
        datadog_bodies,
        datadog_side,
        distinct_objects,
        distinct_values,
        enrich_records,
        evict_front,
        iso_prefix,
        joined_texts,
        lift_trace,
        logfmt_pairs,
        loki_cols_bytes,
        loki_push,
        loki_push_rows,
        loki_read,
        loki_read_cols,
        loki_sort_rows,
        loki_stamps,
        ndjson_records,
        noise_drops,
        observe_records,
        probe_lines,
        release_raw,
        snappy_compress_into,
        snappy_max_len,
        split_lines,
        stamped_fields,
        stamped_line,
        text_fields,
        text_indices,
        tqdm_progress,
        trailing_pairs,
    )

    IMPLEMENTATION = "compiled"
else:
    from shipper.kernels.pure import (
        cri_whole_lines,
        iso_prefix,
        loki_push,
        loki_read,
        loki_stamps,
        split_lines,
        text_indices,
        trailing_pairs,
    )
    from shipper.kernels.pure_access import combined_fields
    from shipper.kernels.pure_datadog import datadog_bodies, datadog_side
    from shipper.kernels.pure_encode import ndjson_records, release_raw
    from shipper.kernels.pure_enrich import (
        distinct_objects,
        distinct_values,
        enrich_records,
        lift_trace,
    )
    from shipper.kernels.pure_fates import FateCounts
    from shipper.kernels.pure_json import JsonLines
    from shipper.kernels.pure_logfmt import logfmt_pairs
    from shipper.kernels.pure_loki_rows import (
        loki_cols_bytes,
        loki_push_rows,
        loki_read_cols,
        loki_sort_rows,
    )
    from shipper.kernels.pure_noise import joined_texts, noise_drops, probe_lines
    from shipper.kernels.pure_snappy import snappy_compress_into, snappy_max_len
    from shipper.kernels.pure_text import stamped_fields, stamped_line, text_fields
    from shipper.kernels.pure_tqdm import tqdm_progress
    from shipper.kernels.pure_tracker import SummaryBase, evict_front, observe_records

    IMPLEMENTATION = "pure"
