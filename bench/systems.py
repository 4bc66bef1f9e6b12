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
                    extra: tuple[str, ...] = (), pure: bool = False) -> Command:
    """``shipper run [--once] --path FILE --podinfo-dir EMPTY --listen 127.0.0.1:0`` with the
    pod facts in env (the HTTP server stays on, on a free port, so runs never clash);
    ``SHIPPER_PURE`` is 1 for ``pure`` (the pure-Python kernels), else 0 (the compiled ones
    where they are built)."""
    podinfo = work / "podinfo"
    podinfo.mkdir(exist_ok=True)
    argv = [*settings.shipper, "run", *(["--once"] if once else []), "--path", str(corpus),
            "--podinfo-dir", str(podinfo), "--listen", "127.0.0.1:0", *extra,
            *settings.shipper_args]
    env = POD_FACTS | {"SHIPPER_PURE": "1" if pure else "0"}
    return Command(argv=argv, env=env, output=work / "out.ndjson")


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

    def once_pure(corpus: Path, work: Path) -> Command:
        return shipper_command(settings, corpus, work, once=True, pure=True)

    return [System("shipper-once", "shipper --once", "shipper", "app.log", False, once),
            System("shipper-once-pure", "shipper --once (pure kernels)", "shipper", "app.log",
                   False, once_pure),
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
