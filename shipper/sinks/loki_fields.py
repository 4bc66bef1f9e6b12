"""Many field paths of many records read in one pass: the Loki encoder's labels and
structured metadata.

:class:`FieldReader` gives what :func:`~shipper.record_fields.compile_getter` gives for
each path (``tests/unit/sinks/test_loki_wire.py`` compares them), reading the three
forms the sink's defaults use inline: a bare name (the record's own key, else
``attributes.<name>``), ``k8s.<field>`` and ``k8s.labels.<key>`` /
``k8s.annotations.<key>``. A record whose ``k8s`` or ``attributes`` is neither a dict nor
missing, and any other path, is read by the compiled getters themselves. The loop is the
kernel ``loki_read`` (:mod:`shipper.kernels`: compiled, or its pure-Python twin).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipper.kernels import loki_read, loki_read_cols
from shipper.kernels.pure import READ_BARE, READ_K8S, READ_SECTION, ReadOut, ReadStep
from shipper.record import Record
from shipper.record_fields import compile_getter

_SECTIONS = ("labels", "annotations")


def step_of(path: str) -> ReadStep | None:
    """How :func:`compile_getter` reads ``path``, if it is one of the inline forms."""
    getter = compile_getter(path)
    for section in _SECTIONS:
        if path.startswith(f"k8s.{section}."):
            return READ_SECTION, section, path[len(section) + 5:], getter
    parts = path.split(".")
    if len(parts) == 1:
        return READ_BARE, path, "", getter
    if len(parts) == 2 and parts[0] == "k8s":
        return READ_K8S, parts[1], "", getter
    return None


class FieldReader:
    """``read(records, split, names)``: each record's value of every path, the first
    ``split`` as a tuple, the others as ``(name, text)`` pairs (see ``loki_read``)."""

    def __init__(self, paths: list[str]) -> None:
        steps = [step_of(path) for path in paths]
        self.paths = paths
        self.getters = [compile_getter(path) for path in paths]
        self.steps: list[ReadStep] | None = (
            None if any(s is None for s in steps) else [s for s in steps if s is not None])

    def read(self, records: Sequence[Record], split: int, names: Sequence[str]) -> list[ReadOut]:
        return loki_read(records, self.steps, self.getters, split, names)

    def read_cols(self, records: Sequence[Record], split: int, names: Sequence[str],
                  ) -> tuple[list[tuple[Any, ...]], list[list[str | None]]]:
        """:meth:`read` with the metadata as one column of values per name
        (``loki_read_cols``)."""
        return loki_read_cols(records, self.steps, self.getters, split, names)

    def values(self, record: Record) -> tuple[Any, ...]:
        """One record's value of every path, in order (``None`` where missing)."""
        return self.read([record], len(self.paths), [])[0][0]
