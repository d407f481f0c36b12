"""Build a teacher from its config, in this process or as Ray actors the solvers share."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.teachers.base import Teacher

TeacherKind = Literal["symbolic", "openai", "hf", "vllm"]


class TeacherConfig(BaseModel):
    """Which teacher, its options, and where it runs.

    `placement="inline"` builds the teacher inside each solver actor (right for the
    symbolic teacher and for HTTP endpoints: each actor has its own connection pool and
    a share of the rate limits). `placement="actors"` starts `replicas` teacher actors
    that every solver actor calls through a least-loaded router — the only option for
    vLLM, whose engine owns GPUs and must not be copied into each solver.
    """

    kind: TeacherKind = "symbolic"
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the teacher's constructor/config")
    placement: Literal["inline", "actors"] = "inline"
    replicas: int = Field(default=1, ge=1)
    num_cpus_per_replica: float = Field(default=1.0, ge=0)
    num_gpus_per_replica: float = Field(default=0.0, ge=0)

    def effective_placement(self) -> str:
        return "actors" if self.kind == "vllm" else self.placement


def build_teacher(kind: str, options: dict[str, Any] | None = None, *, share: int = 1) -> Teacher:
    """A teacher in this process. `share` divides global rate limits among that many copies."""
    options = dict(options or {})
    if kind == "symbolic":
        from pipeline.teachers.symbolic import SymbolicTeacher

        return SymbolicTeacher(**options)
    if kind == "openai":
        from pipeline.teachers.openai import OpenAITeacher, OpenAITeacherConfig

        for limit in ("requests_per_minute", "tokens_per_minute", "max_concurrency"):
            if options.get(limit):
                options[limit] = max(1, int(options[limit]) // share)
        return OpenAITeacher(OpenAITeacherConfig(**options))
    if kind == "hf":
        from pipeline.teachers.hf import HFTeacher

        return HFTeacher(**options)
    if kind == "vllm":
        from pipeline.teachers.vllm import VLLMTeacher

        return VLLMTeacher(**options)
    raise ValueError(f"unknown teacher kind {kind!r}")
