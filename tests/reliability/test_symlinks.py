"""Issue 12 item 6: symbolic links in the log directory cannot make the shipper read
files outside its roots (a mounted Secret, the service-account token).

The app container can write the log directory, so it can plant links there. By default
(``follow_symlinks: inside_roots``) a link is followed only when it resolves inside a
root: the literal directory of a ``paths`` glob, or a ``symlink_roots`` entry.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.reliability.harness import Shipper, Tally, line, poll, report, wait_up
from tests.reliability.probes import free_port, scrape, wait_scrape, write_config

pytestmark = pytest.mark.integration

REFUSED = 'shipper_files_refused_total{reason="symlink-outside-roots"}'


def secret_dir(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_bytes(line("leak", 0, pad=20))
    (secrets / "inner.log").write_bytes(line("leak", 1, pad=20))
    return secrets


def test_links_out_of_the_log_directory_are_refused_counted_and_logged_once(
        tmp_path, podinfo, cli):
    """A file link and a directory link (walked by ``**``) pointing at a secrets
    directory: nothing of it is read, the two links are counted once each and logged
    once each however many scans pass; a link that stays inside the directory is read."""
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    secrets = secret_dir(tmp_path)
    (logs / "app.log").write_bytes(b"".join(line("app", n) for n in range(10)))
    (logs / "sub" / "real.txt").write_bytes(line("inside", 0))
    os.symlink(secrets / "token", logs / "token.log")
    os.symlink(secrets, logs / "linked")
    os.symlink(logs / "sub" / "real.txt", logs / "current.log")
    port = free_port()
    tally = Tally()
    shipper = Shipper(["--path", str(logs / "**" / "*.log"), "--podinfo-dir", str(podinfo),
                       "--listen", f"127.0.0.1:{port}"], tally, tmp_path / "stderr.log")
    assert tally.wait_for(11, 30)
    wait_scrape(port)
    for n in range(3):  # several scans: a new file is opened only by a scan of the glob,
        (logs / f"scan-{n}.log").write_bytes(line("scan", n))  # which walks the links too
        poll(lambda n=n: ("scan", n) in tally.seen, f"a scan to find scan-{n}.log")
    refused = scrape(port).get(REFUSED, 0.0)
    assert wait_up(tally, logs, 1)
    code = shipper.stop()
    stderr = (tmp_path / "stderr.log").read_text()
    logged = {name: sum(1 for row in stderr.splitlines()
                        if "symbolic link not followed" in row and f"/{name}\"" in row)
              for name in ("token.log", "linked")}
    secret_lines = [t for t in tally.seen if t[0] == "leak"]
    report("symlinks", written=11, tally=tally, rss_kib=shipper.peak_rss_kib,
           secret_lines=len(secret_lines), refused=int(refused), logged=logged)
    assert code == 0
    assert secret_lines == []
    assert tally.missing({"app": 10, "inside": 1}) == []
    assert refused == 2 and logged == {"token.log": 1, "linked": 1}


def run_once(tmp_path, podinfo, config: dict, name: str) -> Tally:
    tally = Tally()
    cfg = write_config(tmp_path / f"{name}.yaml", config)
    run = Shipper(["--once", "--config", str(cfg), "--podinfo-dir", str(podinfo),
                   "--listen", "off"], tally, tmp_path / f"{name}.stderr.log")
    assert run.wait() == 0
    return tally


def test_kubelet_container_links_need_their_target_root(tmp_path, podinfo, cli):
    """``/var/log/containers/*.log`` are links into ``/var/log/pods/...``: refused by
    default, read with ``symlink_roots: [/var/log/pods]`` or ``follow_symlinks: always``,
    and never read with ``follow_symlinks: never``."""
    pods = tmp_path / "pods" / "ns_pod_uid" / "app"
    pods.mkdir(parents=True)
    (pods / "0.log").write_bytes(b"".join(line("pod", n) for n in range(5)))
    containers = tmp_path / "containers"
    containers.mkdir()
    os.symlink(pods / "0.log", containers / "pod_ns_app-0123.log")
    paths = [str(containers / "*.log")]
    default = run_once(tmp_path, podinfo, {"paths": paths}, "default")
    rooted = run_once(tmp_path, podinfo, {"paths": paths, "symlink_roots": [
        str(tmp_path / "pods")]}, "rooted")
    always = run_once(tmp_path, podinfo, {"paths": paths, "follow_symlinks": "always"},
                      "always")
    never = run_once(tmp_path, podinfo, {"paths": paths, "follow_symlinks": "never",
                                         "symlink_roots": [str(tmp_path / "pods")]}, "never")
    report("kubelet-links", written=5, tally=rooted, default=default.delivered,
           rooted=rooted.delivered, always=always.delivered, never=never.delivered)
    assert default.delivered == 0 and never.delivered == 0
    assert rooted.missing({"pod": 5}) == [] and always.missing({"pod": 5}) == []


def test_link_loop_under_double_star_is_walked_once(tmp_path, podinfo, cli):
    """``logs/loop -> .`` and ``logs/a/up -> ..`` under ``logs/**/*.log``: the scan ends
    at once and every line is read exactly once."""
    logs = tmp_path / "logs"
    (logs / "a").mkdir(parents=True)
    (logs / "app.log").write_bytes(b"".join(line("app", n) for n in range(10)))
    (logs / "a" / "deep.log").write_bytes(b"".join(line("deep", n) for n in range(10)))
    os.symlink(".", logs / "loop")
    os.symlink("..", logs / "a" / "up")
    started = time.monotonic()
    tally = run_once(tmp_path, podinfo, {"paths": [str(logs / "**" / "*.log")]}, "loop")
    took = time.monotonic() - started
    report("link-loop", written=20, tally=tally, seconds=round(took, 1))
    assert tally.missing({"app": 10, "deep": 10}) == [] and tally.duplicated == 0
    assert took < 20
