"""The README stays true: its config examples load, its make targets exist."""

import re
from pathlib import Path

import yaml

from shipper.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
#: the README and the reference moved out of it into docs/
DOCS = README + "".join(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))


def config_blocks() -> list[dict]:
    """YAML blocks whose top-level keys are all shipper config keys (Helm templates,
    which are not YAML until rendered, are left to tests/k8s)."""
    blocks = []
    for text in re.findall(r"```yaml\n(.*?)```", DOCS, flags=re.S):
        if "{{" in text:
            continue
        data = yaml.safe_load(text)
        if isinstance(data, dict) and set(data) <= set(Settings.model_fields):
            blocks.append(data)
    return blocks


def test_every_shipper_config_example_in_the_readme_and_docs_loads(tmp_path):
    blocks = config_blocks()
    assert len(blocks) >= 2
    for i, data in enumerate(blocks):
        path = tmp_path / f"block{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        load_settings(str(path))


def test_the_two_front_door_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, flags=re.M)
    assert re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_record_example_is_what_make_demo_prints():
    """The example record in "The record" is a line of `make demo`'s real output."""
    import json
    import os
    import shlex
    import subprocess
    import sys

    makefile = (ROOT / "Makefile").read_text()
    env_words = re.search(r"DEMO_ENV := (.*?)\n(?!\s)", makefile, flags=re.S).group(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_", "NODE_"))}
    env.update(dict(w.split("=", 1) for w in shlex.split(env_words.replace("\\\n", " "))))
    args = re.search(r"shipper run (.*?)\n\n", makefile, flags=re.S).group(1)
    argv = shlex.split(args.replace("\\\n", " "))
    proc = subprocess.run([sys.executable, "-m", "shipper.cli", "run", *argv], cwd=ROOT,
                          env=env, capture_output=True, timeout=60, check=True)
    example = re.search(r"```json\n(\{.*?\})\n```", README, flags=re.S).group(1)
    printed = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert json.loads(example) in printed
