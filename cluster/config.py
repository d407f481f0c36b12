"""Run configs: YAML files validated by pydantic, overridable with `--set a.b.c=value`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from eval.run.config import BACKEND_KINDS
from pipeline.teachers.config import TEACHER_KINDS

Model = TypeVar("Model", bound=BaseModel)

# The `kind`s of the config unions (teachers, eval backends): pydantic puts them in error paths.
_UNION_TAGS = frozenset(TEACHER_KINDS) | frozenset(BACKEND_KINDS)


class ConfigError(ValueError):
    """A config that cannot be used, with a message that says what to fix."""


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """`train.lora.r=16` sets data["train"]["lora"]["r"] = 16 (the value is read as YAML)."""
    if "=" not in assignment:
        raise ConfigError(f"--set expects KEY=VALUE, got {assignment!r}")
    key, _, raw = assignment.partition("=")
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a section")
        node = child
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None


def load_config(path: str | Path | None, model: type[Model], overrides: list[str] | None = None) -> Model:
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a YAML mapping at the top level")
        data = loaded
    for assignment in overrides or []:
        apply_override(data, assignment)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [line for error in exc.errors() for line in describe_error(error, data)]
        raise ConfigError(f"invalid config {path or ''}:\n" + "\n".join(lines)) from None


def describe_error(error: dict[str, Any], data: Any) -> list[str]:
    """One validation error as lines `  a.b.c: message`, with the path as the YAML spells it.

    A renamed key (`pipeline.config_rules`) is reported with both full paths, e.g.
    `backtranslate.filter_mode was renamed: use backtranslate.filter.mode`.
    """
    where = yaml_path(error["loc"], data)
    if error["type"] == "renamed_key":
        prefix = f"{where}." if where else ""
        return [f"  {prefix}{old} was renamed: use {prefix}{new}" for old, new in error["ctx"]["renamed"]]
    return [f"  {where or '(top)'}: {error['msg']}"]


def yaml_path(loc: tuple[Any, ...], data: Any) -> str:
    """`loc` as a YAML path: list items as `[i]`, and without the tags pydantic adds for the
    member of a union it chose (`teacher.openai.options` is `teacher.options` in the file)."""
    parts: list[str] = []
    node = data
    for key in loc:
        if _is_union_tag(node, key):
            continue
        parts.append(f"[{key}]" if isinstance(key, int) else ("." if parts else "") + str(key))
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            node = None
    return "".join(parts)


def _is_union_tag(node: Any, key: Any) -> bool:
    """Whether `key` is the tag of the union member chosen for `node` rather than a key of it."""
    if isinstance(node, str):
        return key == node  # a bare kind, e.g. `backend: vllm`
    if not isinstance(node, dict) or key in node:
        return False
    return key == node["kind"] if "kind" in node else key in _UNION_TAGS  # a kind left to its default
