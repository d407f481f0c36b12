"""Batch generation backends for evaluation: one interface, three ways to run a model.

* `hf` — transformers on CPU (or a GPU), batched with left padding, through the HF teacher's
  `chat_batch`; a base model, or base + a PEFT (LoRA) adapter folder (merged into the
  weights once at load time, so generation costs the same as the base model).
* `vllm` — the vllm teacher's engine (`pipeline.teachers.vllm.VLLMTeacher`, one code path
  for teacher and evaluator) in the calling process (a Ray Data actor placed on a GPU); a
  LoRA adapter through `LoRARequest`. `vllm` is imported only when used.
* `openai` — any OpenAI-compatible endpoint through `pipeline.teachers.openai.OpenAITeacher`
  (rate limits, retries, concurrency).

`build_generator(spec)` builds one from a `ModelSpec` (`eval.run.config`): its `backend` is a
union on `kind` with typed options, and `GENERATORS` maps each kind to its builder.

Seeds: sample i of every problem is drawn with seed + i. vLLM and OpenAI-compatible
servers seed each request; transformers seeds each `generate` call, so a sampled HF
answer is reproducible given the same batch (greedy answers do not depend on it).

Every backend answers `await generate(conversations, sampling)` with one `Generation` per
conversation, in order. A failure for one conversation becomes a `Generation` with its
`error` set (the row is graded wrong and kept), never an exception that loses a batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from eval.run.config import ModelSpec

log = logging.getLogger(__name__)

Messages = list[dict[str, Any]]


class SamplingConfig(BaseModel):
    """How each answer is sampled."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.0, ge=0, description="0 is greedy decoding (n>1 then repeats one answer)")
    top_p: float = Field(default=1.0, gt=0, le=1, description="nucleus sampling mass (ignored when greedy)")
    max_new_tokens: int = Field(
        default=512, ge=1, description="answer budget; too small truncates reasoning before the \\boxed{} answer"
    )
    n: int = Field(default=1, ge=1, description="samples per problem: pass@1 averages over them, maj@n votes")
    seed: int = Field(default=0, description="sample i of every problem is drawn with seed + i")


@dataclass
class Generation:
    text: str
    completion_tokens: int = 0
    finish_reason: str = ""
    error: str | None = None


class Generator(Protocol):
    name: str

    async def generate(self, conversations: list[Messages], sampling: SamplingConfig, seed: int | None = None) -> list[Generation]: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- hf


