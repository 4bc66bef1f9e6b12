"""The CLI as a subprocess: once and follow modes, exit codes, clear config errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SHIPPER = [sys.executable, "-m", "shipper.cli"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHIPPER_", "POD_", "NODE_", "CONTAINER_", "JOB_COMPLETION"))}
    env.update(extra)
    return env


def shipper(*args, env=None, timeout=60):
    return subprocess.run([*SHIPPER, *args], capture_output=True, timeout=timeout, cwd=REPO,
                          env=env or clean_env())


def records_of(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def test_once_reads_every_file_and_exits_zero(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.log").write_text("2026-01-02T10:00:00Z INFO first k=v\n")
    (tmp_path / "two.log").write_text('{"level": "error", "msg": "second", "job_id": "j-9"}\n')
    proc = shipper("run", "--once", "--path", f"{tmp_path}/**/*.log",
                   env=clean_env(POD_NAME="p", POD_NAMESPACE="ns", NODE_NAME="n"))
    assert proc.returncode == 0, proc.stderr
    records = records_of(proc.stdout)
    assert sorted(r["message"] for r in records) == ["first", "second"]
    by_msg = {r["message"]: r for r in records}
    assert by_msg["first"]["attributes"]["k"] == "v"
    assert by_msg["second"]["job_id"] == "j-9"
    assert by_msg["second"]["level"] == "error"
    assert all(r["k8s"] == {"pod": "p", "namespace": "ns", "node": "n"} for r in records)
    assert by_msg["first"]["file"] == {"path": str(tmp_path / "a" / "one.log"), "offset": 0}


def test_self_logs_are_json_on_stderr_and_stdout_only_has_records(tmp_path):
    (tmp_path / "x.log").write_text("hello\n")
    proc = shipper("run", "--once", "--path", f"{tmp_path}/*.log", "--log-level", "debug")
    assert proc.returncode == 0
    assert [r["message"] for r in records_of(proc.stdout)] == ["hello"]
    for line in proc.stderr.decode().splitlines():
        entry = json.loads(line)
        assert {"time", "level", "event"} <= set(entry)


@pytest.mark.parametrize("args,needle", [
    (["--path", "/tmp/[unclosed"], "paths: invalid glob"),
    (["--path-template", "{a}/{a}"], "path_templates: invalid path template"),
])
def test_bad_flags_exit_2_with_one_clear_line(args, needle):
    proc = shipper("run", "--once", *args)
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_config_key_names_the_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("paths: ['/x/*.log']\nfilterz: {}\n")
    proc = shipper("run", "--once", "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == "shipper: config error: filterz: unknown key"


def test_config_show_prints_the_effective_configuration(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("paths: ['/file/*.log']\nmax_line_bytes: 1KiB\n")
    proc = shipper("config", "show", "--config", str(cfg), "--path", "/cli/*.log",
                   env=clean_env(SHIPPER_POLL_INTERVAL="500ms"))
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["paths"] == ["/cli/*.log"]
    assert shown["max_line_bytes"] == 1024
    assert shown["poll_interval"] == 0.5


def read_until(proc, count, timeout):
    """Read NDJSON records from a running shipper until ``count`` arrived."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf, records, deadline = b"", [], time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        if sel.select(timeout=0.1):
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            records += [json.loads(line) for line in lines if line]
    return records


def test_follow_mode_ships_new_lines_within_a_second_and_exits_zero_on_sigterm(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("before start\n")
    proc = subprocess.Popen([*SHIPPER, "run", "--path", f"{tmp_path}/**/*.log", "--listen", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=clean_env())
    try:
        assert [r["message"] for r in read_until(proc, 1, 10)] == ["before start"]
        with log.open("a") as handle:
            handle.write("appended line\n")
        start = time.monotonic()
        got = read_until(proc, 1, 5)
        assert [r["message"] for r in got] == ["appended line"]
        assert time.monotonic() - start < 1.0
        late = tmp_path / "sub" / "late.log"
        late.parent.mkdir()
        late.write_text("a file that appeared later\n")
        assert [r["message"] for r in read_until(proc, 1, 5)] == ["a file that appeared later"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler for ``sig`` (its ``SigCgt`` mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(row.split()[1], 16) for row in status.splitlines()
                if row.startswith("SigCgt:"))
    return bool(mask >> (sig - 1) & 1)


def has_event_loop(pid: int) -> bool:
    """Whether the process made its asyncio event loop (an epoll descriptor): the
    pipeline installs its signal handlers first thing on that loop."""
    fds = Path(f"/proc/{pid}/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return "anon_inode:[eventpoll]" in targets


def sigterm_while_starting(proc: subprocess.Popen, timeout: float = 60) -> bool:
    """SIGTERM the shipper once its early handlers are in but before its event loop
    exists (still importing / loading config); False if that window was missed. The
    process is frozen (SIGSTOP) while the window is checked, so the signal lands in it."""
    deadline = time.monotonic() + timeout
    while not catches(proc.pid, signal.SIGTERM):
        assert proc.poll() is None and time.monotonic() < deadline, "no SIGTERM handler"
        time.sleep(0.005)
    proc.send_signal(signal.SIGSTOP)
    try:
        if has_event_loop(proc.pid):
            return False
        proc.send_signal(signal.SIGTERM)
        return True
    finally:
        proc.send_signal(signal.SIGCONT)


def test_sigterm_during_start_up_still_drains_and_exits_zero(tmp_path):
    """A native sidecar may be told to stop before it finished starting: it must still
    read every file to EOF, ship it and exit 0 (not die with -15). The signal is sent
    once the process handles SIGTERM (no fixed sleep: a loaded machine imports slowly)
    and before its event loop exists, checked while the process is frozen."""
    log = tmp_path / "app.log"
    log.write_text("".join(f"line {n}\n" for n in range(50)))
    for _attempt in range(5):  # the window is ~1 s wide: polled every 5 ms, it is not missed
        proc = subprocess.Popen([*SHIPPER, "run", "--path", f"{tmp_path}/*.log", "--listen", "off"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                                env=clean_env())
        if sigterm_while_starting(proc):
            break
        proc.kill()
        proc.communicate()
    else:
        pytest.fail("the shipper was never caught between its early handlers and its loop")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-500:]
    assert [r["message"] for r in records_of(out)] == [f"line {n}" for n in range(50)]
