"""The symbolic teacher against the real sandbox, through a minimal driver of the solver contract.

The driver below is deliberately local to the test (the real Solver Agent lives in
`pipeline.agents.solver`): plan request -> EXECUTE -> tool calls run in a real
`toolkit.sandbox.Sandbox` -> one `tool` message per call -> ... -> `\\boxed{}` (or WRAP_UP).
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sympy as sp
from latex2sympy2_extended.latex2sympy2 import ConversionConfig, latex2sympy

from pipeline.agents import prompts
from pipeline.agents.solver import last_boxed
from pipeline.records import Problem
from pipeline.synthetic import FAMILIES, generate_problems
from pipeline.teachers.base import Teacher
from pipeline.teachers.symbolic import SymbolicTeacher
from toolkit.parse import parse as parse_math
from toolkit.registry import openai_tools
from toolkit.sandbox import Sandbox

TOOLS = openai_tools()
ERROR = {"error": {"type": "timeout", "message": "the worker was stopped", "hint": "Try the call again."}}


# --------------------------------------------------------------------------- helpers


def to_sympy(answer: str) -> sp.Basic:
    if "\\" in answer or "{" in answer or " " in answer.strip():
        return latex2sympy(answer, conversion_config=ConversionConfig(lowercase_symbols=False))
    return parse_math(answer)


def same_answer(given: str | None, truth: str) -> bool:
    if given is None:
        return False
    if given == truth:
        return True
    try:
        return sp.simplify(to_sympy(given) - to_sympy(truth)) == 0
    except Exception:
        return False


@dataclass
class Run:
    messages: list[dict[str, Any]]
    final: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def answer(self) -> str | None:
        return last_boxed(self.final)


Corrupt = Callable[[int, str, dict[str, Any]], dict[str, Any]]


async def drive(
    teacher: Teacher,
    problem: Problem,
    sandbox: Sandbox,
    *,
    max_turns: int = 8,
    corrupt: Corrupt | None = None,
    wrap_up_after: int | None = None,
) -> Run:
    """The contract loop. `corrupt(i, tool, payload)` may replace the i-th tool result; with
    `wrap_up_after=n` the teacher gets WRAP_UP after its n-th turn of execution."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.SOLVER_SYSTEM},
        {"role": "user", "content": prompts.PLAN_REQUEST.format(problem=problem.problem)},
    ]
    plan = await teacher.chat(messages, tools=None)
    assert not plan.tool_calls, "the plan turn offers no tools"
    messages.append(plan.to_message())
    messages.append({"role": "user", "content": prompts.EXECUTE})
    run = Run(messages)
    for turn in range(1, max_turns + 1):
        last_turn = turn == max_turns or (wrap_up_after is not None and turn > wrap_up_after)
        if last_turn:
            messages.append({"role": "user", "content": prompts.WRAP_UP})
        reply = await teacher.chat(messages, tools=None if last_turn else TOOLS)
        messages.append(reply.to_message())
        if last_turn:
            assert not reply.tool_calls
            run.final = reply.text
            return run
        if reply.tool_calls:
            for call in reply.tool_calls:
                arguments = json.loads(call.arguments)
                payload = await sandbox.call(call.name, arguments)
                if corrupt is not None:
                    payload = corrupt(len(run.calls), call.name, payload)
                run.calls.append((call.name, arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": json.dumps(payload)})
            continue
        if last_boxed(reply.text) is not None:
            run.final = reply.text
            return run
        messages.append({"role": "user", "content": prompts.CONTINUE})
    return run


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2) as box:
        yield box


@pytest.fixture
def teacher() -> SymbolicTeacher:
    return SymbolicTeacher()


def pick(family: str, ask: str | None = None, seed: int = 3) -> Problem:
    return next(p for p in generate_problems(200, seed=seed, families=[family])
                if ask is None or p.meta["params"]["ask"] == ask)


# --------------------------------------------------------------------------- end to end


async def test_traces_are_correct_end_to_end(sandbox, teacher):
    problems = generate_problems(224, seed=21)  # 14 of each family
    limit = asyncio.Semaphore(8)

    async def one(p: Problem) -> Run:
        async with limit:
            return await drive(teacher, p, sandbox)

    runs = await asyncio.gather(*(one(p) for p in problems))
    wrong = [(p.problem, p.answer, r.answer) for p, r in zip(problems, runs, strict=True) if not same_answer(r.answer, p.answer)]
    accepted = len(problems) - len(wrong)
    assert accepted / len(problems) >= 0.99, wrong[:5]
    assert all(r.calls for r in runs), "every trace uses at least one tool"
    chains = collections.Counter(len(r.calls) for r in runs)
    assert sum(n for calls, n in chains.items() if calls >= 2) >= 20, chains
    for family in FAMILIES:  # each family's calls stay within the tools it declares
        used = {name for p, r in zip(problems, runs, strict=True) if p.meta["family"] == family for name, _ in r.calls}
        assert used and used <= set(FAMILIES[family].tools), (family, used)
    for r in runs:  # every tool turn reflects in words; the final turn ends with the box
        for m in r.messages:
            if m["role"] == "assistant" and m.get("tool_calls"):
                assert m["content"] and len(m["tool_calls"]) == 1
        assert r.final.rstrip().endswith("}")


async def test_plan_names_the_tools_and_calls_none(teacher):
    p = pick("linear_system")
    messages = [{"role": "system", "content": prompts.SOLVER_SYSTEM},
                {"role": "user", "content": prompts.PLAN_REQUEST.format(problem=p.problem)}]
    reply = await teacher.chat(messages)
    assert not reply.tool_calls and "\\boxed{" not in reply.text.replace("\\boxed{}", "")
    assert "`solve_linear_system`" in reply.text
    assert reply.usage.prompt_tokens == sum(len(m["content"].split()) for m in messages)
    assert reply.usage.completion_tokens == len(reply.text.split())
    assert isinstance(teacher, Teacher) and teacher.name == "symbolic"


async def test_replies_are_deterministic(sandbox, teacher):
    p = pick("derivative")
    first, second = await drive(teacher, p, sandbox), await drive(SymbolicTeacher(), p, sandbox)
    strip = lambda run: [(m["role"], m["content"]) for m in run.messages]  # noqa: E731  (call ids differ)
    assert strip(first) == strip(second)


# --------------------------------------------------------------------------- errors, wrap-up, unknown problems


@pytest.mark.parametrize(("family", "ask"), [("quadratic", "sum_squares"), ("determinant", "singular"), ("crt", None)])
async def test_recovers_from_a_tool_error(sandbox, teacher, family, ask):
    p = pick(family, ask)
    run = await drive(teacher, p, sandbox, corrupt=lambda i, name, payload: ERROR if i == 0 else payload)
    assert same_answer(run.answer, p.answer), run.messages[-3:]
    retry = next(m for m in run.messages[4:] if m["role"] == "assistant" and m.get("tool_calls") and "failed" in m["content"])
    assert "Try the call again." in retry["content"]  # it read the hint
    assert len(run.calls) >= 2


async def test_uses_the_fallback_tool_after_an_error(sandbox, teacher):
    p = pick("quadratic", "larger")
    run = await drive(teacher, p, sandbox, corrupt=lambda i, name, payload: ERROR if i == 0 else payload)
    assert [name for name, _ in run.calls] == ["solve_equation", "polynomial_roots"]
    assert same_answer(run.answer, p.answer)


async def test_gives_up_after_a_second_error(sandbox, teacher):
    p = pick("limit")
    run = await drive(teacher, p, sandbox, corrupt=lambda i, name, payload: ERROR)
    assert len(run.calls) == 2 and run.answer is None
    assert "will not guess" in run.messages[-1]["content"] or "not guess" in run.messages[-2]["content"]


async def test_a_wrong_tool_result_gives_a_wrong_answer(sandbox, teacher):
    p = pick("counting", "choose")
    run = await drive(teacher, p, sandbox, corrupt=lambda i, name, payload: {"result": 7})
    assert run.answer == "7" != p.answer


async def test_wrap_up_answers_at_once(sandbox, teacher):
    done = pick("summation")  # one call, then the answer is ready
    run = await drive(teacher, done, sandbox, wrap_up_after=1)
    assert run.messages[-2]["content"] == prompts.WRAP_UP and same_answer(run.answer, done.answer)

    chained = pick("triangle", "altitude")  # the last arithmetic step is done by hand
    run = await drive(teacher, chained, sandbox, wrap_up_after=1)
    assert len(run.calls) == 1 and same_answer(run.answer, chained.answer)

    nothing = pick("eigenvalues")  # no results yet: an honest reply without a box
    run = await drive(teacher, nothing, sandbox, wrap_up_after=0)
    assert not run.calls and run.answer is None and run.final


async def test_no_tools_offered_means_no_tool_calls(teacher):
    p = pick("modular")
    messages = [{"role": "system", "content": prompts.SOLVER_SYSTEM},
                {"role": "user", "content": prompts.PLAN_REQUEST.format(problem=p.problem)},
                {"role": "assistant", "content": "Plan: ..."},
                {"role": "user", "content": prompts.EXECUTE}]
    reply = await teacher.chat(messages, tools=None)
    assert not reply.tool_calls and last_boxed(reply.text) is None
    restricted = await teacher.chat(messages, tools=[t for t in TOOLS if t["function"]["name"] == "distance"])
    assert not restricted.tool_calls


async def test_unrecognised_problem_gets_an_honest_reply(sandbox, teacher):
    p = Problem(id="x", problem="Prove that there are infinitely many primes.", answer="")
    run = await drive(teacher, p, sandbox, max_turns=4)
    assert not run.calls and run.answer is None
    assert all("\\boxed{" not in (m["content"] or "") for m in run.messages if m["role"] == "assistant")
