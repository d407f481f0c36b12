"""The generation job's config."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pipeline.agents.solver import SolverConfig
from pipeline.filtering import FilterConfig
from pipeline.jobs.config import JobConfig, grader_timeout, pool
from pipeline.jobs.resources import ActorPoolResources
from pipeline.problems.clean import CleanConfig
from pipeline.problems.sources import ProblemSource
from pipeline.teachers.config import SymbolicTeacherConfig, TeacherConfig
from toolkit.sandbox import SandboxConfig

# Generation's own pool defaults where they differ from ActorPoolResources': solver actors
# spend most of their time waiting on the teacher, so two actors with many problems each.
RESOURCES: dict[str, Any] = {"num_actors": 2, "concurrency_per_actor": 32}


class GenerateConfig(JobConfig):
    """Problems → clean → Solver Agent → correctness filter → traces/ and rejects/."""

    job = "generate"
    pool_defaults = RESOURCES

    name: str = Field(default="generate", description="run name, shown in the CLI and the stats")
    output_dir: str = Field(default="runs/generate", description="writes traces/, rejects/ and stats.json; local or a URI")
    problems: ProblemSource = Field(default_factory=ProblemSource, description="where the problems come from")
    clean: CleanConfig = Field(default_factory=CleanConfig, description="validation, decontamination and deduplication")
    teacher: TeacherConfig = Field(
        default_factory=SymbolicTeacherConfig, description="the model that solves: kind (symbolic, openai, hf, vllm), options, placement"
    )
    solver: SolverConfig = Field(default_factory=SolverConfig, description="the Solver Agent's turns, tools and sampling")
    filter: FilterConfig = Field(default_factory=FilterConfig, description="which traces are kept")
    sandbox: SandboxConfig = Field(
        default_factory=lambda: SandboxConfig(workers=1),
        description="the tool sandbox of each solver actor; without this section one worker per actor (a section that "
        "leaves out `workers` gets SandboxConfig's default, one per CPU)",
    )
    resources: ActorPoolResources = pool(
        RESOURCES, "the solver actor pool; ActorPoolResources' defaults except num_actors 2 and concurrency_per_actor 32"
    )
    grader_timeout_s: float = grader_timeout(
        "deadline of each answer comparison in the sandboxed grader; a comparison past it counts as wrong "
        "(longer deadlines grade hard expressions, but a pathological answer holds the grader longer)"
    )
    allow_hub: bool = Field(
        default=False,
        description="let problem sets and decontamination benchmarks without an offline copy load from the Hugging Face "
        "hub (needs a network; off, a missing set is an error)",
    )
