"""The Solver Agent: its conversation, tool errors, turn limits, failures, with real teachers.

Fault paths use the FAULT-INJECTION server (tests/pipeline/fault_injection_server.py)
behind the real OpenAI client; the model path uses SmolLM2 through the HF teacher.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.agents import prompts
from pipeline.agents.solver import SolverConfig, last_boxed, solve
from pipeline.filtering import ACCEPTED, classify
from pipeline.records import Problem, RejectReason
from pipeline.synthetic import generate_problems
from pipeline.teachers.openai import OpenAITeacher
from pipeline.teachers.symbolic import SymbolicTeacher
from tests.pipeline.fault_injection_server import FaultInjectionServer
from toolkit.grading import grade
from toolkit.registry import openai_tools
from toolkit.sandbox import Sandbox

TOOLS = openai_tools()
PROBLEM = Problem(id="p", problem="Solve $x^2 - 4 = 0$ and give the positive root.", answer="2")


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1) as sb:
        yield sb


def run(coro):
    return asyncio.run(coro)


def test_last_boxed():
    assert last_boxed("a \\boxed{1} then \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
    assert last_boxed("no answer") is None
    assert last_boxed("\\boxed{unclosed") is None


def fault_teacher(server: FaultInjectionServer) -> OpenAITeacher:
    return OpenAITeacher(base_url=server.base_url, model="fault-injection", max_retries=1, backoff_base_s=0.01, timeout_s=2)


def test_malformed_and_wrong_tool_calls_become_tool_errors(sandbox):
    with FaultInjectionServer(["ok", "malformed_args", "tool_call", "ok"]) as server:
        trace = run(solve(PROBLEM, fault_teacher(server), sandbox.call, TOOLS))
    assert [c.name for c in trace.tool_calls] == ["solve_equation", "solve_equation"]
    first, second = (json.loads(c.error) for c in trace.tool_calls)
    assert first["type"] == "parse_error" and "not valid JSON" in first["message"]
    assert second["type"] == "invalid_arguments"  # the fault server sends {"expression": ...}
    tool_messages = [m for m in trace.messages if m["role"] == "tool"]
    assert len(tool_messages) == 2 and all("error" in json.loads(m["content"]) for m in tool_messages)
    assert trace.final_answer == "2"
    assert classify(trace, correct=True) == RejectReason.TOOL_ERRORS_ONLY


def test_turn_limit_ends_with_a_wrap_up(sandbox):
    with FaultInjectionServer(default="tool_call") as server:
        trace = run(solve(PROBLEM, fault_teacher(server), sandbox.call, TOOLS, SolverConfig(max_turns=4)))
    assert trace.num_turns == 4
    assert trace.messages[-2]["content"] == prompts.WRAP_UP
    assert classify(trace, correct=False) == RejectReason.MAX_TURNS


def test_teacher_failure_is_recorded_not_raised(sandbox):
    with FaultInjectionServer(["400"]) as server:
        trace = run(solve(PROBLEM, fault_teacher(server), sandbox.call, TOOLS))
    assert trace.error and "teacher_error" in trace.error
    assert classify(trace, correct=False) == RejectReason.TEACHER_ERROR


def test_answer_without_tools_is_no_tool(sandbox):
    with FaultInjectionServer(default="ok") as server:
        trace = run(solve(PROBLEM, fault_teacher(server), sandbox.call, TOOLS))
    assert trace.final_answer == "2" and not trace.tool_calls
    assert classify(trace, correct=True) == RejectReason.NO_TOOL


def test_symbolic_teacher_conversation_follows_the_contract(sandbox):
    problem = generate_problems(1, seed=9)[0]
    trace = run(solve(problem, SymbolicTeacher(), sandbox.call, TOOLS))
    roles = [m["role"] for m in trace.messages]
    assert roles[:4] == ["system", "user", "assistant", "user"]
    assert trace.messages[1]["content"] == prompts.PLAN_REQUEST.format(problem=problem.problem)
    assert trace.plan and trace.tool_calls and all(c.ok for c in trace.tool_calls)
    assert roles.count("tool") == len(trace.tool_calls)
    graded = grade(f"\\boxed{{{trace.final_answer}}}", problem.answer)
    assert graded.equal and classify(trace, graded.equal) == ACCEPTED


@pytest.mark.slow
def test_hf_teacher_loop_with_smollm2(sandbox):
    """A real 135M model in the loop: poor answers, but every turn is recorded and judged honestly."""
    from pipeline.teachers.hf import HFTeacher

    teacher = HFTeacher(num_threads=1, max_tokens=40)
    config = SolverConfig(max_turns=3, max_nudges=1, sampling={"temperature": 0.0, "max_tokens": 40})
    problems = generate_problems(3, seed=1, families=["quadratic"])
    # All 86 schemas are ~15k tokens, past SmolLM2's 8k context: offer one category.
    tools = openai_tools(categories=["equations"])

    async def all_three():
        return [await solve(p, teacher, sandbox.call, tools, config) for p in problems]

    traces = run(all_three())
    for problem, trace in zip(problems, traces, strict=True):
        assert trace.error is None
        assistant = [m for m in trace.messages if m["role"] == "assistant"]
        # plan + one reply per turn (the wrap-up counts as a turn)
        assert len(assistant) == 1 + trace.num_turns
        assert trace.prompt_tokens > 0 and trace.completion_tokens > 0
        graded = grade(f"\\boxed{{{trace.final_answer}}}", problem.answer) if trace.final_answer else None
        status = classify(trace, bool(graded and graded.equal))
        assert status in {ACCEPTED, *RejectReason}
        if status == ACCEPTED:
            assert graded.equal and trace.tool_calls
