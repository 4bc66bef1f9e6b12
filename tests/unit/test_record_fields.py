"""Field paths and level ranks (shipper.record_fields): every path form, missing pieces,
non-dicts on the way, the rules' options, and sameness with the getters it replaced."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.record import LEVELS, TOP_LEVEL_FIELDS, Record
from shipper.record_fields import (
    UNKNOWN_RANK,
    compile_getter,
    compile_walk,
    field_leaf,
    first_of,
    is_rule_field,
    level_rank,
    record_rank,
)

RECORD: Record = Record({
    "level": "info", "message": "m", "job_id": "job-1", "shard_index": 0,
    "attributes": {"user": "u", "http": {"route": "/r", "deep": {"x": 1}}, "http.route": "/flat",
                   "empty": "", "none": None, "raw": "attr raw", "job_id": "from attrs"},
    "k8s": {"namespace": "ns", "labels": {"app.kubernetes.io/name": "enc", "team": "video"},
            "annotations": {"a.b/c": "note"}},
    "file": {"path": "/var/log/x.log", "offset": 7},
})
RECORD.raw = "raw line"


@pytest.mark.parametrize("path,expected", [
    ("message", "m"),                                  # top-level field
    ("job_id", "job-1"),                               # the record's own key wins
    ("shard_index", 0),                                # falsy values are values
    ("user", "u"),                                     # bare name -> attributes.<name>
    ("nobody", None),                                  # missing everywhere
    ("k8s.labels.app.kubernetes.io/name", "enc"),      # label key kept whole
    ("k8s.annotations.a.b/c", "note"),
    ("k8s.labels.missing", None),
    ("k8s.namespace", "ns"),                           # two-part walk
    ("file.path", "/var/log/x.log"),
    ("attributes.http.route", "/r"),                   # sinks: nested only
    ("attributes.http.deep.x", 1),                     # n-part walk
    ("attributes.http.deep.y", None),
    ("attributes.user", "u"),
    ("raw", "attr raw"),                               # sinks: no raw alias
])
def test_sink_grammar(path, expected):
    assert compile_getter(path)(RECORD) == expected


@pytest.mark.parametrize("path,expected", [
    ("raw", "raw line"),                               # the original line
    ("attributes.http.route", "/flat"),                # the flat dotted key first
    ("attributes.http.deep.x", 1),                     # no flat key: nested
    ("attributes.none", None),
    ("attributes.user", "u"),
    ("k8s.labels.team", "video"),
    ("job_id", "job-1"),
])
def test_rule_grammar_raw_and_flat_keys(path, expected):
    assert compile_getter(path, raw=True, flat_keys=True)(RECORD) == expected


def test_flat_key_holding_none_falls_back_to_the_nested_path():
    record = {"attributes": {"a.b": None, "a": {"b": "nested"}}}
    assert compile_getter("attributes.a.b", flat_keys=True)(record) == "nested"


def test_own_key_holding_none_is_not_looked_up_in_attributes():
    """Like get_field before it: a record key that is present wins even when None."""
    record = {"job_id": None, "attributes": {"job_id": "a"}}
    assert compile_getter("job_id")(record) is None
    assert compile_getter("job_id")({"attributes": {"job_id": "a"}}) == "a"


@pytest.mark.parametrize("record", [
    {},                                                   # no sections at all
    {"attributes": None, "k8s": None},
    {"attributes": "text", "k8s": "text", "file": 5},     # non-dict sections
    {"attributes": {"http": "text"}, "k8s": {"labels": ["a"]}, "file": {"path": None}},
    {"attributes": {"http": ["route"]}, "k8s": {"labels": None}},
])
@pytest.mark.parametrize("path", [
    "user", "attributes.http.route", "attributes.http.deep.x", "k8s.labels.team",
    "k8s.annotations.a", "k8s.namespace", "file.path",
])
@pytest.mark.parametrize("options", [{}, {"raw": True, "flat_keys": True}])
def test_missing_or_non_dict_pieces_read_as_none(record, path, options):
    assert compile_getter(path, **options)(record) is None


def test_first_of_skips_none_and_empty_but_keeps_falsy_values():
    assert first_of(["attributes.none", "attributes.empty", "user"])(RECORD) == "u"
    assert first_of(["nobody", "shard_index"])(RECORD) == 0
    assert first_of(["nobody", "attributes.empty"])(RECORD) is None
    assert first_of([])(RECORD) is None


@pytest.mark.parametrize("parts", ["a", "a.b", "a.b.c", ["a", "b", "c"], ("a", "b")])
def test_compile_walk_reads_inside_any_dict(parts):
    data = {"a": {"b": {"c": 3}}}
    keys = parts.split(".") if isinstance(parts, str) else list(parts)
    expected: Any = data
    for key in keys:
        expected = expected[key]
    assert compile_walk(parts)(data) == expected
    assert compile_walk(parts)({"b": 1}) is None
    assert compile_walk(parts)(["not", "a", "dict"]) is None
    if len(keys) > 1:
        assert compile_walk(parts)({"a": "text"}) is None


def test_level_ranks_in_order_and_unknown_as_info():
    assert [level_rank(name) for name in LEVELS] == list(range(len(LEVELS)))
    assert level_rank("verbose") == UNKNOWN_RANK == level_rank("info")
    assert level_rank("ERROR") == UNKNOWN_RANK  # names are lower case by the time they rank
    assert record_rank({"level": "error"}) == level_rank("error")
    assert record_rank({}) == record_rank({"level": None}) == record_rank({"level": "x"}) == 2


def test_rule_fields_follow_top_level_fields():
    scalars = TOP_LEVEL_FIELDS - {"attributes", "k8s", "file"}
    for name in (*scalars, "raw", "file.path", "k8s.pod", "k8s.labels.app.kubernetes.io/name",
                 "k8s.annotations.x", "attributes.a", "attributes.a.b"):
        assert is_rule_field(name), name
    for name in ("bogus", "attributes", "k8s", "file", "file.offset", "attributes.", "k8s.1x",
                 "Message", "message.x"):
        assert not is_rule_field(name), name


@pytest.mark.parametrize("path,leaf", [
    ("k8s.pod", "pod"), ("job_id", "job_id"), ("k8s.labels.app.kubernetes.io/name",
                                               "app.kubernetes.io/name"),
    ("k8s.annotations.a.b", "a.b"), ("file.path", "file"), ("attributes.request_id", "request_id"),
])
def test_field_leaf(path, leaf):
    assert field_leaf(path) == leaf


# --- sameness with the getters this module replaced (copied here as the oracle) ---

def _old_get_field(record, path):
    if "." not in path:
        if path in record:
            return record[path]
        attrs = record.get("attributes")
        return attrs.get(path) if attrs else None
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
        if value is None:
            return None
    return value


def _old_rules_getter(name, record):
    if name == "raw":
        return record.raw
    for prefix in ("k8s.labels.", "k8s.annotations."):
        if name.startswith(prefix):
            section, key = prefix.split(".")[1], name[len(prefix):]
            return ((record.get("k8s") or {}).get(section) or {}).get(key)
    if name.startswith("attributes."):
        key = name[len("attributes."):]
        value = (record.get("attributes") or {}).get(key)
        if value is None and "." in key:
            value = _old_get_field(record, "attributes." + key)
        return value
    return _old_get_field(record, name)


def _old_sinks_getter(path, record):
    for prefix in ("k8s.labels.", "k8s.annotations."):
        if path.startswith(prefix):
            section, key = prefix.split(".")[1], path[len(prefix):]
            return ((record.get("k8s") or {}).get(section) or {}).get(key)
    parts = path.split(".")
    if len(parts) == 1:
        return record[path] if path in record else (record.get("attributes") or {}).get(path)
    value = record
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


_KEYS = st.sampled_from(["a", "b", "a.b", "raw", "job_id", "labels", "annotations", "x/y.z"])
_LEAVES = st.one_of(st.none(), st.just(""), st.integers(0, 3), st.text(max_size=2))
_VALUES = st.recursive(_LEAVES, lambda inner: st.dictionaries(_KEYS, inner, max_size=3)
                       | st.lists(inner, max_size=2), max_leaves=8)
_SECTIONS = st.dictionaries(_KEYS, _VALUES, max_size=4)
_RECORDS = st.fixed_dictionaries({}, optional={
    "attributes": _SECTIONS, "k8s": _SECTIONS, "job_id": _LEAVES,
    "raw": _LEAVES, "a": _VALUES})
_RAW_BESIDE = st.one_of(st.none(), st.text(max_size=3))
_PATHS = st.lists(_KEYS, min_size=1, max_size=4).map(".".join) | st.sampled_from([
    "raw", "attributes.a.b", "k8s.labels.a.b", "k8s.annotations.x/y.z", "attributes.a",
    "k8s.labels.raw"])


def _old(getter, path, record):
    try:
        return getter(path, record)
    except AttributeError:  # a truthy non-dict k8s/attributes (never produced by the
        return None          # enricher/parser): the old getters raised, the new read None


@settings(max_examples=400, deadline=None)
@given(_RECORDS, _PATHS, _RAW_BESIDE)
def test_same_values_as_the_replaced_getters(fields, path, raw):
    """compile_getter with the rules' options reads what filters.rules.field_getter read,
    and without them what sinks.fields.compile_path read, for any path and record."""
    record = Record(fields)
    record.raw = raw
    assert compile_getter(path, raw=True, flat_keys=True)(record) == _old(
        _old_rules_getter, path, record)
    assert compile_getter(path)(record) == _old(_old_sinks_getter, path, record)
