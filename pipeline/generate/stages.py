"""Generation's row stages: solve → grade → classify, and what each outcome writes.

Each solver actor owns a sandbox for tool calls, a grader (a second sandbox) and a
teacher (its own, or a router over shared teacher actors). A problem whose trace the
correctness filter keeps goes to traces/; every other one to rejects/ with its reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.agents.solver import solve
from pipeline.filtering import KEPT, classify
from pipeline.generate.config import GenerateConfig
from pipeline.jobs.stage import Job, Rejected, Resources, Stage
from pipeline.records import (
    REJECT_SCHEMA,
    TRACE_SCHEMA,
    Problem,
    Reject,
    Trace,
    problem_from_row,
    reject_to_row,
    trace_to_json,
    trace_to_row,
)

STAGE = "generate"


@dataclass
class Solving:
    """One problem on its way through the stages."""

    problem: Problem
    trace: Trace | None = None


@dataclass
class SolverResources(Resources):
    sandbox: Any = None
    grader: Any = None
    teacher: Any = None
    tools: list[dict[str, Any]] | None = None


def open_solver(config: GenerateConfig, teacher_handles: dict[str, list[Any]]) -> SolverResources:
    from pipeline.teachers.registry import build_teacher
    from pipeline.teachers.remote import RemoteTeacher
    from toolkit.grading import Grader
    from toolkit.registry import openai_tools
    from toolkit.sandbox import Sandbox

    resources = SolverResources(config=config, concurrency=config.resources.concurrency_per_actor)
    resources.sandbox = resources.own(Sandbox(config.sandbox).start())
    resources.grader = resources.own(Grader(workers=1, timeout_s=config.grader_timeout_s))
    handles = teacher_handles.get(config.teacher.model_dump_json())
    teacher = (
        RemoteTeacher(handles, name=f"{config.teacher.kind}-actors")
        if handles
        else build_teacher(config.teacher, share=config.resources.num_actors)
    )
    resources.teacher = resources.own(teacher)
    resources.tools = openai_tools(config.solver.tool_categories, config.solver.tool_names)
    return resources


def read_problem(resources: SolverResources, row: dict[str, Any]) -> Solving:
    return Solving(problem_from_row(row))


async def solve_problem(resources: SolverResources, item: Solving) -> Solving:
    config: GenerateConfig = resources.config  # type: ignore[assignment]
    item.trace = await solve(item.problem, resources.teacher, resources.sandbox.call, resources.tools, config.solver)
    return item


async def grade_answer(resources: SolverResources, item: Solving) -> Solving:
    trace = item.trace
    graded = None
    if trace.final_answer is not None and not trace.error:
        graded = await resources.grader.agrade(f"\\boxed{{{trace.final_answer}}}", item.problem.answer)
    trace.correct = bool(graded and graded.equal)
    return item


async def classify_trace(resources: SolverResources, item: Solving) -> Solving | Rejected:
    """The correctness filter: accepted (or, relaxed, a wrong answer kept and flagged), else a reject."""
    config: GenerateConfig = resources.config  # type: ignore[assignment]
    trace = item.trace
    trace.status = classify(trace, trace.correct, config.filter)
    if trace.status in KEPT:
        return item
    detail = trace.error or (
        f"final answer {trace.final_answer!r}, reference {item.problem.answer!r}" if trace.final_answer else ""
    )
    return Rejected(item, trace.status, detail)


def write_outcome(resources: SolverResources, result: Solving | Rejected) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(result, Rejected):
        return {"traces": [trace_to_row(result.trace)]}
    item: Solving = result.item
    problem = item.problem
    reject = Reject(
        id=problem.id, stage=STAGE, reason=result.reason, detail=result.detail, problem=problem.problem,
        answer=problem.answer, source=problem.source, trace=trace_to_json(item.trace) if item.trace else None,
    )
    return {"rejects": [reject_to_row(reject)]}


def tally(results: Sequence[Solving | Rejected]) -> dict[str, Any]:
    traces = [(r.item if isinstance(r, Rejected) else r).trace for r in results]
    traces = [t for t in traces if t is not None]
    tool_calls: Counter[str] = Counter(c.name for t in traces for c in t.tool_calls)
    return {
        "problems": len(results),
        "accepted": sum(not isinstance(r, Rejected) for r in results),
        "tokens": sum(t.prompt_tokens + t.completion_tokens for t in traces),
        "tool_calls": json.dumps(tool_calls),
    }


GENERATION = Job(
    name=STAGE,
    config_type=GenerateConfig,
    open=open_solver,
    read=read_problem,
    stages=(
        Stage("solve", solve_problem),
        Stage("grade", grade_answer),
        Stage("classify", classify_trace),
    ),
    write=write_outcome,
    schemas={"traces": TRACE_SCHEMA, "rejects": REJECT_SCHEMA},
    tally=tally,
)
