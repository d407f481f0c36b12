"""Batch generation backends for evaluation: one interface, three ways to run a model.

* `hf` — transformers on CPU (or a GPU), batched with left padding, through the HF teacher's
  `chat_batch`; a base model, or base + a PEFT (LoRA) adapter folder (merged into the
  weights once at load time, so generation costs the same as the base model).
* `vllm` — vLLM's offline engine in the calling process (a Ray Data actor placed on a
  GPU), LoRA adapters through `LoRARequest`. `vllm` is imported only when used.
* `openai` — any OpenAI-compatible endpoint through `pipeline.teachers.openai.OpenAITeacher`
  (rate limits, retries, concurrency).

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
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

Messages = list[dict[str, Any]]


class SamplingConfig(BaseModel):
    """How each answer is sampled."""

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
        adapter: a PEFT adapter folder (e.g. `train`'s `adapter/`), or None for the base model.
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

    peft_model = PeftModel.from_pretrained(model, adapter)
    peft_model.eval()
    return peft_model.merge_and_unload() if merge else peft_model


# ---------------------------------------------------------------------------- vllm


class VLLMGenerator:
    """vLLM's offline engine (`vllm.LLM`) in this process, with an optional LoRA adapter.

    Run it inside a Ray actor that owns the GPUs (`num_gpus` in the model's options). The
    engine batches internally, so a whole Ray Data batch goes in one call.
    """

    def __init__(self, model: str, adapter: str | None = None, *, max_lora_rank: int = 64, **engine_kwargs: Any) -> None:
        from vllm import LLM

        from pipeline.runtime.models import resolve_model

        self.name = f"vllm:{model}" + (f"+{adapter}" if adapter else "")
        if adapter:
            engine_kwargs.setdefault("enable_lora", True)
            engine_kwargs.setdefault("max_lora_rank", max_lora_rank)
        self.llm = LLM(model=resolve_model(model), **engine_kwargs)
        self.lora = None
        if adapter:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("adapter", 1, adapter)

    async def generate(self, conversations: list[Messages], sampling: SamplingConfig, seed: int | None = None) -> list[Generation]:
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                                top_p=sampling.top_p, seed=sampling.seed if seed is None else seed)
        outputs = await asyncio.to_thread(self.llm.chat, conversations, params, use_tqdm=False, lora_request=self.lora)
        results = []
        for output in outputs:
            completion = output.outputs[0]
            results.append(Generation(completion.text.strip(), len(completion.token_ids), completion.finish_reason or ""))
        return results

    async def close(self) -> None:
        self.llm = None


# ---------------------------------------------------------------------------- openai


class OpenAIGenerator:
    """An OpenAI-compatible endpoint; `options` are `OpenAITeacherConfig` fields."""

    def __init__(self, model: str, **options: Any) -> None:
        from pipeline.teachers.openai import OpenAITeacher

        options.setdefault("model", model)
        self.teacher = OpenAITeacher(**options)
        self.name = self.teacher.name

    async def _one(self, messages: Messages, sampling: SamplingConfig, seed: int) -> Generation:
        from pipeline.teachers.base import TeacherError

        try:
            reply = await self.teacher.chat(messages, max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                                            top_p=sampling.top_p, seed=seed)
        except TeacherError as exc:
            return Generation("", 0, "error", str(exc)[:500])
        return Generation(reply.text or "", reply.usage.completion_tokens, reply.finish_reason or "")

    async def generate(self, conversations: list[Messages], sampling: SamplingConfig, seed: int | None = None) -> list[Generation]:
        seed = sampling.seed if seed is None else seed
        return list(await asyncio.gather(*(self._one(m, sampling, seed) for m in conversations)))

    async def close(self) -> None:
        await self.teacher.close()


# ---------------------------------------------------------------------------- registry

Backend = Literal["hf", "vllm", "openai"]


def build_generator(backend: Backend, model: str, adapter: str | None = None, **options: Any) -> Generator:
    """The generator for a backend name (`options` go to its constructor)."""
    if backend == "hf":
        return HFGenerator(model, adapter, **options)
    if backend == "vllm":
        return VLLMGenerator(model, adapter, **options)
    if backend == "openai":
        if adapter:
            raise ValueError("the openai backend cannot load adapters: serve the adapter and name it as the model")
        return OpenAIGenerator(model, **options)
    raise ValueError(f"unknown backend {backend!r}; choose hf, vllm or openai")
