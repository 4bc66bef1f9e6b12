"""Route matching for the request presets: :func:`route_matcher` (``path -> bool``, the
answer of the anchored :func:`route_regex`, faster) and :func:`kernel_routes` (the routes as
the ``noise_drops`` kernel reads them)."""

from __future__ import annotations

import re
from collections.abc import Callable

from shipper.kernels.pure_noise import Routes, route_ends


def route_regex(routes: list[str]) -> re.Pattern[str]:
    """Routes like ``/jobs/{id}`` -> one regex matching a path that ends with any of them
    (``{name}`` = one path segment; a route also matches under any prefix)."""
    return re.compile(rf"^(?:/.*)?(?:{_route_alternatives(routes)})/?$")


def _route_alternatives(routes: list[str]) -> str:
    parts = []
    for route in routes:
        pieces = re.split(r"\{[^{}/]*\}", route.rstrip("/") or "/")
        parts.append("[^/]+".join(re.escape(piece) for piece in pieces))
    return "|".join(parts)


def route_matcher(routes: list[str]) -> Callable[[str], bool]:
    """``path -> bool``, the same answer as ``route_regex(routes).match(path)``, faster.

    A path that starts with ``/`` and holds no newline matches when it ends with one of
    the routes (any prefix is allowed then): literal routes are one ``endswith``, routes
    ending in a placeholder segment (``/jobs/{id}``) compare the segment before the last,
    other routes spelled backwards are matched at the start of the path reversed. Other
    paths: the routes are searched for at the end of the path (every route starts with
    ``/``, so a match further in needs a prefix that starts with ``/`` and holds no
    newline; ``$`` also matches before a last newline)."""
    tail = re.compile(rf"(?:{_route_alternatives(routes)})/?$")
    literal, parents, other = _route_kinds(routes)
    head = re.compile(rf"/?(?:{_reversed_alternatives(other)})").match if other else None
    fast = bool(routes)

    def matches(path: str) -> bool:
        if fast and path[:1] == "/" and "\n" not in path:
            if route_ends(path, literal, parents):
                return True
            return head is not None and head(path[::-1]) is not None
        found = tail.search(path)
        if found is None:
            return False
        start = found.start()
        return start == 0 or (path[0] == "/" and "\n" not in path[:start])

    return matches


def _route_kinds(routes: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """The routes as :func:`route_matcher` reads them: the endings of literal routes
    (with and without a trailing ``/``), the parents of routes whose last segment is a
    placeholder (``/jobs/{id}`` -> ``/jobs``), and the other routes."""
    literal: list[str] = []
    parents: list[str] = []
    other: list[str] = []
    for route in routes:
        pieces = re.split(r"\{[^{}/]*\}", route.rstrip("/") or "/")
        if len(pieces) == 1:
            literal += [pieces[0], pieces[0] + "/"]
        elif len(pieces) == 2 and pieces[0].endswith("/") and not pieces[1]:
            parents.append(pieces[0][:-1])
        else:
            other.append(route)
    return tuple(literal), tuple(parents), other


def kernel_routes(routes: list[str]) -> Routes | None:
    """The routes as the ``noise_drops`` kernel reads them: ``None`` when one needs
    :func:`route_matcher`'s regex (or there are none: the regex then matches any path)."""
    literal, parents, other = _route_kinds(routes)
    return (literal, tuple(parents)) if routes and not other else None


def _reversed_alternatives(routes: list[str]) -> str:
    """The alternatives of :func:`_route_alternatives` spelled backwards (a placeholder
    stays ``[^/]+``): matched at the start of a reversed path, they match at its end."""
    parts = []
    for route in routes:
        pieces = re.split(r"\{[^{}/]*\}", route.rstrip("/") or "/")
        parts.append("[^/]+".join(re.escape(piece[::-1]) for piece in reversed(pieces)))
    return "|".join(parts)
