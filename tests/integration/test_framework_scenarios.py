"""Our framework scenarios (tests/scenarios/*) come out exactly right through the real CLI,
checked the same way as the public corpus: every expected record matches, in order, per
file, nothing else comes out, and every record carries the pod's facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import compare, run_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIOS = sorted(p.name for p in ROOT.iterdir() if (p / "expected.ndjson").is_file())


def test_scenarios_exist() -> None:
    """The framework scenarios are present (the parametrized test below is not vacuous)."""
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("name", SCENARIOS)
def test_framework_scenario_matches_expected_records(name: str, tmp_path: Path) -> None:
    """Every record of the scenario is right, in order, and no noise comes out."""
    scenario = ROOT / name
    pod = json.loads((scenario / "pod.json").read_text())
    records, _stderr = run_scenario(scenario, tmp_path)
    errors = compare(scenario, records)
    assert not errors, "\n".join(errors[:20])
    for record in records:
        assert record["k8s"]["pod"] == pod["env"]["POD_NAME"]
