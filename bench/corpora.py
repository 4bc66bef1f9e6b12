"""Corpora cached under ``bench/.cache/corpus``: the project's own and the shared kit's."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import Manifest, count_lines, generate, read_manifest, write_manifest
from bench.errors import BenchError
from bench.settings import SHARED_GENERATOR, BenchSettings


@dataclass(frozen=True)
class Corpus:
    name: str
    dir: Path
    manifest: Manifest

    def file(self, name: str) -> Path:
        return self.dir / name


def own_corpus(settings: BenchSettings, log=print) -> Corpus:
    """The project's corpus at ``settings.lines`` lines, generated once."""
    outdir = settings.cache / "corpus" / f"own-{settings.lines}"
    manifest = read_manifest(outdir)
    if manifest is None:
        log(f"generating {settings.lines:,} lines into {outdir} ...")
        manifest = generate(settings.lines, outdir)
    return Corpus("own", outdir, manifest)


def shared_corpus(settings: BenchSettings, log=print) -> Corpus | None:
    """The shared kit generator's corpus (``None`` when the kit is not beside the repo)."""
    if not SHARED_GENERATOR.exists():
        return None
    outdir = settings.cache / "corpus" / f"shared-{settings.lines}"
    manifest = read_manifest(outdir)
    if manifest is None:
        log(f"generating {settings.lines:,} lines with {SHARED_GENERATOR} ...")
        outdir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([sys.executable, str(SHARED_GENERATOR), str(settings.lines),
                                 str(outdir)], capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise BenchError(f"shared generator failed: {result.stderr[-500:]}")
        lines, noise, json_lines, size = count_lines(outdir / "app.log")
        manifest = Manifest(lines=lines, json=json_lines, text=lines - noise - json_lines,
                            noise=noise, bytes=size,
                            generator="shared gen_corpus.py")
        write_manifest(outdir, manifest)
    return Corpus("shared", outdir, manifest)
