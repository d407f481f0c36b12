"""The evaluation job's config: models x benchmarks, sampling, prompts, resources."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from eval.generate import SamplingConfig
from eval.prompts import PromptConfig

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe(value: str, what: str) -> str:
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{what} {value!r} is used as a folder name: letters, digits, '.', '_' and '-' only")
    return value


class ModelSpec(BaseModel):
    """One model to evaluate."""

    name: str = Field(description="short name used in folders and the report (letters, digits, . _ -)")
    model: str = Field(default="smollm2", description="HF id or local path (\"smollm2\" is the offline SmolLM2-135M-Instruct)")
    adapter: str | None = Field(default=None, description="PEFT adapter folder applied on top of `model` (hf and vllm backends)")
    backend: Literal["hf", "vllm", "openai"] = Field(default="hf", description="hf: transformers on CPU; vllm: GPU actors; openai: an endpoint")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="backend constructor options (hf: batch_size, num_threads, merge_adapter; vllm: engine "
        "kwargs and num_gpus for the actor; openai: base_url, max_concurrency, ...)",
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _safe(value, "model name")


class SyntheticSlice(BaseModel):
    """Held-out synthetic problems (pipeline.synthetic) as a benchmark."""

    count: int = Field(default=30, ge=1, description="problems to draw")
    seed: int = Field(default=10_000, description="a seed the training set did not use, so the problems are held out")
    families: list[str] | None = Field(default=None, description="problem families (all by default)")


class BenchmarkRef(BaseModel):
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


class EvalResources(BaseModel):
    """How the generation job is spread over the cluster."""

    batch_size: int = Field(default=16, ge=1, description="rows per UDF call (and per HF generate); larger is faster per token, coarser to resume")
    num_actors: int = Field(default=1, ge=1, description="model replicas per model (each loads the model once)")
    num_cpus_per_actor: float = Field(default=1.0, gt=0, description="CPUs each actor reserves; fractional values let small nodes overlap stages")
    torch_threads: int | None = Field(default=None, ge=1, description="torch threads per hf actor (default: the CPUs it reserves, at least 1)")
    grader_timeout_s: float = Field(default=10.0, gt=0, description="deadline of each answer comparison (a comparison past it is graded wrong)")


class EvalConfig(BaseModel):
    """An evaluation: models x benchmarks, one output folder."""

    name: str = Field(default="eval", description="title of the report")
    output_dir: str = Field(description="folder or URI: generations/, rejects/, report.md, report.json, plot.png")
    models: list[ModelSpec] = Field(min_length=1, description="models to evaluate")
    benchmarks: list[BenchmarkRef] = Field(min_length=1, description="benchmarks to evaluate on")
    baseline: str | None = Field(default=None, description="model name the others are compared with (paired test, flips)")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="sampling for every model")
    prompt: PromptConfig = Field(default_factory=PromptConfig, description="system message and templates")
    resources: EvalResources = Field(default_factory=EvalResources, description="actors and batching")
    allow_hub: bool = Field(default=False, description="let benchmarks without an offline copy load from the Hugging Face hub")
    bootstrap_resamples: int = Field(default=2000, ge=100, description="resamples of the paired bootstrap test")

    @model_validator(mode="after")
    def _names(self) -> EvalConfig:
        for what, names in (("model", [m.name for m in self.models]), ("benchmark", [b.name for b in self.benchmarks])):
            if len(set(names)) != len(names):
                raise ValueError(f"{what} names must be unique, got {names}")
        if self.baseline is not None and self.baseline not in {m.name for m in self.models}:
            raise ValueError(f"baseline {self.baseline!r} is not one of the models {[m.name for m in self.models]}")
        return self
