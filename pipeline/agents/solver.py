"""The Solver Agent: plan → tool calls → reflection → `\\boxed{}` answer, recorded whole.

`solve` is an async function of (problem, teacher, tool runner): no Ray in here. Every
tool call goes through the runner (the sandbox in production), and every message of the
conversation is kept, so a trace is exactly what the teacher saw and said.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field, model_validator

from pipeline.agents import prompts
from pipeline.config_rules import StrictModel
from pipeline.records import Problem, ToolCall, Trace
from pipeline.teachers.base import Reply, Teacher, TeacherError, ToolCallRequest, Usage
from toolkit.errors import ErrorType, error_payload
from toolkit.grading import extract_boxed

ToolRunner = Callable[[str, Any], Awaitable[dict[str, Any]]]


class SolverConfig(StrictModel):
    """The Solver Agent's conversation: how long it may go on, which tools it is offered, how it samples."""

    max_turns: int = Field(
        default=15, ge=2,
        description="teacher replies after the plan, the wrap-up included: more turns solve longer problems but let a "
        "stuck teacher spend more tokens before it is cut off (max_turns reject)",
    )
    max_nudges: int = Field(default=2, ge=0, description="replies in a row with neither a tool call nor an answer before giving up")
    max_calls_per_turn: int = Field(
        default=8, ge=1, description="tool calls run from one reply; further calls in it get an error result asking to split them"
    )
    tool_categories: list[str] | None = Field(
        default=None,
        description="offer the tools of these toolkit categories (plus any in tool_names); fewer tools mean a shorter "
        "prompt and fewer wrong picks, but problems that need a missing tool fail. None with tool_names None: every tool",
    )
    tool_names: list[str] | None = Field(default=None, description="offer these tools by name, in addition to tool_categories")
    sampling: dict[str, Any] = Field(
        default_factory=lambda: {"temperature": 0.0},
        description="sampling arguments of every teacher request (temperature, top_p, max_tokens, seed); an openai "
        "teacher forwards any other key to the endpoint as it is. Temperature 0 makes runs reproducible",
    )

    @model_validator(mode="after")
    def _tools_exist(self) -> SolverConfig:
        """A misspelt tool or category fails at load, not in every solver actor."""
        if self.tool_categories is not None or self.tool_names is not None:
            from toolkit.registry import select_tools

            select_tools(self.tool_categories, self.tool_names)  # raises naming an unknown tool or category
        return self


def last_boxed(text: str | None) -> str | None:
    """Content of the last `\\boxed{...}` (nested braces allowed), or None."""
    boxed = extract_boxed(text)
    return boxed.strip() if boxed is not None else None


def _decode_arguments(call: ToolCallRequest) -> tuple[Any, dict[str, Any] | None]:
    """The call's arguments, or an error payload the model can correct itself from."""
    if not call.name:
        return None, error_payload(
            ErrorType.PARSE_ERROR,
            f"the tool call could not be read: {call.arguments[:300]!r}",
            'Write tool calls as {"name": TOOL, "arguments": {...}} with valid JSON.',
        )
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return None, error_payload(
            ErrorType.PARSE_ERROR,
            f"the arguments of {call.name} are not valid JSON ({exc.msg} at position {exc.pos})",
            "Send the arguments as one JSON object with double-quoted keys and strings.",
        )
    if not isinstance(arguments, dict):
        return None, error_payload(
            ErrorType.INVALID_ARGUMENTS, f"the arguments of {call.name} must be a JSON object", "Example: {\"expression\": \"x**2 - 1\"}"
        )
    return arguments, None


async def _run_call(call: ToolCallRequest, run_tool: ToolRunner, turn: int) -> tuple[ToolCall, str]:
    arguments, problem = _decode_arguments(call)
    started = time.perf_counter()
    payload = problem if problem is not None else await run_tool(call.name, arguments)
    latency = time.perf_counter() - started
    content = json.dumps(payload, ensure_ascii=False)
    record = ToolCall(
        name=call.name,
        arguments=call.arguments,
        result=content if "error" not in payload else None,
        error=json.dumps(payload["error"], ensure_ascii=False) if "error" in payload else None,
        latency_s=latency,
        call_id=call.id,
        turn=turn,
    )
    return record, content


async def solve(
    problem: Problem,
    teacher: Teacher,
    run_tool: ToolRunner,
    tools: list[dict[str, Any]],
    config: SolverConfig | None = None,
) -> Trace:
    """Run the agent on one problem. Never raises for the problem's sake: failures are in the trace."""
    config = config or SolverConfig()
    started = time.perf_counter()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.SOLVER_SYSTEM},
        {"role": "user", "content": prompts.PLAN_REQUEST.format(problem=problem.problem)},
    ]
    calls: list[ToolCall] = []
    usage = Usage()
    plan = ""
    final_text: str | None = None
    error: str | None = None
    turns = 0
    ran_out = False

    async def ask(offer_tools: bool) -> Reply:
        nonlocal usage
        reply = await teacher.chat(messages, tools=tools if offer_tools else None, **config.sampling)
        usage = usage + reply.usage
        messages.append(reply.to_message())
        return reply

    try:
        plan = (await ask(offer_tools=False)).text or ""
        messages.append({"role": "user", "content": prompts.EXECUTE})
        nudges = 0
        while True:
            turns += 1
            if turns >= config.max_turns:
                messages.append({"role": "user", "content": prompts.WRAP_UP})
                final_text = (await ask(offer_tools=False)).text
                ran_out = last_boxed(final_text) is None
                break
            reply = await ask(offer_tools=True)
            if reply.tool_calls:
                nudges = 0
                for call in reply.tool_calls[: config.max_calls_per_turn]:
                    record, content = await _run_call(call, run_tool, turns)
                    calls.append(record)
                    messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content})
                for call in reply.tool_calls[config.max_calls_per_turn :]:
                    content = json.dumps(
                        error_payload(ErrorType.INVALID_ARGUMENTS, "too many tool calls in one turn", "Call fewer tools at a time.")
                    )
                    messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content})
                continue
            if last_boxed(reply.text) is not None:
                final_text = reply.text
                break
            nudges += 1
            if nudges > config.max_nudges:
                final_text = reply.text
                break
            messages.append({"role": "user", "content": prompts.CONTINUE})
    except TeacherError as exc:
        error = f"teacher_error: {exc}"
    except Exception as exc:  # a teacher bug must not take the whole batch down
        error = f"teacher_error: {type(exc).__name__}: {exc}"

    return Trace(
        id=problem.id,
        problem=problem.problem,
        answer=problem.answer,
        source=problem.source,
        meta={**problem.meta, "ran_out_of_turns": ran_out},
        teacher=teacher.name,
        plan=plan,
        messages=messages,
        tool_calls=calls,
        final_answer=last_boxed(final_text),
        correct=False,
        num_turns=turns,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        wall_time_s=time.perf_counter() - started,
        error=error,
        status="pending",
    )
