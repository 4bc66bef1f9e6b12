"""The proof of issue 12: no secret leaves the pod on any exit path.

Log files full of secrets (every catalogued kind, in JSON values, nested values and
lists, key names at any depth, logger names, job and correlation ids, logfmt and plain
text, multi-line tracebacks, PEM blocks one line per record and JSON-escaped, a docker
``stream`` field, a directory name) and pod labels/annotations holding secrets go through
a real ``shipper run`` subprocess with six sinks: stdout, an NDJSON receiver, Loki,
Datadog, a receiver that refuses with 400 (dead-letter file) and a disk-buffered sink
whose receiver is down (segments read while it runs and after). Every output is scanned
for every secret: stdout, each receiver's bodies, the dead-letter file, the disk-buffer
segments, the SSE tail (``/v1/tail?replay=``), ``/v1/jobs``, ``shipper explain`` (table
and ``--json``), ``shipper config show`` (credentials in sink URLs and headers) and the
self-logs at debug (stderr). Look-alikes (a Luhn-invalid card, a UUID, epoch millis, a
git SHA and each kind's near miss) must come through unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import BinaryIO

import aiohttp
import orjson
import pytest

from shipper.filters.secrets import RULE_NAMES
from tests.corpus import write_podinfo
from tests.receivers.common import Rejected, decode_body
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.http import NdjsonReceiver
from tests.receivers.loki import LokiReceiver
from tests.unit.filters.secret_samples import (
    ALNUM,
    B64,
    HEX,
    NEAR_MISSES,
    PEM_OPENSSH,
    SAMPLES,
    URLSAFE,
    fake,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
DEADLINE = 180.0
SERVER_TOKEN = "srv-" + fake(ALNUM, 24)
DD_KEY = "dd-" + fake(HEX, 32)

# secrets put in places other than a message (each must vanish too)
AS_KEY = fake(ALNUM, 36, "ghp_")
AS_NESTED_KEY = fake(ALNUM, 24, "sk_live_")
AS_LOGGER = fake(ALNUM, 20, "glpat-")
AS_JOB_ID = fake(ALNUM, 36, "npm_")
AS_CORRELATION_ID = fake(URLSAFE, 27, "dckr_pat_")
IN_LIST = fake(URLSAFE, 92, "hvs.")
AS_STREAM = "SG." + fake(URLSAFE, 22) + "." + fake(URLSAFE, 43)
IN_DIRECTORY = fake(ALNUM, 20, "gldt-")
IN_LABEL = fake(ALNUM, 24, "xoxb-1234567890-1234567890-")
IN_JOB_LABEL = fake(ALNUM, 20, "glrt-")
IN_ANNOTATION = fake(ALNUM, 24, "rk_live_")
IN_TRACEBACK = fake(ALNUM, 18)
IN_LOGFMT = fake(ALNUM, 16)
TB_TOKEN = "dop_v1_" + fake(HEX, 64)
AWS_PAIR_SECRET = fake(B64, 40)
ECHOED = fake(ALNUM, 24, "sk_test_")
#: the job id of a record a noise preset drops (it never ships; /v1/jobs counts the drop under the redacted id)
DROPPED_JOB_ID = fake(ALNUM, 20, "glpat-")
# credentials in the configuration (config show, self-logs)
SINK_PASSWORD = "UrlPw-" + fake(ALNUM, 12)
SINK_QUERY_KEY = "qk-" + fake(ALNUM, 16)
LOKI_TOKEN = "lt-" + fake(ALNUM, 16)
HEADER_KEY = "hk-" + fake(ALNUM, 16)
REFUSER_SIG = fake(ALNUM, 30)

PLACED = [AS_KEY, AS_NESTED_KEY, AS_LOGGER, AS_JOB_ID, AS_CORRELATION_ID, IN_LIST, AS_STREAM,
          IN_DIRECTORY, IN_LABEL, IN_JOB_LABEL, IN_ANNOTATION, IN_TRACEBACK, IN_LOGFMT,
          TB_TOKEN, AWS_PAIR_SECRET, ECHOED, *PEM_OPENSSH]
CONFIGURED = [SERVER_TOKEN, DD_KEY, SINK_PASSWORD, SINK_QUERY_KEY, LOKI_TOKEN, HEADER_KEY,
              REFUSER_SIG]
SECRETS = sorted({s for sample in SAMPLES for s in sample.secrets} | set(PLACED))


class RefusingReceiver(NdjsonReceiver):
    """A backend that rejects every batch as invalid (400), echoing a key in its error
    text as some backends do: the sink dead-letters the batch and logs the reason."""

    def handle(self, request, body):  # type: ignore[no-untyped-def]
        raise Rejected(400, f"invalid batch for key {ECHOED}")


def jline(**fields: object) -> str:
    return orjson.dumps(fields).decode()


def write_logs(root: Path) -> list[Path]:
    """The files the shipper tails; every line at warning so no noise preset drops it."""
    app = root / "logs"
    secret_dir = app / IN_DIRECTORY
    secret_dir.mkdir(parents=True)
    lines = []
    for i, sample in enumerate(SAMPLES):
        text = sample.text
        lines += [
            jline(level="warning", msg=text),
            jline(level="warning", msg=f"nested {i}", ctx={"db": {"value": text}}, items=["a", text]),
            f"level=warning msg=\"logfmt {i}\" detail={json.dumps(text)}",
        ]
    lines += [
        jline(level="warning", msg="key name", **{AS_KEY: "v"}),
        jline(level="warning", msg="nested key", outer={"inner": {AS_NESTED_KEY: {"x": [1]}}}),
        jline(level="warning", msg="logger", logger=AS_LOGGER),
        jline(level="warning", msg="ids", job_id=AS_JOB_ID, correlation_id=AS_CORRELATION_ID),
        jline(level="warning", msg="list", items=[[{"deep": [IN_LIST]}]]),
        jline(level="warning", msg="aws pair", key_id="AKIA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
              sk=AWS_PAIR_SECRET),
        f"level=warning msg=login password={IN_LOGFMT} user=bob",
        jline(level="info", msg="User authenticated", job_id=DROPPED_JOB_ID),  # auth_success
        *[jline(level="warning", msg=near) for near in NEAR_MISSES],
        *[jline(level="warning", msg=sample.near_miss) for sample in SAMPLES],
    ]
    (app / "app.log").write_text("\n".join(lines) + "\n")
    (app / "trace.log").write_text("\n".join([
        "2026-01-03 09:14:44,700 - app.db - ERROR - connect failed",
        "Traceback (most recent call last):",
        '  File "/app/db.py", line 12, in connect',
        f'    engine = create_engine("postgres://app:{IN_TRACEBACK}@db:5432/x")',
        f"sqlalchemy.exc.OperationalError: token {TB_TOKEN} rejected",
        "2026-01-03 09:14:45,000 - app.db - WARNING - retrying",
    ]) + "\n")
    (app / "pem.log").write_text("\n".join([
        "2026-01-03T09:14:44.700Z WARNING loading the deploy key",
        "-----BEGIN OPENSSH PRIVATE KEY-----", *PEM_OPENSSH, "-----END OPENSSH PRIVATE KEY-----",
        "2026-01-03T09:14:45.700Z WARNING key loaded",
    ]) + "\n")
    (app / "docker.log").write_text("\n".join(
        jline(log=f"warning from docker {n}\n", stream=AS_STREAM, time="2026-01-03T09:00:00.000000000Z")
        for n in range(3)) + "\n")
    (secret_dir / "dir.log").write_text(jline(level="warning", msg="a file in a secret dir") + "\n")
    return [app / "app.log", app / "trace.log", app / "pem.log", app / "docker.log",
            secret_dir / "dir.log"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(root: Path, http: str, loki: str, datadog: str, refuser: str,
                 dead_port: int, listen_port: int) -> Path:
    scheme, rest = http.split("://", 1)
    config = {
        "paths": [f"{root}/logs/**/*.log"],
        "podinfo_dir": str(root / "podinfo"),
        "state_dir": str(root / "state"),
        "log_level": "debug",
        "poll_interval": "100ms",
        "shutdown_deadline": "2s",  # the restart gives up on the dead sink after it
        "server": {"listen": f"127.0.0.1:{listen_port}", "token": SERVER_TOKEN,
                   "tail_ring_size": 5000},
        "sinks": [
            {"type": "stdout"},
            {"type": "http", "name": "ingest", "compression": "gzip",
             "url": f"{scheme}://svc:{SINK_PASSWORD}@{rest}?api_key={SINK_QUERY_KEY}",
             "headers": {"X-Api-Key": HEADER_KEY}, "batch": {"max_wait": "100ms"}},
            {"type": "loki", "url": f"{loki}?token={LOKI_TOKEN}", "batch": {"max_wait": "100ms"}},
            {"type": "datadog", "url": datadog, "api_key": DD_KEY, "batch": {"max_wait": "100ms"},
             "max_age": None, "max_future": None},  # the lines' fixed stamps age
            {"type": "http", "name": "refused", "url": f"{refuser}?sig={REFUSER_SIG}",
             "batch": {"max_wait": "100ms"}, "retry": {"max_attempts": 1}},
            {"type": "http", "name": "buffered", "url": f"http://127.0.0.1:{dead_port}/ingest",
             "buffer": {"type": "disk", "fsync": "always"}, "batch": {"max_wait": "100ms"},
             "retry": {"initial_backoff": "1s", "max_backoff": "2s"}},
        ],
    }
    path = root / "shipper.yaml"
    path.write_text(json.dumps(config))
    return path


def env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    base.update(PYTHONPATH=str(REPO), POD_NAME="api-7d9f", POD_NAMESPACE="video",
                NODE_NAME="node-a", CONTAINER_NAME="app")
    return base


async def cli(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipper.cli", *args, cwd=REPO, env=env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode() + err.decode()


def output_files(root: Path) -> tuple[BinaryIO, BinaryIO]:
    """Where the shipper's stdout (records) and stderr (self-logs) go."""
    return (root / "stdout").open("wb"), (root / "stderr").open("wb")


