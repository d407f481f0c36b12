"""A vLLM teacher: the async engine in this process (placed on GPUs by its Ray actor).

It renders the conversation with the model's own chat template (tools in the Hermes
format that Qwen2.5 and most instruct models are trained on), generates with vLLM's
`AsyncLLMEngine`, and parses `<tool_call>` blocks with the same code as the HF teacher.
Two failure modes of vLLM batch jobs are closed here: a prompt longer than the context
is refused up front (a `TeacherError`, so the row is rejected, not the job), and every
engine call has a timeout (an engine out of memory hangs rather than fails).

Use it through `VLLMTeacherSpec(replicas=N, num_gpus_per_replica=TP,
options=VLLMOptions(model="Qwen/Qwen2.5-72B-Instruct", tensor_parallel_size=TP))`. The
evaluation's vllm backend (`eval.generate.VLLMGenerator`) runs on this same class, with a
LoRA adapter served through `LoRARequest` on every request.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from typing import Any

from pipeline.teachers.base import Reply, TeacherError, Usage
from pipeline.teachers.chat_format import (
    add_tools_to_system,
    parse_tool_calls,
    to_template_messages,
    tool_name,
)
from pipeline.teachers.config import VLLMOptions


class VLLMTeacher:
    """`Teacher` over one vLLM engine in this process.

    Args:
        options: the engine (`VLLMOptions`); or give its fields as keywords instead.
        adapter: a PEFT LoRA adapter folder (or URI) served on top of the model for every request
            (the engine is then started with LoRA enabled, up to `options.max_lora_rank`).
    """

    def __init__(self, options: VLLMOptions | None = None, *, adapter: str | None = None, **fields: Any) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        from pipeline.runtime.models import resolve_model

        if options is None:
            options = VLLMOptions(**fields)
        elif fields:
            options = VLLMOptions(**{**options.model_dump(include=set(VLLMOptions.model_fields)), **fields})
        engine_args: dict[str, Any] = dict(options.engine_kwargs)
        if options.max_model_len is not None:
            engine_args["max_model_len"] = options.max_model_len
        if adapter:
            engine_args.update(enable_lora=True, max_lora_rank=options.max_lora_rank)
        args = AsyncEngineArgs(
            model=resolve_model(options.model),
            tensor_parallel_size=options.tensor_parallel_size,
            gpu_memory_utilization=options.gpu_memory_utilization,
            dtype=options.dtype,
            enforce_eager=options.enforce_eager,
            **engine_args,
        )
        self.engine = AsyncLLMEngine.from_engine_args(args)
        self.tokenizer = None
        self.name = f"vllm:{options.model}" + (f"+{adapter}" if adapter else "")
        self.max_model_len = options.max_model_len or _engine_max_model_len(self.engine)
        self.request_timeout_s = options.request_timeout_s
        self.default_max_tokens = options.default_max_tokens
        self.lora = None
        if adapter:
            from vllm.lora.request import LoRARequest

            # vLLM's LoRA loader reads a local folder: an adapter in a bucket is fetched first.
            self.lora = LoRARequest("adapter", 1, resolve_model(adapter))

    async def _tokenizer(self):
        if self.tokenizer is None:
            tokenizer = self.engine.get_tokenizer()  # a coroutine in some vLLM versions
            self.tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
        return self.tokenizer

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        from vllm import SamplingParams

        tokenizer = await self._tokenizer()
        template_messages = to_template_messages(add_tools_to_system(messages, tools), tokenizer.chat_template)
        # Render as text, then tokenise: recent transformers return a BatchEncoding for tokenize=True.
        prompt_text = tokenizer.apply_chat_template(template_messages, add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer.encode(prompt_text, add_special_tokens=False)
        max_tokens = int(sampling.pop("max_tokens", self.default_max_tokens))
        if len(prompt_ids) + 1 > self.max_model_len:
            raise TeacherError(f"prompt of {len(prompt_ids)} tokens exceeds max_model_len {self.max_model_len}")
        max_tokens = min(max_tokens, self.max_model_len - len(prompt_ids))
        params = SamplingParams(
            max_tokens=max_tokens,
            temperature=float(sampling.pop("temperature", 0.0)),
            top_p=float(sampling.pop("top_p", 1.0)),
            seed=sampling.pop("seed", None),
        )
        final = None

        async def run() -> None:
            nonlocal final
            request = {"prompt_token_ids": prompt_ids}
            async for output in self.engine.generate(request, params, request_id=uuid.uuid4().hex, lora_request=self.lora):
                final = output

        try:
            await asyncio.wait_for(run(), timeout=self.request_timeout_s)
        except TimeoutError:
            raise TeacherError(f"vLLM did not answer within {self.request_timeout_s:g} s") from None
        if final is None or not final.outputs:
            raise TeacherError("vLLM returned no output")
        completion = final.outputs[0]
        names = [tool_name(t) for t in tools or []]
        text, calls = parse_tool_calls(completion.text, names) if tools else (completion.text, [])
        return Reply(
            text=text or None,
            tool_calls=calls,
            usage=Usage(len(prompt_ids), len(completion.token_ids)),
            finish_reason="tool_calls" if calls else completion.finish_reason,
        )

    async def close(self) -> None:
        shutdown = getattr(self.engine, "shutdown", None)
        if callable(shutdown):
            shutdown()


def _engine_max_model_len(engine: Any) -> int:
    """The context length the engine settled on (the model's own, when none was asked for)."""
    config = getattr(engine, "model_config", None) or getattr(getattr(engine, "engine", None), "model_config", None)
    if config is None:
        raise RuntimeError("cannot read max_model_len from this vLLM engine: set options.max_model_len")
    return int(config.max_model_len)
