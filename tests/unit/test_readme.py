"""The README stays true: its config examples load, its make targets exist."""

import re
from pathlib import Path

import yaml

from shipper.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def config_blocks() -> list[dict]:
    """YAML blocks whose top-level keys are all shipper config keys (Helm templates,
    which are not YAML until rendered, are left to tests/k8s)."""
    blocks = []
    for text in re.findall(r"```yaml\n(.*?)```", README, flags=re.S):
        if "{{" in text:
            continue
        data = yaml.safe_load(text)
        if isinstance(data, dict) and set(data) <= set(Settings.model_fields):
            blocks.append(data)
    return blocks


def test_every_shipper_config_example_in_the_readme_loads(tmp_path):
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