def ndjson(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def segments(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((state / "buffer").rglob("*.buf")))


async def wait_delivered(root: Path, receivers: dict[str, list], proc) -> None:  # type: ignore[no-untyped-def]
    """Until stdout, every receiver and the dead-letter file hold the same records."""
    dead = root / "state" / "dead-letter" / "refused.ndjson"
    deadline, stable_since, last = time.monotonic() + DEADLINE, None, None
    while time.monotonic() < deadline:
        assert proc.returncode is None, "shipper exited early"
        counts = (len(ndjson(root / "stdout")), len(ndjson(dead)),
                  *(len(got) for got in receivers.values()))
        if counts[0] > 0 and len(set(counts)) == 1 and segments(root / "state"):
            if counts == last and time.monotonic() - stable_since >= 1.0:
                return
            if counts != last:
                stable_since = time.monotonic()
            last = counts
        await asyncio.sleep(0.2)
    raise AssertionError(f"not delivered everywhere in time: {last}")


async def read_tail(port: int, replay: int) -> str:
    headers = {"Authorization": f"Bearer {SERVER_TOKEN}"}
    url = f"http://127.0.0.1:{port}/v1/tail?replay={replay}"
    chunks: list[bytes] = []
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        assert resp.status == 200
        while True:
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), 1.0)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


