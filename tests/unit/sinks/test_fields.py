"""Field getters, RFC 3339 -> ns, and UTF-8-safe truncation used by the encoders."""

from __future__ import annotations

import pytest

from shipper.record_fields import compile_getter, first_of
from shipper.sinks.fields import rfc3339_to_ns, shorten_text, truncate_utf8


@pytest.mark.parametrize("text,ns", [
    ("2024-05-01T10:00:00Z", 1714557600_000000000),
    ("2024-05-01T10:00:00.5Z", 1714557600_500000000),
    ("2024-05-01T10:00:00.123456789123Z", 1714557600_123456789),
    ("2024-05-01T12:00:00.001+02:00", 1714557600_001000000),
])
def test_rfc3339_to_ns(text, ns):
    assert rfc3339_to_ns(text) == ns


@pytest.mark.parametrize("bad", [None, 5, "", "not a time", "2024-13-01T00:00:00Z"])
def test_rfc3339_invalid_is_none(bad):
    assert rfc3339_to_ns(bad) is None


def test_label_keys_with_dots_and_attribute_fallback():
    rec = {"k8s": {"labels": {"app.kubernetes.io/name": "enc"}}, "attributes": {"user": "u"}}
    assert compile_getter("k8s.labels.app.kubernetes.io/name")(rec) == "enc"
    assert compile_getter("user")(rec) == "u"
    assert compile_getter("k8s.namespace")(rec) is None
    assert first_of(["k8s.labels.app", "k8s.labels.app.kubernetes.io/name"])(rec) == "enc"


def test_truncation_never_splits_a_utf8_sequence():
    assert truncate_utf8("aé".encode(), 2) == b"a"
    short = shorten_text("é" * 100, 50)
    assert len(short.encode()) <= 200 - 50 and short.endswith("[truncated]")
