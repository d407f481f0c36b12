"""The evaluation job's config: models x benchmarks, sampling, prompts, resources."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from eval.generate import SamplingConfig
from pipeline.config_rules import StrictModel
from pipeline.jobs.config import JobConfig, grader_timeout, pool
from pipeline.jobs.resources import ActorPoolResources
from pipeline.student_prompt import PromptConfig
from pipeline.teachers.config import HFRuntime, VLLMOptions
from pipeline.teachers.openai import OpenAITeacherConfig

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe(value: str, what: str) -> str:
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{what} {value!r} is used as a folder name: letters, digits, '.', '_' and '-' only")
    return value


class HFBackend(HFRuntime):
    """transformers on CPU (or one GPU), batched with left padding; an adapter is merged at load."""

    kind: Literal["hf"] = Field(default="hf", description="hf: transformers in the actor")
    batch_size: int = Field(
        default=16, ge=1,
        description="conversations per generate call: larger is faster per token on CPU until the longest answer in "
        "the batch dominates (the others wait for it, padded)",
    )
    merge_adapter: bool = Field(
        default=True, description="merge the adapter into the weights at load: generation then costs what the base model's does"
    )
    num_threads: int | None = Field(
        default=None, ge=1,
        description="torch threads of each actor: more than the actor's CPUs fight other actors for cores. None: the "
        "CPUs its actor reserves (resources.num_cpus_per_actor, at least 1)",
    )


class VLLMBackend(VLLMOptions):
    """vLLM's engine in GPU actors, the vllm teacher's code path; an adapter is served as a LoRA."""

    kind: Literal["vllm"] = Field(default="vllm", description="vllm: a vLLM engine in each actor")
    model: str | None = Field(default=None, description="leave unset: the model is named once, by the entry's `model`")
    max_model_len: int | None = Field(
        default=None, ge=16,
        description="context length (prompt + answer) the engine reserves KV cache for; None: the model's own maximum. "
        "Lower it when the KV cache for the full context does not fit the GPU",
    )
    request_timeout_s: float | None = Field(
        default=None, gt=0,
        description="deadline of one answer, queueing included (a whole batch is queued at once); None waits for ever",
    )
    num_gpus: float = Field(
        default=1.0, ge=0,
        description="GPUs each actor of this model reserves (instead of resources.num_gpus_per_actor); at least "
        "tensor_parallel_size on GPUs, 0 for the CPU build of vLLM (its engine then runs on the actor's node's cores)",
    )


class OpenAIBackend(OpenAITeacherConfig):
    """Any OpenAI-compatible endpoint (an adapter must be served by it and named as the model)."""

    kind: Literal["openai"] = Field(default="openai", description="openai: requests to an endpoint")
    model: str | None = Field(default=None, description="leave unset: the model is named once, by the entry's `model`")


BACKEND_KINDS: tuple[str, ...] = ("hf", "vllm", "openai")


def _backend_kind(value: Any) -> str | None:
    """The union's tag: `kind`, and "hf" where a mapping leaves it out."""
    if isinstance(value, dict):
        return value.get("kind", "hf")
    return getattr(value, "kind", None)


Backend = Annotated[
    Annotated[HFBackend, Tag("hf")] | Annotated[VLLMBackend, Tag("vllm")] | Annotated[OpenAIBackend, Tag("openai")],
    Discriminator(
        _backend_kind,
        custom_error_type="backend_kind",
        custom_error_message=f"backend kind must be one of {', '.join(BACKEND_KINDS)}",
    ),
]
"""How a model is run: one of three backends, chosen by `kind`, each with its typed options."""


