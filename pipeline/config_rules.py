"""Rules every job config follows: unknown keys are errors, and a renamed key names its successor.

Every config section is a `StrictModel`, so a misspelt key fails at load with its path.

Each knob has one name across the stages. When a name changes, its old spelling is listed
in `RENAMED` (relative to the job config that owns it) and the job configs' base
(`pipeline.jobs.config.JobConfig`) calls `reject_renamed` before validating, so an old
config fails at load with the new name instead of "extra inputs are not permitted". The error is a `renamed_key` pydantic error carrying
the (old, new) pairs, so the YAML loader (`cluster.config.load_config`) can print full paths
such as `backtranslate.filter_mode was renamed: use backtranslate.filter.mode`.

A `[]` in a path stands for every item of a list (`models[].options` checks each model).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class StrictModel(BaseModel):
    """A config section: unknown keys are errors ("extra inputs are not permitted"), never ignored."""

    model_config = ConfigDict(extra="forbid")


# job config -> {old path: new path}
RENAMED: dict[str, dict[str, str]] = {
    "generate": {
        "resources.grader_timeout_s": "grader_timeout_s",
        "problems.allow_hub": "allow_hub",
        "clean.allow_hub": "allow_hub",
    },
    "backtranslate": {
        "filter_mode": "filter.mode",
        "judge.timeout_s": "grader_timeout_s",
        "resources.concurrency": "resources.concurrency_per_actor",
        "system_prompt": "prompt.system",
    },
    "eval": {
        "resources.grader_timeout_s": "grader_timeout_s",
        "resources.torch_threads": "models[].backend.num_threads",
        "models[].options": "models[].backend",
    },
}


def _find(data: Any, parts: list[str], where: list[str], indices: list[int]) -> list[tuple[str, list[int]]]:
    """Concrete paths (and the list indices met on the way) where `parts` exists in `data`."""
    if not parts:
        return [(".".join(where), indices)]
    if not isinstance(data, dict):
        return []
    head, rest = parts[0], parts[1:]
    key = head.removesuffix("[]")
    if key not in data:
        return []
    if not head.endswith("[]"):
        return _find(data[key], rest, [*where, key], indices)
    if not isinstance(data[key], list):
        return []
    found = []
    for i, item in enumerate(data[key]):
        found += _find(item, rest, [*where, f"{key}[{i}]"], [*indices, i])
    return found


def _fill(path: str, indices: list[int]) -> str:
    for i in indices:
        if "[]" not in path:
            break
        path = path.replace("[]", f"[{i}]", 1)
    return path


def renamed_keys(data: Any, job: str) -> list[tuple[str, str]]:
    """(old, new) for every renamed key of `job` that `data` (a raw mapping) still uses."""
    pairs = []
    for old, new in RENAMED[job].items():
        for where, indices in _find(data, old.split("."), [], []):
            pairs.append((where, _fill(new, indices)))
    return pairs


def reject_renamed(data: Any, job: str) -> Any:
    """The body of a job config's before-validator: fail on old key names, else pass `data` on."""
    pairs = renamed_keys(data, job)
    if pairs:
        raise PydanticCustomError(
            "renamed_key",
            "{message}",
            {"message": "; ".join(f"{old} was renamed: use {new}" for old, new in pairs), "renamed": pairs},
        )
    return data


def with_defaults(value: Any, defaults: dict[str, Any]) -> Any:
    """A mapping with a job's own defaults under the keys it leaves out (other values pass as they are)."""
    return {**defaults, **value} if isinstance(value, dict) else value
