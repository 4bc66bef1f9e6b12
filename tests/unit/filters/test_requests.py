"""Request fields from attributes and text, and route matching: the fast forms give the
answers of the plain definitions."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings, strategies as st

from shipper.filters.presets import route_matcher, route_regex
from shipper.filters.requests import (
    AGENT_KEYS, METHOD_KEYS, PATH_KEYS, STATUS_KEYS, from_attributes, from_text, request_of,
)

KINDS = (METHOD_KEYS, PATH_KEYS, STATUS_KEYS, AGENT_KEYS)


def _plain_lookup(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """First non-None value under ``keys`` as flat keys, else as nested dotted paths."""
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    for key in keys:
        value: Any = attrs
        for part in key.split(".") if "." in key else ():
            value = value.get(part) if isinstance(value, dict) else None
        if "." in key and value is not None:
            return value
    return None


values = st.one_of(st.none(), st.sampled_from(["GET", "get", "/health", "/x?q=1#f", "", "200",
                                               "kube-probe/1.29", "http://h/p?x"]),
                   st.integers(100, 599))
flat_keys = st.sampled_from([*METHOD_KEYS, *PATH_KEYS, *STATUS_KEYS, *AGENT_KEYS, "msg"])
nested = st.fixed_dictionaries({}, optional={
    "method": values, "path": values, "url": values, "status_code": values, "user_agent": values,
    "statusCode": values, "headers": st.fixed_dictionaries({}, optional={"user-agent": values}),
})
attributes = st.dictionaries(
    st.one_of(flat_keys, st.sampled_from(["http", "request", "req", "response", "res", "url",
                                          "user_agent"])),
    st.one_of(values, nested), max_size=6)


@settings(max_examples=400, deadline=None)
@given(attrs=attributes)
def test_fields_from_attributes_follow_the_key_precedence(attrs):
    """Method, path, status, user agent: the first spelling present wins, flat before
    nested, exactly as a plain walk over each key list."""
    method, target, _status, agent = (_plain_lookup(attrs, keys) for keys in KINDS)
    found = from_attributes(attrs)
    if not isinstance(method, str) or not isinstance(target, str) or not target:
        assert found is None
        return
    assert found is not None
    assert found[0] == method.upper()
    assert found[3] == (agent if isinstance(agent, str) else "")


def test_request_tuple_fields():
    """``(method, path, status, user_agent)``: path without query or fragment."""
    assert from_attributes({"http": {"method": "get", "url": "https://h/a/b?x=1"},
                            "statusCode": "204 No Content"}) == ("GET", "/a/b", 204, "")
    assert from_text('1.2.3.4 - - "GET /health?full=1 HTTP/1.1" 200 2 "-" "kube-probe/1.31"') == \
        ("GET", "/health", 200, "kube-probe/")
    assert from_text("xGET /a 200") is None
    assert request_of({"attributes": {}, "message": "POST /jobs 201"}) == ("POST", "/jobs", 201, "")


ROUTES = ["/health", "/healthz", "/jobs/{id}", "/tasks/{id}", "/status", "/", "/health/live"]
paths = st.lists(st.sampled_from(["/", "health", "healthz", "jobs", "tasks", "7", "status", "live",
                                  "x", "\n", "", "api", "v1"]), max_size=6).map("".join)


@settings(max_examples=500, deadline=None)
@given(path=st.one_of(paths, paths.map(lambda p: "/" + p)),
       routes=st.lists(st.sampled_from(ROUTES), min_size=1, max_size=4))
@example(path="/\n/health", routes=["/health"])
@example(path="/a/health\n", routes=["/health"])
@example(path="x/health", routes=["/health"])
def test_route_matcher_answers_like_the_route_regex(path, routes):
    """The end-of-path search (with its prefix check) is the anchored regex, newlines and
    paths that do not start with '/' included."""
    assert route_matcher(routes)(path) == (route_regex(routes).match(path) is not None)
