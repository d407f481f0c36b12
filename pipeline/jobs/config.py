"""What every job config (generate, backtranslate, eval) shares, written once.

`JobConfig` is their base: unknown keys are errors, a key listed in
`pipeline.config_rules.RENAMED` under the job's name fails with its successor's name, and a
`resources` section is filled in from the job's own pool defaults where it leaves a knob out.
`pool` and `grader_timeout` declare the two fields every job has, with the job's own wording.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from pipeline.config_rules import StrictModel, reject_renamed, with_defaults
from pipeline.jobs.resources import ActorPoolResources


class JobConfig(StrictModel):
    """A job's config. A subclass names its `job` (its key in RENAMED) and its `pool_defaults`."""

    job: ClassVar[str]
    pool_defaults: ClassVar[dict[str, Any]] = {}  # where the job's pool differs from ActorPoolResources'

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return reject_renamed(data, cls.job)

    @field_validator("resources", mode="before", check_fields=False)
    @classmethod
    def _pool_defaults(cls, value: Any) -> Any:
        return with_defaults(value, cls.pool_defaults)


def pool(defaults: dict[str, Any], description: str) -> Any:
    """The `resources` field: the job's actor pool, ActorPoolResources' defaults overridden by `defaults`."""
    return Field(default_factory=lambda: ActorPoolResources(**defaults), description=description)


def grader_timeout(description: str) -> Any:
    """The `grader_timeout_s` field: the deadline of one comparison in the sandboxed grader."""
    return Field(default=10.0, gt=0, description=description)
