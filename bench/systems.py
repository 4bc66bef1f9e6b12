"""The systems under test, each a recipe for a :class:`~bench.procs.Command` on a corpus file."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from bench.errors import PeerUnavailable
from bench.peers import Rsyslog, SyslogNg
from bench.procs import Command
from bench.settings import POD_FACTS, BenchSettings

Kind = Literal["shipper", "baseline", "peer"]


@dataclass(frozen=True)
class System:
    """``key`` names the row; ``input`` is the corpus file it reads."""

    key: str
    label: str
    kind: Kind
    input: str
    daemon: bool
    build: Callable[[Path, Path], Command]


def shipper_command(settings: BenchSettings, corpus: Path, work: Path, *, once: bool,
                    extra: tuple[str, ...] = ()) -> Command:
    """``shipper run [--once] --path FILE --podinfo-dir EMPTY --listen 127.0.0.1:0`` with the
    pod facts in env (the HTTP server stays on, on a free port, so runs never clash)."""
    podinfo = work / "podinfo"
    podinfo.mkdir(exist_ok=True)
    argv = [*settings.shipper, "run", *(["--once"] if once else []), "--path", str(corpus),
            "--podinfo-dir", str(podinfo), "--listen", "127.0.0.1:0", *extra,
            *settings.shipper_args]
    return Command(argv=argv, env=dict(POD_FACTS), output=work / "out.ndjson")


def _baseline(corpus: Path, work: Path) -> Command:
    argv = [sys.executable, "-m", "bench.baseline", "run", "--once", "--path", str(corpus)]
    return Command(argv=argv, env=dict(POD_FACTS), output=work / "out.ndjson")


def shipper_systems(settings: BenchSettings) -> list[System]:
    if not settings.has_shipper:
        return []

    def once(corpus: Path, work: Path) -> Command:
        return shipper_command(settings, corpus, work, once=True)

    def follow(corpus: Path, work: Path) -> Command:
        return shipper_command(settings, corpus, work, once=False)

    return [System("shipper-once", "shipper --once", "shipper", "app.log", False, once),
            System("shipper-once-cri", "shipper --once (CRI)", "shipper", "app.cri.log", False,
                   once),
            System("shipper-follow", "shipper follow", "shipper", "app.log", True, follow)]


def baseline_system() -> System:
    return System("python-orjson", "Python + orjson loop", "baseline", "app.log", False,
                  _baseline)


def peer_systems(settings: BenchSettings, notes: list[str]) -> list[System]:
    """rsyslog and syslog-ng, installed on first use; a peer that cannot be had is a note."""
    systems = []
    for make in (Rsyslog.ensure, lambda: SyslogNg.ensure(settings.cache)):
        try:
            peer = make()
        except PeerUnavailable as exc:
            notes.append(f"skipped: {exc}")
            continue
        systems.append(System(peer.name, peer.version(), "peer", "app.log", True, peer.command))
    return systems
