"""The project's own deterministic benchmark corpus.

Same mix and size as the shared peer kit's generator, built independently: 50% JSON lines
(60% structlog style, 40% zap style), 35% text lines (key=value, Python logging, zap
console), 15% noise that every system must drop (``GET /health``, ``GET /api/v1/jobs/<id>
200``, ``User authenticated``, in text and JSON), about 222 bytes a line. ``app.log`` holds
the lines, ``app.cri.log`` the same lines in CRI form, ``manifest.json`` the counts.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from time import gmtime, strftime

import orjson

#: What every system drops (the same alternation the peer configs use).
NOISE = re.compile(rb"GET /health|GET /api/v1/jobs/\S+ 200|User authenticated")
SEED = 0x5EED_B3AC
START_US = 1_751_797_800 * 1_000_000  # 2025-07-06T10:30:00Z
_LEVELS = ("info",) * 7 + ("debug", "debug", "warning", "error")
_EVENTS = ("batch processed", "starting batch", "fetched page from upstream",
           "retrying request", "wrote checkpoint", "worker heartbeat", "enqueued task",
           "task finished", "cache miss for key", "db transaction committed",
           "upload chunk complete")
_LOGGERS = ("app.worker", "app.scheduler", "app.api.jobs", "app.storage.s3", "app.db")
_CALLERS = ("worker/batch.go:142", "scheduler/loop.go:88", "storage/s3.go:311",
            "api/jobs.go:57")
_QUEUES = ("default", "priority", "bulk-import")


@dataclass(frozen=True)
class Manifest:
    """What a corpus holds; ``expected_out`` = lines that are not noise."""

    lines: int
    json: int
    text: int
    noise: int
    bytes: int
    generator: str

    @property
    def expected_out(self) -> int:
        return self.lines - self.noise


class _Clock:
    """Microsecond timestamps with the per-second text cached (formatting is the slow part)."""

    def __init__(self, start_us: int) -> None:
        self.us = start_us
        self._sec = -1
        self._parts: tuple[str, str, str] = ("", "", "")

    def advance(self, rng: random.Random) -> None:
        self.us += rng.randint(50, 2000)

    @property
    def parts(self) -> tuple[str, str, str]:
        """(``2025-07-06T10:30:00``, ``2025-07-06 10:30:00``, ``06/Jul/2025:10:30:00``)."""
        sec = self.us // 1_000_000
        if sec != self._sec:
            tm = gmtime(sec)
            self._sec = sec
            self._parts = (strftime("%Y-%m-%dT%H:%M:%S", tm), strftime("%Y-%m-%d %H:%M:%S", tm),
                           strftime("%d/%b/%Y:%H:%M:%S", tm))
        return self._parts

    @property
    def micros(self) -> int:
        return self.us % 1_000_000


class LineFactory:
    """Builds one corpus line at a time from a seeded RNG."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.clock = _Clock(START_US)
        self.jobs = [f"job-{self.uuid()}" for _ in range(2000)]

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def next_line(self) -> tuple[str, str]:
        """Advance the clock and return ``(kind, line)``; kind is json, text or noise."""
        self.clock.advance(self.rng)
        roll = self.rng.random()
        if roll < 0.50:
            return "json", self._json()
        if roll < 0.85:
            return "text", self._text()
        return "noise", self._noise()

    def iso_ms(self) -> str:
        return f"{self.clock.parts[0]}.{self.clock.micros // 1000:03d}Z"

    def iso_us(self) -> str:
        return f"{self.clock.parts[0]}.{self.clock.micros:06d}Z"

    def _json(self) -> str:
        rng, job = self.rng, self.rng.choice(self.jobs)
        if rng.random() < 0.6:
            doc = {"timestamp": self.iso_us(), "level": rng.choice(_LEVELS),
                   "event": rng.choice(_EVENTS), "logger": rng.choice(_LOGGERS), "job_id": job,
                   "correlation_id": self.uuid(), "batch_size": rng.randint(1, 5000),
                   "duration_ms": round(rng.uniform(0.1, 9000.0), 3)}
            if rng.random() < 0.5:
                doc["attempt"] = rng.randint(1, 5)
                doc["upstream"] = ("https://api.internal.example.com/v2/items?page="
                                   f"{rng.randint(1, 999)}")
        else:
            ok = rng.random() < 0.95
            doc = {"level": rng.choice(_LEVELS), "ts": round(self.clock.us / 1e6, 6),
                   "caller": rng.choice(_CALLERS), "msg": rng.choice(_EVENTS).capitalize(),
                   "job_id": job, "correlation_id": self.uuid(),
                   "records": rng.randint(0, 100_000), "bytes": rng.randint(0, 10**9), "ok": ok}
            if rng.random() < 0.5:
                doc["error"] = None if ok else "context deadline exceeded"
                doc["tags"] = [f"tenant-{rng.randint(1, 50)}", "region-eu-west-1"]
        return orjson.dumps(doc).decode()

    def _text(self) -> str:
        rng, job = self.rng, self.rng.choice(self.jobs)
        roll, level = rng.random(), rng.choice(_LEVELS).upper()
        event = rng.choice(_EVENTS).capitalize()
        if roll < 0.40:
            return (f"{self.clock.parts[0]}Z {level} {event} job_id={job} "
                    f"batch_size={rng.randint(1, 5000)} worker={rng.randint(0, 31)} "
                    f"elapsed_ms={rng.uniform(0, 9999):.2f} correlation_id={self.uuid()}")
        if roll < 0.75:
            return (f"{self.clock.parts[1]},{self.clock.micros // 1000:03d} - "
                    f"{rng.choice(_LOGGERS)} - {level} - {event} for job_id={job} "
                    f"(attempt {rng.randint(1, 5)}/5, queue={rng.choice(_QUEUES)}, "
                    f"pending={rng.randint(0, 100_000)})")
        fields = orjson.dumps({"job_id": job, "records": rng.randint(0, 100_000),
                               "correlation_id": self.uuid()}).decode()
        return f"{self.iso_ms()}\t{level}\t{rng.choice(_CALLERS)}\t{event}\t{fields}"

    def _noise(self) -> str:
        rng, roll = self.rng, self.rng.random()
        ip = f"10.42.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        stamp = f"{self.clock.parts[0]}Z"
        if roll < 0.25:
            return (f'{ip} - - [{self.clock.parts[2]} +0000] "GET /health HTTP/1.1" 200 2 "-" '
                    '"kube-probe/1.29"')
        if roll < 0.40:
            return f'INFO:     {ip}:{rng.randint(30000, 60000)} - "GET /health HTTP/1.1" 200 OK'
        if roll < 0.50:
            return f"{stamp} GET /health 200"
        if roll < 0.70:
            return (f"{stamp} INFO GET /api/v1/jobs/{rng.choice(self.jobs)} 200 "
                    f"{rng.uniform(0.5, 30):.1f}ms")
        if roll < 0.80:
            return orjson.dumps({"timestamp": self.iso_us(), "level": "info",
                                 "event": f"GET /api/v1/jobs/{rng.choice(self.jobs)} 200",
                                 "client": ip,
                                 "duration_ms": round(rng.uniform(0.5, 30), 2)}).decode()
        if roll < 0.90:
            return f"{stamp} INFO User authenticated user_id=u-{rng.randint(1, 10**6)} method=jwt"
        return orjson.dumps({"timestamp": self.iso_us(), "level": "info",
                             "event": "User authenticated",
                             "user_id": f"u-{rng.randint(1, 10**6)}",
                             "correlation_id": self.uuid()}).decode()

    def cri_prefix(self) -> str:
        nanos = self.clock.micros * 1000 + self.rng.randint(0, 999)
        return f"{self.clock.parts[0]}.{nanos:09d}Z stdout F "


