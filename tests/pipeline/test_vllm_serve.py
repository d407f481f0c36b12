"""`vllm serve` as the teacher: vLLM's own OpenAI-compatible server (CPU build, SmolLM2, the
`hermes` tool-call parser on) behind the `openai` teacher, for the generation job and for the
LLM back-translation agents (translator, judge, rephrase).

SmolLM2's own chat template ignores tools, so the server runs with `hermes_chat_template()`
(`tests/pipeline/vllm_venv.py`), which offers them exactly as the project's own teachers do
(checked below token for token). SmolLM2 has 8,192 positions and all 86 tool schemas take
about 15k tokens: the solver is offered a subset (the `equations` category, 7 tools). A 135M
model rarely solves anything, so these tests check the plumbing (requests served, replies
and tool calls parsed, every row accounted for), not accuracy.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.agents.judge import Judge
from pipeline.backtranslate import BacktranslateConfig, run_backtranslate
from pipeline.derivations.answers import Expected
from pipeline.generate import GenerateConfig, run_generate
from pipeline.records import trace_from_row
from pipeline.runtime.models import smollm2_dir
from pipeline.runtime.storage import RunFolder
from pipeline.teachers.chat_format import add_tools_to_system, to_template_messages
from pipeline.teachers.openai import OpenAITeacher, OpenAITeacherConfig
from tests.pipeline.vllm_venv import VLLMServer, needs_vllm_venv
from toolkit.grading.compare import GradeResult
from toolkit.registry import execute, openai_tools

pytestmark = needs_vllm_venv

SERVED = "vllm:request_success_total"  # the server's count of finished requests
EQUATIONS = openai_tools(["equations"], None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VLLMServer(str(smollm2_dir()), tmp_path_factory.mktemp("vllm-serve")) as running:
        yield running


def teacher_spec(server: VLLMServer) -> dict:
    return {"kind": "openai", "options": {"base_url": server.base_url, "model": server.model_name, "timeout_s": 300,
                                          "max_retries": 1, "max_concurrency": 4}}


def rows(run: Path, name: str) -> list[dict]:
    table = RunFolder(str(run)).read(name)
    return table.to_pylist() if table is not None else []


def test_the_served_prompt_is_the_projects_own_and_tool_calls_come_back_parsed(server):
    from transformers import AutoTokenizer

    conversation = [
        {"role": "system", "content": "You solve equations with tools."},
        {"role": "user", "content": "Solve $x^2 = 4$."},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "solve_equation", "arguments": json.dumps({"equation": "x**2 = 4", "variable": "x"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "solve_equation", "content": json.dumps({"result": ["-2", "2"]})},
    ]
    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir()))
    local = tokenizer.apply_chat_template(add_tools_to_system(to_template_messages(conversation, tokenizer.chat_template), EQUATIONS),
                                          tokenize=False, add_generation_prompt=True)
    # `strict` tools with tool_choice=required: the server constrains the call to the schema, so even a
    # 135M model writes a well-formed one, which the hermes parser turns into an OpenAI tool call
    is_prime = [{**t, "function": {**t["function"], "strict": True}} for t in openai_tools(None, ["is_prime"])]

    async def ask():
        teacher = OpenAITeacher(OpenAITeacherConfig(base_url=server.base_url, model=server.model_name, timeout_s=300))
        try:
            reply = await teacher.chat(conversation, tools=EQUATIONS, max_tokens=8, temperature=0.0)
            call = await teacher.chat([{"role": "user", "content": "Is 97 a prime number?"}], tools=is_prime,
                                      tool_choice="required", max_tokens=40, temperature=0.0)
            return reply, call
        finally:
            await teacher.close()

    before = server.metric(SERVED)
    reply, call = asyncio.run(ask())
    print("reply:", reply, "\ntool call:", call.tool_calls)
    assert server.metric(SERVED) - before == 2
    assert reply.usage.prompt_tokens == len(tokenizer(local, add_special_tokens=False)["input_ids"])
    assert reply.usage.completion_tokens >= 1 and (reply.text or reply.tool_calls)
    assert call.finish_reason == "tool_calls" and [c.name for c in call.tool_calls] == ["is_prime"]
    arguments = json.loads(call.tool_calls[0].arguments)
    assert isinstance(arguments["n"], int)
    assert "result" in execute("is_prime", arguments)  # a call the real toolkit runs


def test_generation_job_with_the_served_teacher(server, ray_local, tmp_path):
    config = GenerateConfig.model_validate({
        "output_dir": str(tmp_path / "run"),
        "problems": {"kind": "synthetic", "count": 4, "seed": 13, "families": ["quadratic", "linear_system"]},
        "clean": {"benchmarks": []},
        "teacher": teacher_spec(server),
        # plan, at most one tool turn and the wrap-up per problem
        "solver": {"tool_categories": ["equations"], "max_turns": 2, "max_nudges": 0,
                   "sampling": {"temperature": 0.0, "max_tokens": 48}},
        "resources": {"num_actors": 1, "num_cpus_per_actor": 0.5, "batch_size": 4, "concurrency_per_actor": 4},
    })
    before = server.metric(SERVED)
    summary = run_generate(config, progress=False)
    traces, rejects = rows(tmp_path / "run", "traces"), rows(tmp_path / "run", "rejects")
    solved = [trace_from_row(t) for t in traces] + [trace_from_row(json.loads(r["trace"])) for r in rejects if r["trace"]]
    conversations = [t.messages for t in solved]
    replies = sum(m["role"] == "assistant" for c in conversations for m in c)
    calls = [c["function"]["name"] for conv in conversations for m in conv for c in m.get("tool_calls") or []]
    print("accepted:", summary.accepted, "rejected:", summary.rejected_by_reason, "replies:", replies, "tool calls:", calls)
    assert summary.input_rows == 4 == len(traces) + len(rejects)  # every row accounted for
    assert not [r for r in rejects if r["reason"] == "teacher_error"], rejects  # every request answered and read
    assert server.metric(SERVED) - before == replies >= 2 * 4  # one served request per reply: plan + a turn each
    offered = {t["function"]["name"] for t in EQUATIONS}
    assert set(calls) <= offered  # the tool calls the server parsed name offered tools


def test_llm_backtranslation_agents_with_the_served_teacher(server, ray_local, tmp_path):
    """Translator (no symbolic shortcut), judge and rephrase all on the served SmolLM2, on two one-call
    traces (the LLM judge is asked only when the symbolic check cannot decide: the next test forces that)."""
    generated = tmp_path / "gen"
    run_generate(GenerateConfig.model_validate({
        "output_dir": str(generated), "problems": {"count": 6, "seed": 21, "families": ["quadratic"]},
        "clean": {"decontaminate": False}, "resources": {"num_actors": 1, "num_cpus_per_actor": 0.5},
    }), progress=False)
    traces = pa.concat_tables([pq.read_table(p) for p in sorted((generated / "traces").glob("*.parquet"))])
    picked = [i for i, n in enumerate(traces.column("num_tool_calls").to_pylist()) if n == 1][:2]
    assert len(picked) == 2
    folder = tmp_path / "traces"
    folder.mkdir()
    pq.write_table(traces.take(picked), folder / "part-llm.parquet")
    teacher = teacher_spec(server)
    config = BacktranslateConfig.model_validate({
        "traces_dir": str(folder), "output_dir": str(tmp_path / "bt"), "keep_fallback": True,
        "resources": {"num_actors": 1, "num_cpus_per_actor": 0.5, "batch_size": 16, "concurrency_per_actor": 8},
        "translator": {"kind": "llm", "teacher": teacher, "max_attempts": 1, "symbolic_first": False, "max_tokens": 120},
        "judge": {"teacher": teacher}, "rephrase": {"kind": "llm", "teacher": teacher, "max_tokens": 160},
    })
    before = server.metric(SERVED)
    summary = run_backtranslate(config, progress=False)
    served = server.metric(SERVED) - before
    sft, rejects, translations = (rows(tmp_path / "bt", name) for name in ("sft", "rejects", "translations"))
    print("served:", served, "sft:", len(sft), "rejects:", [(r["reason"], r["detail"][:120]) for r in rejects],
          "translations:", [(t["method"], t["judge"], t["accepted"]) for t in translations])
    assert summary.traces_in == 2 == len(sft) + len(rejects)  # every trace accounted for
    assert len(translations) == 2 and all(t["attempts"] == 1 for t in translations)
    for t in translations:  # the LLM's step, verified by the judge, or a marked fallback with the judge's reason
        assert (t["method"], bool(t["reason"])) == (("llm", False) if t["accepted"] else ("fallback", True)), t
    # one served request per translation, one per LLM judge verdict, one per rephrase of a trace that got that far
    llm_judged = sum(t["judge"] == "llm" for t in translations)
    rephrased = len(sft) + sum(r["reason"].startswith("rephrase_") for r in rejects)
    assert served == len(translations) + llm_judged + rephrased, (served, translations, rejects)
    for example in sft:
        assert example["rephrase"] == "llm"


class TimedOutGraderFault:
    """FAULT INJECTION: a grader whose every comparison ran past its deadline (undecided)."""

    async def agrade(self, pred: str | None, gold: str, extract: bool = True, timeout_s: float | None = None) -> GradeResult:
        return GradeResult(False, pred, gold, "timeout")


def test_the_llm_judge_asks_the_served_teacher_when_the_symbolic_check_cannot_decide(server):
    """The judge only asks its LLM about comparisons the grader cannot decide, which real traces
    rarely give; a grader that times out forces that path, and the served model must answer it."""

    async def ask():
        teacher = OpenAITeacher(OpenAITeacherConfig(base_url=server.base_url, model=server.model_name, timeout_s=300))
        try:
            return await Judge(TimedOutGraderFault(), llm=teacher, max_tokens=32).judge(
                "The sum of the roots is $\\frac{8}{4}$, so the result is \\boxed{2}.", Expected("value", (("", "2"),)),
                task="Find the sum of the roots", given="x^2 - 2x + 1")
        finally:
            await teacher.close()

    before = server.metric(SERVED)
    verdict = asyncio.run(ask())
    print("LLM judge verdict:", verdict)
    assert server.metric(SERVED) - before == 1 and verdict.method == "llm"
    # the served reply was read: a boxed verdict, or one reported unreadable, never a teacher failure
    assert verdict.reason in ("verified by LLM judge", "LLM judge: False", "LLM judge verdict unreadable"), verdict
