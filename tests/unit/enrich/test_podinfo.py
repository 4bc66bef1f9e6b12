"""Downward-API facts: env vars, kubelet-format files, and re-reading on ..data swaps."""

import os

from shipper.enrich.podinfo import PodInfo, parse_kubelet_file, unquote_go
from shipper.enrich.settings import DownwardApiSettings

ENV = {"POD_NAME": "p-1", "POD_NAMESPACE": "ns", "POD_UID": "u-1", "NODE_NAME": "n-1",
       "POD_IP": "10.0.0.1", "CONTAINER_NAME": "app", "JOB_COMPLETION_INDEX": "3"}


def test_kubelet_format_is_go_quoted_key_value_lines():
    text = 'app="web"\nteam="a \\"quoted\\" name"\nbatch.kubernetes.io/job-name="j-1"\nbroken line\n=novalue\n'
    assert parse_kubelet_file(text) == {
        "app": "web", "team": 'a "quoted" name', "batch.kubernetes.io/job-name": "j-1"}


def test_go_escapes_are_decoded():
    assert unquote_go('"tab\\there\\nnewline"') == "tab\there\nnewline"
    assert unquote_go('"caf\\u00e9"') == "café"
    assert unquote_go('"\\x41"') == "A"
    assert unquote_go("unquoted") == "unquoted"


async def test_env_only_outside_a_podinfo_volume():
    info = PodInfo(ENV, DownwardApiSettings(), None)
    await info.refresh()
    assert info.facts.k8s == {"namespace": "ns", "pod": "p-1", "pod_uid": "u-1", "node": "n-1",
                              "container": "app", "pod_ip": "10.0.0.1"}
    assert info.facts.completion_index == "3"


async def test_no_env_and_no_volume_still_runs_with_empty_facts(tmp_path):
    info = PodInfo({}, DownwardApiSettings(), tmp_path / "missing")
    await info.refresh()
    assert info.facts.k8s == {}
    assert info.facts.labels == {}


async def test_custom_env_names_are_honoured():
    names = DownwardApiSettings(pod_name="MY_POD")
    info = PodInfo({"MY_POD": "custom"}, names, None)
    assert info.facts.k8s == {"pod": "custom"}


def make_volume(root, version, labels, annotations):
    data = root / f"..2026_{version}"
    data.mkdir()
    (data / "labels").write_text(labels)
    (data / "annotations").write_text(annotations)
    tmp_link = root / "..data_tmp"
    os.symlink(data.name, tmp_link)
    os.replace(tmp_link, root / "..data")
    for name in ("labels", "annotations"):
        if not (root / name).is_symlink():
            os.symlink(f"..data/{name}", root / name)


async def test_labels_reread_when_kubelet_swaps_the_data_link(tmp_path):
    make_volume(tmp_path, 1, 'app="v1"\n', 'shipper/job-id="j-1"\n')
    info = PodInfo(ENV, DownwardApiSettings(), tmp_path)
    assert await info.refresh() is True
    assert info.facts.labels == {"app": "v1"}
    assert info.facts.k8s["labels"] == {"app": "v1"}
    assert await info.refresh() is False
    make_volume(tmp_path, 2, 'app="v2"\n', 'shipper/job-id="j-2"\n')
    assert await info.refresh() is True
    assert info.facts.labels == {"app": "v2"}
    assert info.facts.annotations == {"shipper/job-id": "j-2"}


def test_api_facts_fill_only_what_the_downward_api_did_not_say():
    from shipper.enrich.podinfo import PodFacts, with_api_facts

    local = PodFacts(k8s={"pod": "p"}, labels={}, annotations={"shipper/correlation-id": "c"})
    api = {"labels": {"app": "web"}, "annotations": {"shipper/correlation-id": "api"},
           "owner": {"kind": "Job", "name": "nightly-123"}, "cronjob": "nightly",
           "job_name": "nightly-123"}
    merged = with_api_facts(local, api)
    assert merged.labels == {"app": "web"}
    assert merged.annotations["shipper/correlation-id"] == "c"
    assert merged.annotations["shipper/job-id"] == "nightly-123"
    assert merged.k8s == {"pod": "p", "labels": {"app": "web"},
                          "owner": {"kind": "Job", "name": "nightly-123"}, "cronjob": "nightly"}


def test_downward_labels_win_over_api_labels():
    from shipper.enrich.podinfo import PodFacts, with_api_facts

    local = PodFacts(k8s={"labels": {"app": "down"}}, labels={"app": "down"})
    merged = with_api_facts(local, {"labels": {"app": "api"}})
    assert merged.labels == {"app": "down"}
    assert merged.k8s["labels"] == {"app": "down"}


def test_set_api_facts_reports_change_once():
    info = PodInfo(ENV, DownwardApiSettings(), None)
    assert info.set_api_facts({"cronjob": "nightly"}) is True
    assert info.facts.k8s["cronjob"] == "nightly"
    assert info.set_api_facts({"cronjob": "nightly"}) is False