class ModelSpec(StrictModel):
    """One model to evaluate.

        models:
          - {name: base, model: smollm2, backend: {kind: hf, batch_size: 20}}
          - {name: student, model: smollm2, adapter: runs/demo/train/adapter, backend: hf}
          - {name: big, model: Qwen/Qwen2.5-Math-7B-Instruct, backend: {kind: vllm, max_model_len: 8192}}
    """

    name: str = Field(description="short name used in folders and the report (letters, digits, . _ -)")
    model: str = Field(default="smollm2", description="HF id or local path (\"smollm2\" is the offline SmolLM2-135M-Instruct)")
    adapter: str | None = Field(default=None, description="PEFT adapter folder applied on top of `model` (hf and vllm backends)")
    backend: Backend = Field(
        default_factory=HFBackend,
        description="how the model runs: hf (transformers, CPU), vllm (GPU actors) or openai (an endpoint), with that "
        "backend's options beside its kind; a bare name (backend: vllm) takes the defaults",
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _safe(value, "model name")

    @field_validator("backend", mode="before")
    @classmethod
    def _bare_kind(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_model_name(self) -> ModelSpec:
        backend = self.backend
        if isinstance(backend, OpenAIBackend) and self.adapter:
            raise ValueError("the openai backend cannot load adapters: serve the adapter and name it as the model")
        if isinstance(backend, VLLMBackend | OpenAIBackend):
            if backend.model is not None and backend.model != self.model:
                raise ValueError(f"backend.model {backend.model!r} differs from model {self.model!r}: name the model once, as `model`")
            self.backend = backend.model_copy(update={"model": self.model})
        return self


class SyntheticSlice(StrictModel):
    """Held-out synthetic problems (pipeline.synthetic) as a benchmark."""

    count: int = Field(default=30, ge=1, description="problems to draw")
    seed: int = Field(default=10_000, description="a seed the training set did not use, so the problems are held out")
    families: list[str] | None = Field(default=None, description="problem families (all by default)")


class BenchmarkRef(StrictModel):
    """One benchmark and which of its problems to use."""

    name: str = Field(description="registry name (gsm8k, math500, aime24, ...) or a label for `path` / `synthetic`")
    path: str | None = Field(default=None, description="local jsonl/parquet file to read instead of the registry")
    limit: int | None = Field(default=None, ge=1, description="evaluate at most this many problems")
    seed: int = Field(default=0, description="seed of the subset drawn when `limit` is below the benchmark's size")
    subset: Literal["sample", "first"] = Field(
        default="sample", description="sample: a seeded random subset (kept in file order); first: the first `limit` problems"
    )
    synthetic: SyntheticSlice | None = Field(default=None, description="evaluate on held-out synthetic problems instead")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _safe(value, "benchmark name")


# Evaluation's own pool default where it differs from ActorPoolResources': one CPU per actor
# (an hf actor's torch threads default to its CPUs).
RESOURCES: dict[str, Any] = {"num_cpus_per_actor": 1.0}


class EvalConfig(JobConfig):
    """An evaluation: models x benchmarks, one output folder."""

    job = "eval"
    pool_defaults = RESOURCES

    name: str = Field(default="eval", description="title of the report")
    output_dir: str = Field(description="folder or URI: generations/, rejects/, report.md, report.json, plot.png")
    models: list[ModelSpec] = Field(min_length=1, description="models to evaluate")
    benchmarks: list[BenchmarkRef] = Field(min_length=1, description="benchmarks to evaluate on")
    baseline: str | None = Field(default=None, description="model name the others are compared with (paired test, flips)")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="sampling for every model")
    prompt: PromptConfig = Field(default_factory=PromptConfig, description="system message and templates")
    resources: ActorPoolResources = pool(
        RESOURCES,
        "each model's actor pool: batch_size rows per generate call (larger is faster per token, coarser to "
        "resume), num_actors model replicas (each loads the model once); ActorPoolResources' defaults except "
        "num_cpus_per_actor 1. A vllm model's actors reserve its backend's num_gpus",
    )
    grader_timeout_s: float = grader_timeout(
        "deadline of each answer comparison in the sandboxed grader (a comparison past it is graded wrong)"
    )
    allow_hub: bool = Field(default=False, description="let benchmarks without an offline copy load from the Hugging Face hub")
    bootstrap_resamples: int = Field(
        default=2000, ge=100, description="resamples of the paired bootstrap test: more give a steadier interval, slower"
    )

    @model_validator(mode="after")
    def _names(self) -> EvalConfig:
        for what, names in (("model", [m.name for m in self.models]), ("benchmark", [b.name for b in self.benchmarks])):
            if len(set(names)) != len(names):
                raise ValueError(f"{what} names must be unique, got {names}")
        if self.baseline is not None and self.baseline not in {m.name for m in self.models}:
            raise ValueError(f"baseline {self.baseline!r} is not one of the models {[m.name for m in self.models]}")
        return self
