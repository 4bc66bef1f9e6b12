"""The subset of kustomize that deploy/ uses, in plain Python: resources (files and
directories), namespace, images, labels and strategic-merge patches (lists of named
items merged by name). Unsupported fields raise, so deploy/ cannot drift silently."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = frozenset({"apiVersion", "kind", "resources", "namespace", "images", "labels",
                       "patches"})
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding",
                            "CustomResourceDefinition"})


def build(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kustomize build directory`` would print (for the supported subset)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects.extend(build(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in spec.get("patches", []):
        _apply_patch(objects, yaml.safe_load((directory / patch["path"]).read_text()))
    for obj in objects:
        _transform(obj, spec)
    return objects


def _transform(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    if "namespace" in spec and obj["kind"] not in CLUSTER_SCOPED:
        obj["metadata"]["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        obj["metadata"].setdefault("labels", {}).update(label["pairs"])
        template = obj.get("spec", {}).get("template")
        if label.get("includeTemplates") and template:
            template["metadata"].setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images", []):
        for container in _containers(obj):
            _retag(container, image)


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec") or (spec if obj["kind"] == "Pod" else {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _retag(container: dict[str, Any], image: dict[str, str]) -> None:
    name, _, tag = container["image"].partition("@")[0].rpartition(":")
    if not name or "/" in tag:
        name, tag = container["image"], ""
    if name != image["name"]:
        return
    new_name = image.get("newName", name)
    new_tag = image.get("newTag", tag)
    container["image"] = f"{new_name}@{image['digest']}" if "digest" in image else f"{new_name}:{new_tag}"


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    for obj in objects:
        if obj["kind"] == patch["kind"] and obj["metadata"]["name"] == patch["metadata"]["name"]:
            merged = merge(obj, patch)
            obj.clear()
            obj.update(merged)
            return
    raise ValueError(f"patch target {patch['kind']}/{patch['metadata']['name']} not found")


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge: dicts deep-merged, lists of named dicts merged by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if _named_list(base) and _named_list(patch):
        out = copy.deepcopy(base)
        index = {item["name"]: i for i, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)
