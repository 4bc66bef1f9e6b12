"""The restricted-profile checker used by the chart tests catches real violations
(so a passing chart test means something)."""

from __future__ import annotations

import copy

import pytest

from tests.k8s.manifests import restricted_problems

GOOD = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{
        "name": "app",
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }],
    "volumes": [{"name": "logs", "emptyDir": {}}],
}


def test_good_spec_has_no_problems() -> None:
    """Pod-level runAsNonRoot/UID/seccomp are inherited by the container."""
    assert restricted_problems(GOOD) == []


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("securityContext", "runAsUser"), 0, "non-zero UID"),
    (("securityContext", "runAsNonRoot"), False, "runAsNonRoot"),
    (("securityContext", "seccompProfile"), {"type": "Unconfined"}, "seccomp"),
    (("containers", 0, "securityContext", "allowPrivilegeEscalation"), True, "allowPrivilegeEscalation"),
    (("containers", 0, "securityContext", "capabilities"), {"drop": ["NET_RAW"]}, "drop ALL"),
    (("containers", 0, "securityContext", "readOnlyRootFilesystem"), False, "writable"),
    (("volumes", 0), {"name": "logs", "hostPath": {"path": "/var/log"}}, "hostPath"),
    (("hostNetwork",), True, "hostNetwork"),
])
def test_violation_is_reported(path: tuple, value: object, expected: str) -> None:
    """Each single deviation from the restricted profile is named in the problems."""
    spec = copy.deepcopy(GOOD)
    target = spec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    problems = restricted_problems(spec)
    assert any(expected in p for p in problems), problems
