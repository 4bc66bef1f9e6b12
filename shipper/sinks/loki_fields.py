"""Many field paths of one record read in one pass: the Loki encoder's labels, structured
metadata and tenant.

:class:`FieldReader` gives what :func:`~shipper.record_fields.compile_getter` gives for
each path (``tests/unit/sinks/test_loki_wire.py`` compares them), reading the three
forms the sink's defaults use inline: a bare name (the record's own key, else
``attributes.<name>``), ``k8s.<field>`` and ``k8s.labels.<key>`` /
``k8s.annotations.<key>``. A record whose ``k8s`` or ``attributes`` is neither a dict nor
missing, and any other path, is read by the compiled getters themselves.
"""

from __future__ import annotations

from typing import Any

from shipper.record import Record
from shipper.record_fields import Getter, compile_getter

BARE, K8S, SECTION = 0, 1, 2
_SECTIONS = ("labels", "annotations")
#: (kind, key, key inside a section, the compiled getter)
Step = tuple[int, str, str, Getter]


def _nothing(_key: str, _default: Any = None) -> Any:
    return None


def step_of(path: str) -> Step | None:
    """How :func:`compile_getter` reads ``path``, if it is one of the inline forms."""
    getter = compile_getter(path)
    for section in _SECTIONS:
        if path.startswith(f"k8s.{section}."):
            return SECTION, section, path[len(section) + 5:], getter
    parts = path.split(".")
    if len(parts) == 1:
        return BARE, path, "", getter
    if len(parts) == 2 and parts[0] == "k8s":
        return K8S, parts[1], "", getter
    return None


class FieldReader:
    """``read(record)``: the value of each path, in order (``None`` where missing)."""

    def __init__(self, paths: list[str]) -> None:
        steps = [step_of(path) for path in paths]
        self._getters = [compile_getter(path) for path in paths]
        self._steps: list[Step] | None = (
            None if any(s is None for s in steps) else [s for s in steps if s is not None])

    def read(self, record: Record) -> list[Any]:
        steps = self._steps
        k8s, attrs = record.get("k8s"), record.get("attributes")
        if (steps is None or (type(k8s) is not dict and k8s is not None)
                or (type(attrs) is not dict and attrs is not None)
                or (type(record) is not dict and type(record) is not Record)):
            return [get(record) for get in self._getters]
        get = record.get
        k8s_get = _nothing if k8s is None else k8s.get
        attrs_get = _nothing if attrs is None else attrs.get
        return [get(key, attrs_get(key)) if kind == BARE
                else k8s_get(key) if kind == K8S
                else inner.get(sub) if type(inner := k8s_get(key)) is dict
                else None if inner is None else getter(record)
                for kind, key, sub, getter in steps]
