"""The peers: rsyslog (Debian ``rsyslog``, apt-get installed when missing) and syslog-ng
(Debian ``syslog-ng-core``, which conflicts with rsyslog: downloaded and unpacked with
``dpkg -x`` under the cache, run with ``LD_LIBRARY_PATH`` and ``--module-path``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.errors import PeerUnavailable
from bench.procs import Command
from bench.settings import BENCH_DIR, POD_FACTS

CONFIGS = BENCH_DIR / "configs"
#: libraries syslog-ng-core needs that a slim Debian lacks
SYSLOG_NG_DEPS = ("syslog-ng-core", "libivykis0", "libnet1", "libpcre3", "libwrap0")
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def _apt(args: list[str], cwd: Path | None = None) -> bool:
    result = subprocess.run(["apt-get", "-q", *args], cwd=cwd, env=os.environ | _APT_ENV,
                            capture_output=True, timeout=600)
    return result.returncode == 0


def _apt_retry(args: list[str], cwd: Path | None = None) -> bool:
    """Run apt-get; after a failure refresh the package lists once and try again."""
    if shutil.which("apt-get") is None:
        return False
    return _apt(args, cwd) or (_apt(["update"]) and _apt(args, cwd))


def render(template: str, out: Path, **values: str) -> Path:
    """Fill ``@KEY@`` placeholders of a config template (pod facts included)."""
    text = (CONFIGS / template).read_text()
    facts = {"POD": POD_FACTS["POD_NAME"], "NAMESPACE": POD_FACTS["POD_NAMESPACE"],
             "NODE": POD_FACTS["NODE_NAME"]}
    for key, value in (facts | values).items():
        text = text.replace(f"@{key}@", value)
    out.write_text(text)
    return out


@dataclass(frozen=True)
class Rsyslog:
    binary: Path
    name: str = "rsyslog"

    @classmethod
    def ensure(cls) -> Rsyslog:
        found = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin")
        if not found and _apt_retry(["install", "-y", "--no-install-recommends", "rsyslog"]):
            found = shutil.which("rsyslogd", path="/usr/sbin")
        if not found:
            raise PeerUnavailable("rsyslog: not installed and apt-get install rsyslog failed")
        return cls(Path(found))

    def version(self) -> str:
        out = subprocess.run([str(self.binary), "-v"], capture_output=True, text=True).stdout
        words = out.split()
        return f"rsyslog {words[1]}" if len(words) > 1 else "rsyslog"

    def command(self, corpus: Path, work: Path) -> Command:
        work, corpus = work.resolve(), corpus.resolve()
        out = work / "out.ndjson"
        conf = render("rsyslog.conf.in", work / "rsyslog.conf", WORK=str(work),
                      CORPUS=str(corpus), OUT=str(out))
        argv = [str(self.binary), "-n", "-f", str(conf), "-i", str(work / "rsyslog.pid")]
        return Command(argv=argv, env={}, output=out, stdout_is_output=False)


@dataclass(frozen=True)
class SyslogNg:
    root: Path
    name: str = "syslog-ng"

    @classmethod
    def ensure(cls, cache: Path) -> SyslogNg:
        root = cache / "peers" / "syslog-ng"
        if not (root / "usr" / "sbin" / "syslog-ng").exists():
            debs = cache / "peers" / "debs"
            debs.mkdir(parents=True, exist_ok=True)
            if not _apt_retry(["download", *SYSLOG_NG_DEPS], cwd=debs):
                raise PeerUnavailable("syslog-ng: apt-get download syslog-ng-core failed")
            for deb in sorted(debs.glob("*.deb")):
                subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        return cls(root)

    @property
    def env(self) -> dict[str, str]:
        libs = [self.root / "usr/lib/syslog-ng", self.root / "usr/lib/x86_64-linux-gnu",
                self.root / "lib/x86_64-linux-gnu"]
        return {"LD_LIBRARY_PATH": ":".join(str(p) for p in libs)}

    @property
    def module_path(self) -> str:
        return ":".join(str(p) for p in sorted((self.root / "usr/lib/syslog-ng").glob("3.*")))

    def version(self) -> str:
        out = subprocess.run([str(self.root / "usr/sbin/syslog-ng"), "--version"],
                             capture_output=True, text=True, env=os.environ | self.env).stdout
        match = re.search(r"\((\d+\.\d+\.\d+)\)", out)
        return f"syslog-ng {match.group(1)}" if match else "syslog-ng"

    def command(self, corpus: Path, work: Path) -> Command:
        work, corpus = work.resolve(), corpus.resolve()
        out = work / "out.ndjson"
        conf = render("syslog-ng.conf.in", work / "syslog-ng.conf", CORPUS=str(corpus),
                      OUT=str(out))
        argv = [str(self.root / "usr/sbin/syslog-ng"), "-F", "--no-caps", "-f", str(conf),
                f"--module-path={self.module_path}", "-R", str(work / "syslog-ng.persist"),
                "-p", str(work / "syslog-ng.pid"), "-c", str(work / "syslog-ng.ctl")]
        return Command(argv=argv, env=self.env, output=out, stdout_is_output=False)