async def get_jobs(port: int) -> str:
    headers = {"Authorization": f"Bearer {SERVER_TOKEN}"}
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}/v1/jobs", headers=headers) as resp:
        assert resp.status == 200
        return await resp.text()


async def collect(tmp_path: Path) -> tuple[dict[str, str], list[dict]]:
    """Run everything; every output's text by name, and the stdout records."""
    files = write_logs(tmp_path)
    write_podinfo({"labels": {"app": "video-api", "team": IN_LABEL, "job-name": IN_JOB_LABEL},
                   "annotations": {"shipper/correlation-id": IN_ANNOTATION}}, tmp_path / "podinfo")
    outputs: dict[str, str] = {}
    async with NdjsonReceiver() as http_rx, LokiReceiver() as loki_rx, \
            DatadogReceiver(DD_KEY, clock=None) as dd_rx, RefusingReceiver() as bad_rx:
        listen = free_port()
        config = write_config(tmp_path, http_rx.url, loki_rx.url, dd_rx.url, bad_rx.url,
                              free_port(), listen)
        commands = {"config show": ("config", "show", "--config", str(config))}
        for path in files:
            commands[f"explain (table) {path.name}"] = ("explain", "--config", str(config),
                                                        str(path))
            commands[f"explain --json {path.name}"] = ("explain", "--config", str(config),
                                                       "--json", str(path))
        texts = await asyncio.gather(*(cli(*args) for args in commands.values()))  # at once
        outputs.update(zip(commands, texts, strict=True))
        out, err = output_files(tmp_path)
        with out, err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "shipper.cli", "run", "--config", str(config), cwd=REPO,
                env=env(), stdout=out, stderr=err)
            try:
                await wait_delivered(tmp_path, {"http": http_rx.records, "loki": loki_rx.entries,
                                                "datadog": dd_rx.entries}, proc)
                outputs["disk buffer (running)"] = segments(tmp_path / "state").decode("latin-1")
                outputs["SSE tail"] = await read_tail(listen, 5000)
                outputs["/v1/jobs"] = await get_jobs(listen)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        outputs["http bodies"] = orjson.dumps(http_rx.records).decode()
        outputs["loki"] = orjson.dumps([(e.labels, e.line, e.metadata) for e in loki_rx.entries]).decode()
        outputs["datadog"] = orjson.dumps(dd_rx.entries).decode()
        outputs["refused bodies"] = b"".join(
            decode_body(s.body, s.headers.get("Content-Encoding")) for s in bad_rx.seen).decode()
    # a restart: files resume at their checkpoints (self-logs name their paths)
    outputs["self-logs of a restart"] = await cli("run", "--once", "--config", str(config),
                                                  "--listen", "off")
    outputs["stdout"] = (tmp_path / "stdout").read_text()
    outputs["self-logs (stderr, debug)"] = (tmp_path / "stderr").read_text()
    outputs["dead-letter file"] = (tmp_path / "state/dead-letter/refused.ndjson").read_text()
    outputs["disk buffer (after exit)"] = segments(tmp_path / "state").decode("latin-1")
    return outputs, ndjson(tmp_path / "stdout")


