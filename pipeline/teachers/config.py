"""Teacher configs: one model per backend, told apart by `kind`, every option typed.

    teacher: {kind: openai, options: {model: gpt-4.1-mini, max_concurrency: 64}, placement: inline}
    teacher: {kind: vllm, replicas: 2, num_gpus_per_replica: 4,
              options: {model: Qwen/Qwen2.5-72B-Instruct, tensor_parallel_size: 4}}
    teacher: {}                                   # the symbolic teacher (kind defaults to symbolic)

`TeacherConfig` is the discriminated union of the four specs. Every options model forbids
unknown keys, so a typo in `teacher.options` fails when the config is loaded, not inside an
actor. `pipeline.teachers.registry.build_teacher` builds a teacher from any of them; the
vLLM options are also the eval's vllm backend (`eval.run.config`), one engine code path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from pipeline.config_rules import StrictModel
from pipeline.teachers.openai import OpenAITeacherConfig

TeacherKind = Literal["symbolic", "openai", "hf", "vllm"]
TEACHER_KINDS: tuple[str, ...] = ("symbolic", "openai", "hf", "vllm")


# ---------------------------------------------------------------------------- options per backend


class SymbolicOptions(StrictModel):
    """The symbolic teacher has no options: it is deterministic, offline and needs no model."""


class HFRuntime(StrictModel):
    """Where and how a transformers model runs (shared by the hf teacher and the eval's hf backend)."""

    device: str = Field(default="cpu", description="torch device of the model ('cpu', 'cuda', 'cuda:1'); a GPU also needs GPUs reserved for its actor")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="weights' dtype: float32 is exact and the only fast one on most CPUs; bfloat16 halves memory on GPUs"
    )
    num_threads: int | None = Field(
        default=None, ge=1,
        description="torch threads for generation; more threads are faster until they exceed the actor's CPUs and "
        "fight other actors for cores. None leaves torch's default (the eval's hf backend uses its actor's CPUs)",
    )

    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype)


class HFOptions(HFRuntime):
    """A local transformers chat model as a teacher (tools offered Hermes-style in the system prompt)."""

    model: str = Field(default="smollm2", description='hub id or local path; "smollm2" is the offline SmolLM2-135M-Instruct')
    name: str | None = Field(default=None, description="the teacher's name in traces; default hf:<model>")
    max_tokens: int = Field(default=512, ge=1, description="default reply budget; a request's own max_tokens overrides it")
    temperature: float = Field(default=0.0, ge=0, description="default sampling temperature; 0 is greedy (reproducible)")
    top_p: float = Field(default=1.0, ge=0, le=1, description="default nucleus mass (ignored when greedy)")
    seed: int | None = Field(default=None, description="default seed of each generate call (None: torch's global state)")


class VLLMOptions(StrictModel):
    """One vLLM engine (`AsyncLLMEngine`): the vllm teacher's options, and the eval's vllm backend's."""

    model: str = Field(description='hub id or local path of the served model ("smollm2" resolves to the offline copy)')
    tensor_parallel_size: int = Field(
        default=1, ge=1, description="GPUs one engine shards the model over; the actor must reserve at least as many GPUs"
    )
    max_model_len: int | None = Field(
        default=16384, ge=16,
        description="context length (prompt + reply) the engine reserves KV cache for. Longer contexts fit longer "
        "traces but need more GPU memory (an engine out of memory hangs); a longer prompt is refused as a row error. "
        "None: the model's own maximum",
    )
    gpu_memory_utilization: float = Field(
        default=0.9, gt=0, le=1, description="share of each GPU's memory vLLM may take (weights + KV cache); lower it when the GPU is shared"
    )
    dtype: str = Field(default="auto", description="weights' dtype (auto: the checkpoint's; float32 for CPU builds of vLLM)")
    enforce_eager: bool = Field(
        default=False, description="skip CUDA graph capture: faster start-up and less memory, slower decoding"
    )
    request_timeout_s: float | None = Field(
        default=600.0, gt=0,
        description="deadline of one request (queueing included), so an engine that hangs (out of memory) fails the row "
        "instead of the job; None waits for ever",
    )
    default_max_tokens: int = Field(default=2048, ge=1, description="reply budget of a request that sets no max_tokens")
    max_lora_rank: int = Field(
        default=64, ge=1, description="largest LoRA rank the engine accepts when an adapter is served (the eval's `adapter`); larger costs memory"
    )
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="further vLLM engine arguments (e.g. {max_num_seqs: 128, enable_prefix_caching: true}); the options "
        "above cannot be repeated here. Their names are checked at load when vLLM is installed, else when the engine starts",
    )

    @model_validator(mode="after")
    def _engine_kwargs_are_new_knobs(self) -> VLLMOptions:
        typed = set(type(self).model_fields) | {"enable_lora"}
        repeated = sorted(typed & set(self.engine_kwargs))
        if repeated:
            raise ValueError(f"engine_kwargs repeats {repeated}: set them as options of their own (or, for enable_lora, give an adapter)")
        unknown = _unknown_engine_args(self.engine_kwargs)
        if unknown:
            raise ValueError(f"engine_kwargs has keys vLLM's engine does not take: {unknown}")
        return self