def generate(lines: int, outdir: Path, seed: int = SEED, batch: int = 10_000) -> Manifest:
    """Write ``app.log``, ``app.cri.log`` and ``manifest.json`` into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    factory = LineFactory(seed)
    counts = {"json": 0, "text": 0, "noise": 0}
    size = 0
    with open(outdir / "app.log.tmp", "w") as plain, open(outdir / "app.cri.log.tmp", "w") as cri:
        for start in range(0, lines, batch):
            plain_buf, cri_buf = [], []
            for _ in range(min(batch, lines - start)):
                kind, line = factory.next_line()
                counts[kind] += 1
                plain_buf.append(line)
                cri_buf.append(factory.cri_prefix() + line)
            text = "\n".join(plain_buf) + "\n"
            size += len(text.encode())
            plain.write(text)
            cri.write("\n".join(cri_buf) + "\n")
    os.replace(outdir / "app.log.tmp", outdir / "app.log")
    os.replace(outdir / "app.cri.log.tmp", outdir / "app.cri.log")
    manifest = Manifest(lines=lines, bytes=size, generator="bench.corpus", **counts)
    write_manifest(outdir, manifest)
    return manifest


def write_manifest(outdir: Path, manifest: Manifest) -> None:
    data = asdict(manifest) | {"expected_out": manifest.expected_out}
    (outdir / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")


def read_manifest(outdir: Path) -> Manifest | None:
    """The manifest of a complete corpus in ``outdir``, else ``None``."""
    path = outdir / "manifest.json"
    if not path.exists() or not (outdir / "app.log").exists():
        return None
    data = json.loads(path.read_text())
    data.pop("expected_out", None)
    return Manifest(**data)


def count_lines(path: Path, chunk: int = 1 << 22) -> tuple[int, int, int, int]:
    """``(lines, noise lines, JSON lines that are not noise, bytes)`` of a corpus file."""
    lines = noise = json_lines = size = 0
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            size += len(block)
            block = tail + block
            cut = block.rfind(b"\n") + 1
            body, tail = block[:cut], block[cut:]
            lines += body.count(b"\n")
            for line in body.split(b"\n"):
                if NOISE.search(line):
                    noise += 1
                elif line[:1] == b"{":
                    json_lines += 1
    return lines, noise, json_lines, size
