"""The generation job's config."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pipeline.agents.solver import SolverConfig
from pipeline.filtering import FilterConfig
from pipeline.problems.clean import CleanConfig
from pipeline.problems.sources import ProblemSource
from pipeline.teachers.factory import TeacherConfig
from toolkit.sandbox import SandboxConfig


class GenerateResources(BaseModel):
    num_actors: int = Field(default=2, ge=1, description="solver actors")
    num_cpus_per_actor: float = Field(default=0.5, gt=0)
    batch_size: int = Field(default=16, ge=1, description="problems per UDF call")
    batches_in_flight_per_actor: int = Field(default=2, ge=1)
    concurrency_per_actor: int = Field(default=32, ge=1, description="problems in flight per actor")
    num_blocks: int | None = Field(default=None, ge=1, description="repartition into this many blocks")
    grader_timeout_s: float = 10.0


class GenerateConfig(BaseModel):
    name: str = "generate"
    output_dir: str = "runs/generate"
    problems: ProblemSource = Field(default_factory=ProblemSource)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    solver: SolverConfig = Field(default_factory=SolverConfig)
    filter: FilterConfig = Field(default_factory=FilterConfig)
    sandbox: SandboxConfig = Field(default_factory=lambda: SandboxConfig(workers=1))
    resources: GenerateResources = Field(default_factory=GenerateResources)