def _unknown_engine_args(kwargs: dict[str, Any]) -> list[str]:
    """Keys that vLLM's AsyncEngineArgs does not have (none reported when vLLM is not installed here)."""
    if not kwargs:
        return []
    import dataclasses
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return []
    try:
        from vllm import AsyncEngineArgs
    except Exception:  # a broken vLLM install: the engine will say what is wrong when it starts
        return []
    known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
    return sorted(set(kwargs) - known)


# ---------------------------------------------------------------------------- where a teacher runs


class TeacherPlacement(StrictModel):
    """Where a teacher runs: inside each solver actor, or as shared Ray actors.

    `placement="inline"` builds the teacher inside each solver actor (right for the symbolic
    teacher and for HTTP endpoints: each actor has its own connection pool and a share of
    the rate limits). `placement="actors"` starts `replicas` teacher actors that every solver
    actor calls through a least-loaded router: the only option for vLLM, whose engine owns
    GPUs and must not be copied into each solver.
    """

    placement: Literal["inline", "actors"] = Field(
        default="inline",
        description="inline: a teacher in every solver actor (no extra actors; an openai teacher's rate limits are split "
        "among them); actors: `replicas` shared teacher actors behind a least-loaded router (one model copy serves "
        "many solvers; vllm always runs so)",
    )
    replicas: int = Field(default=1, ge=1, json_schema_extra={"fingerprint": False}, description="teacher actors when placement is actors: more replicas serve more solvers, each holds a model copy; "
                          "the requests of a replica that dies are sent again to the others")
    num_cpus_per_replica: float = Field(default=1.0, ge=0, json_schema_extra={"fingerprint": False}, description="CPUs each teacher actor reserves")
    num_gpus_per_replica: float = Field(
        json_schema_extra={"fingerprint": False},
        default=0.0, ge=0, description="GPUs each teacher actor reserves (a vllm teacher needs at least its tensor_parallel_size)"
    )

    def effective_placement(self) -> Literal["inline", "actors"]:
        return self.placement


class SymbolicTeacherConfig(TeacherPlacement):
    """The offline rule-based teacher of the synthetic families (the embedded default)."""

    kind: Literal["symbolic"] = Field(default="symbolic", description="symbolic: offline, rule-based, calls the real tools")
    options: SymbolicOptions = Field(default_factory=SymbolicOptions, description="none: the symbolic teacher takes no options")


class OpenAITeacherSpec(TeacherPlacement):
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, a vLLM or SGLang server, ...)."""

    kind: Literal["openai"] = Field(default="openai", description="openai: an OpenAI-compatible endpoint over HTTP")
    options: OpenAITeacherConfig = Field(description="the endpoint, its rate limits, retries and default sampling")


class HFTeacherSpec(TeacherPlacement):
    """A local transformers chat model."""

    kind: Literal["hf"] = Field(default="hf", description="hf: a transformers model in the actor (CPU or one GPU)")
    options: HFOptions = Field(default_factory=HFOptions, description="the model and its default sampling")


class VLLMTeacherSpec(TeacherPlacement):
    """vLLM's async engine in teacher actors on GPUs (always placed as actors)."""

    kind: Literal["vllm"] = Field(default="vllm", description="vllm: vLLM engines in `replicas` GPU actors")
    options: VLLMOptions = Field(description="the engine: model, parallelism, context length, memory")

    def effective_placement(self) -> Literal["inline", "actors"]:
        return "actors"


def _teacher_kind(value: Any) -> str | None:
    """The union's tag: `kind`, and "symbolic" where a mapping leaves it out."""
    if isinstance(value, dict):
        return value.get("kind", "symbolic")
    return getattr(value, "kind", None)


TeacherConfig = Annotated[
    Annotated[SymbolicTeacherConfig, Tag("symbolic")]
    | Annotated[OpenAITeacherSpec, Tag("openai")]
    | Annotated[HFTeacherSpec, Tag("hf")]
    | Annotated[VLLMTeacherSpec, Tag("vllm")],
    Discriminator(
        _teacher_kind,
        custom_error_type="teacher_kind",
        custom_error_message=f"teacher kind must be one of {', '.join(TEACHER_KINDS)}",
    ),
]
"""Which teacher, its options, and where it runs: one of the four specs, chosen by `kind`."""
