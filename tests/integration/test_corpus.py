"""The public corpus comes out exactly right through the real CLI (subprocess).

Every expected record matches, in order, per file; nothing else comes out (so no noise),
every record carries the pod's facts, and no listed secret survives anywhere.
"""

import json

import pytest

from tests.corpus import CORPUS, SCENARIOS, compare, run_scenario

pytestmark = pytest.mark.integration

if not SCENARIOS:
    pytest.skip(f"public corpus not found at {CORPUS} (it lives in ../shared beside the repo)",
                allow_module_level=True)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_matches_expected_records(name, tmp_path):
    scenario = CORPUS / name
    records, _stderr = run_scenario(scenario, tmp_path)
    errors = compare(scenario, records)
    assert not errors, "\n".join(errors[:20])


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_record_carries_pod_facts(name, tmp_path):
    scenario = CORPUS / name
    pod = json.loads((scenario / "pod.json").read_text())
    records, _ = run_scenario(scenario, tmp_path)
    assert records
    for record in records:
        assert record["k8s"]["pod"] == pod["env"]["POD_NAME"]
        assert record["k8s"]["namespace"] == pod["env"]["POD_NAMESPACE"]
        assert record["k8s"]["node"] == pod["env"]["NODE_NAME"]
        annotation = pod.get("annotations", {}).get("shipper/correlation-id")
        if annotation:
            assert record.get("correlation_id"), record


def test_no_secret_survives_in_output_or_self_logs(tmp_path):
    scenario = CORPUS / "secrets"
    if not (scenario / "secrets.json").exists():
        pytest.skip("secrets scenario not in this corpus")
    secrets = json.loads((scenario / "secrets.json").read_text())
    records, stderr = run_scenario(scenario, tmp_path, "--log-level", "debug")
    text = "\n".join(json.dumps(r) for r in records) + stderr
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"secrets leaked: {leaked}"