class HFGenerator:
    """transformers `generate` on left-padded batches; optional PEFT adapter.

    Args:
        model: hub id, local path or "smollm2" (see `pipeline.runtime.models.resolve_model`).
        adapter: a PEFT adapter folder or URI (e.g. `train`'s `adapter/`), or None for the base model.
        merge_adapter: merge the adapter into the weights at load (faster generation).
        batch_size: conversations per `generate` call; larger is faster per token on CPU
            until the longest answer in the batch dominates.
        num_threads: torch threads for generation (None leaves torch's default).
    """

    def __init__(
        self,
        model: str = "smollm2",
        adapter: str | None = None,
        *,
        merge_adapter: bool = True,
        batch_size: int = 16,
        num_threads: int | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        import torch

        from pipeline.teachers.hf import HFTeacher

        adapter_path, merge = adapter, merge_adapter

        class _Teacher(HFTeacher):
            def load(self) -> None:  # the base load, then the adapter on top (once)
                with self._lock:
                    if self._model is not None:
                        return
                    super().load()
                    if adapter_path:
                        self._model = _with_adapter(self._model, adapter_path, merge)

        self.name = f"hf:{model}" + (f"+{adapter}" if adapter else "")
        self.batch_size = batch_size
        self.teacher = _Teacher(model, name=self.name, num_threads=num_threads, device=device, dtype=getattr(torch, dtype))

    def load(self) -> None:
        self.teacher.load()

    async def generate(self, conversations: list[Messages], sampling: SamplingConfig, seed: int | None = None) -> list[Generation]:
        from pipeline.teachers.base import TeacherError

        options = {"max_tokens": sampling.max_new_tokens, "temperature": sampling.temperature,
                   "top_p": sampling.top_p, "seed": sampling.seed if seed is None else seed}
        out: list[Generation] = []
        for start in range(0, len(conversations), self.batch_size):
            chunk = conversations[start : start + self.batch_size]
            try:
                replies = await self.teacher.chat_batch(chunk, **options)
            except TeacherError as exc:
                if len(chunk) == 1:
                    out.append(Generation("", 0, "error", str(exc)[:500]))
                    continue
                # One bad conversation (say, too long) must not cost the others: go one by one.
                log.warning("%s: batch failed (%s); retrying its %d conversations singly", self.name, exc, len(chunk))
                for one in chunk:
                    out.extend(await self.generate([one], sampling, seed))
                continue
            out.extend(Generation(r.text or "", r.usage.completion_tokens, r.finish_reason or "") for r in replies)
        return out

    async def close(self) -> None:
        await self.teacher.close()


def _with_adapter(model: Any, adapter: str, merge: bool) -> Any:
    from peft import PeftModel

    from pipeline.runtime.models import resolve_model

    # PEFT reads a local folder: an adapter in a bucket is fetched into this node's cache first.
    peft_model = PeftModel.from_pretrained(model, resolve_model(adapter))
    peft_model.eval()
    return peft_model.merge_and_unload() if merge else peft_model


# ---------------------------------------------------------------------------- teacher-backed


class _PerConversation:
    """A generator over a `Teacher` that batches by itself (an engine, an endpoint): every
    conversation of a batch is one concurrent `chat`; a failed one becomes an error row."""

    teacher: Any
    name: str
    strip = False

    async def _one(self, messages: Messages, sampling: SamplingConfig, seed: int) -> Generation:
        from pipeline.teachers.base import TeacherError

        try:
            reply = await self.teacher.chat(messages, max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                                            top_p=sampling.top_p, seed=seed)
        except TeacherError as exc:
            return Generation("", 0, "error", str(exc)[:500])
        text = reply.text or ""
        return Generation(text.strip() if self.strip else text, reply.usage.completion_tokens, reply.finish_reason or "")

    async def generate(self, conversations: list[Messages], sampling: SamplingConfig, seed: int | None = None) -> list[Generation]:
        seed = sampling.seed if seed is None else seed
        return list(await asyncio.gather(*(self._one(m, sampling, seed) for m in conversations)))

    async def close(self) -> None:
        await self.teacher.close()


class VLLMGenerator(_PerConversation):
    """The vllm teacher's engine (`VLLMTeacher`: one vLLM code path) with an optional LoRA adapter.

    Run it inside a Ray actor that owns the GPUs (the backend's `num_gpus`). A batch's
    conversations go to the engine at once, which batches them itself.

    Args:
        model: hub id or local path; the other `VLLMOptions` fields as keywords, or
            `options` (a validated `VLLMOptions`, e.g. the eval's vllm backend) instead.
        adapter: a PEFT LoRA adapter folder served on every request.
    """

    strip = True

    def __init__(self, model: str, adapter: str | None = None, *, options: Any = None, **fields: Any) -> None:
        from pipeline.teachers.config import VLLMOptions
        from pipeline.teachers.vllm import VLLMTeacher

        self.teacher = VLLMTeacher(options if options is not None else VLLMOptions(model=model, **fields), adapter=adapter)
        self.name = self.teacher.name


class OpenAIGenerator(_PerConversation):
    """An OpenAI-compatible endpoint; `options` are `OpenAITeacherConfig` fields."""

    def __init__(self, model: str, **options: Any) -> None:
        from pipeline.teachers.openai import OpenAITeacher, OpenAITeacherConfig

        self.teacher = OpenAITeacher(OpenAITeacherConfig(**{"model": model, **options}))
        self.name = self.teacher.name


# ---------------------------------------------------------------------------- registry


def _hf(spec: ModelSpec, default_threads: int | None) -> Generator:
    b = spec.backend
    return HFGenerator(spec.model, spec.adapter, merge_adapter=b.merge_adapter, batch_size=b.batch_size,
                       num_threads=b.num_threads or default_threads, device=b.device, dtype=b.dtype)


def _vllm(spec: ModelSpec, default_threads: int | None) -> Generator:
    return VLLMGenerator(spec.model, spec.adapter, options=spec.backend)


def _openai(spec: ModelSpec, default_threads: int | None) -> Generator:
    options = spec.backend.model_dump(exclude={"kind", "model"})
    return OpenAIGenerator(spec.model, **options)


GENERATORS: dict[str, Callable[[ModelSpec, int | None], Generator]] = {"hf": _hf, "vllm": _vllm, "openai": _openai}


def build_generator(spec: ModelSpec, *, default_threads: int | None = None) -> Generator:
    """The generator of one model, by its backend's kind (`default_threads`: an hf backend's torch
    threads when its `num_threads` is unset, e.g. the CPUs its actor reserves)."""
    return GENERATORS[spec.backend.kind](spec, default_threads)
