"""The generation job on real Ray Data: symbolic end to end, clean inputs, crash and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.generate import GenerateConfig, run_generate
from pipeline.problems.benchmarks import load_benchmark
from pipeline.records import trace_from_row
from pipeline.runtime.storage import RunFolder

ROOT = Path(__file__).resolve().parents[2]


def config_for(tmp_path: Path, **overrides) -> GenerateConfig:
    base = {
        "name": "test",
        "output_dir": str(tmp_path / "run"),
        "problems": {"kind": "synthetic", "count": 40, "seed": 3},
        "clean": {"benchmarks": ["math500"]},
        "resources": {"num_actors": 2, "num_cpus_per_actor": 0.5, "batch_size": 8, "concurrency_per_actor": 16},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return GenerateConfig.model_validate(base)


def written(run_dir: Path) -> tuple[list[dict], list[dict]]:
    folder = RunFolder(str(run_dir))
    traces = folder.read("traces")
    rejects = folder.read("rejects")
    return (traces.to_pylist() if traces else []), (rejects.to_pylist() if rejects else [])


@pytest.mark.slow
def test_symbolic_teacher_end_to_end_on_200_problems(ray_local, tmp_path):
    config = config_for(tmp_path, problems={"count": 220})
    summary = run_generate(config, progress=False)
    traces, rejects = written(tmp_path / "run")
    assert summary.input_rows == 220
    assert len(traces) + len(rejects) == 220  # every row accounted for
    assert len({r["id"] for r in traces + rejects}) == 220
    assert len(traces) >= 0.99 * 220, [(r["reason"], r["detail"]) for r in rejects]
    trace = trace_from_row(traces[0])
    assert trace.tool_calls and trace.correct and trace.final_answer
    assert [m["role"] for m in trace.messages[:3]] == ["system", "user", "assistant"]
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["accepted"] == len(traces) and sum(stats["tool_calls_per_tool_accepted"].values()) > 220


def test_clean_inputs_every_row_accounted(ray_local, tmp_path):
    math500 = load_benchmark("math500")
    planted = next(item for item in math500 if len(item.problem.split()) > 40)
    words = planted.problem.split(" ")
    words[1] = "Kindly"
    rows = [
        {"id": "a-original", "problem": "Solve $x^2 - 5x + 6 = 0$. What is the sum of the solutions?", "answer": "5"},
        {"id": "b-copy", "problem": "Solve  $x^2-5x+6=0$.  What is the sum of the solutions?", "answer": "5"},
        {"id": "no-answer", "problem": "What is 2 + 2?", "answer": ""},
        {"id": "", "problem": "A row without an id", "answer": "1"},
        {"id": "no-problem", "problem": "", "answer": "1"},
        {"id": "planted", "problem": " ".join(words), "answer": planted.answer},
        {"id": "a-original", "problem": "Another problem reusing an id: what is 3 + 4?", "answer": "7"},
    ]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = config_for(tmp_path, problems={"kind": "file", "path": str(path)})
    summary = run_generate(config, progress=False)
    traces, rejects = written(tmp_path / "run")
    assert summary.input_rows == len(rows) == len(traces) + len(rejects)
    reasons = {(r["id"], r["reason"]) for r in rejects}
    assert ("b-copy", "duplicate") in reasons  # the same text under the larger id
    assert ("no-answer", "no_reference_answer") in reasons
    assert ("", "invalid_row") in reasons and ("no-problem", "invalid_row") in reasons
    assert ("planted", "contaminated") in reasons
    planted_reject = next(r for r in rejects if r["id"] == "planted")
    assert planted.id in planted_reject["detail"]
    id_reuse = [r for r in rejects if r["id"] == "a-original" and r["reason"] == "duplicate"]
    assert len(id_reuse) == 1 and "occurrence 2" in id_reuse[0]["detail"]


def test_rerun_skips_everything_already_written(ray_local, tmp_path):
    config = config_for(tmp_path, problems={"count": 24})
    run_generate(config, progress=False)
    first = written(tmp_path / "run")
    summary = run_generate(config, progress=False)
    second = written(tmp_path / "run")
    assert summary.skipped_already_written == 24
    assert len(second[0]) == len(first[0]) and len(second[1]) == len(first[1])


@pytest.mark.slow
def test_killed_job_resumes_exactly_once(tmp_path):
    """Kill the whole job (driver, Ray, workers) mid-way, rerun: no duplicates, no losses."""
    count = 400
    config = tmp_path / "gen.yaml"
    config.write_text(
        f"""
name: crash
output_dir: {tmp_path / "run"}
problems: {{kind: synthetic, count: {count}, seed: 5}}
clean: {{benchmarks: [math500]}}
resources: {{num_actors: 2, num_cpus_per_actor: 0.5, batch_size: 4, concurrency_per_actor: 4, num_blocks: 100}}
"""
    )
    exe = str(Path(sys.executable).with_name("tooldistill"))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    job = subprocess.Popen([exe, "generate", str(config), "--quiet"], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    traces_dir = tmp_path / "run" / "traces"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(traces_dir.glob("part-*.parquet"))) < 5:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    partial_ids = [i for p in traces_dir.glob("part-*.parquet") for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()]
    assert 0 < len(partial_ids) < count, "the job must be killed mid-way"
    done = subprocess.run([exe, "generate", str(config), "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    traces, rejects = written(tmp_path / "run")
    ids = [r["id"] for r in traces + rejects]
    assert len(ids) == len(set(ids)) == count
    assert set(partial_ids) <= {r["id"] for r in traces}
    assert "accepted" in done.stdout


def test_faulty_endpoint_every_row_accounted(ray_local, tmp_path):
    """Through the FAULT-INJECTION server: retries happen, and rows = accepted + rejected."""
    from tests.pipeline.fault_injection_server import FaultInjectionServer

    rows = [{"id": f"f{i}", "problem": f"Problem {i}: solve $x^2 - 4 = 0$ for the positive root.", "answer": "2"} for i in range(24)]
    path = tmp_path / "faulty.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    script = ["429", "ok", "500", "tool_call", "hang", "malformed_args", "not_json", "ok", "503", "400", "ok", "ok"]
    with FaultInjectionServer(script, cycle=True, retry_after="0", hang_s=30) as server:
        config = config_for(
            tmp_path,
            problems={"kind": "file", "path": str(path)},
            clean={"decontaminate": False},
            teacher={"kind": "openai", "options": {"base_url": server.base_url, "model": "fault-injection", "timeout_s": 1,
                                                   "max_retries": 3, "backoff_base_s": 0.01, "backoff_max_s": 0.05}},
            filter={"require_tool": False},
        )
        summary = run_generate(config, progress=False)
        requests = server.request_count
    traces, rejects = written(tmp_path / "run")
    assert summary.input_rows == 24 == len(traces) + len(rejects)
    assert len({r["id"] for r in traces + rejects}) == 24
    assert requests > 2 * 24  # plan + answer per row, plus the retries
    assert traces  # rows whose requests came through (after retries) are accepted
    assert {r["reason"] for r in rejects} <= {"teacher_error", "wrong_answer", "no_answer", "max_turns", "tool_errors_only"}