def leaks(outputs: dict[str, str], secrets: list[str]) -> dict[str, int]:
    found = {name: sum(secret in text for secret in secrets) for name, text in outputs.items()}
    return {name: count for name, count in found.items() if count}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[dict[str, str], list[dict]]:
    return asyncio.run(collect(tmp_path_factory.mktemp("secrets")))


def test_no_secret_on_any_output(world):
    """0 of the catalogued and placed secrets on any exit path (counts per output)."""
    outputs, records = world
    assert len(SECRETS) >= 60 and {s.kind for s in SAMPLES} == set(RULE_NAMES)
    assert records and "[REDACTED]" in outputs["stdout"]
    assert leaks(outputs, SECRETS) == {}


def test_a_dropped_record_leaks_its_job_id_nowhere_but_v1_jobs(world):
    outputs, _ = world
    assert leaks({k: v for k, v in outputs.items() if k != "/v1/jobs"}, [DROPPED_JOB_ID]) == {}


def test_v1_jobs_does_not_show_the_job_id_of_a_dropped_record(world):
    outputs, _ = world
    assert DROPPED_JOB_ID not in outputs["/v1/jobs"]


def test_no_configured_credential_in_config_show_or_self_logs(world):
    outputs, _ = world
    assert leaks(outputs, CONFIGURED) == {}
    assert "[REDACTED]" in outputs["config show"] and "**********" in outputs["config show"]


def test_look_alikes_come_through_unchanged(world):
    """Luhn-invalid card, UUID, epoch millis, git SHA and each kind's near miss."""
    outputs, records = world
    messages = {r["message"] for r in records}
    assert [n for n in NEAR_MISSES if n not in messages] == []
    assert [s.near_miss for s in SAMPLES if s.near_miss not in messages] == []
    for name in ("http bodies", "SSE tail", "dead-letter file"):
        assert [n for n in NEAR_MISSES if n not in outputs[name]] == [], name


def test_every_output_was_really_read(world):
    """The scan is only a proof if every output holds records (or the configuration)."""
    outputs, _ = world
    for name, text in outputs.items():
        marker = "redacted:" if name.startswith("explain (table)") else "[REDACTED"
        assert marker in text, f"{name} holds no redacted record: {text[:200]!r}"
    assert '"job_id"' in outputs["/v1/jobs"]
