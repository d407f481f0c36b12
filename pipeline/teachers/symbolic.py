"""The offline embedded default teacher: a rule-based mathematician for the synthetic families.

It follows the Solver Agent's conversation contract (`pipeline.agents.prompts`) turn by turn,
and everything it says is derived from the conversation itself:

- on the plan request it reads the problem text back (`pipeline.synthetic.recognise`: the
  family, the quantities the text states — never the reference answer) and writes a plan that
  names the tools;
- from EXECUTE on it replays the conversation's tool calls and their results (the `tool`
  messages' JSON) and asks the family's policy for the next step: a tool call whose arguments
  come from the problem and from earlier *real* results, with a short reflection on the last
  result, or the final reflection ending in `\\boxed{...}` computed from those results — so a
  wrong tool result gives a wrong answer, which the correctness filter catches;
- a failed call is read (message and hint) and fixed once (the step's alternative tool, or the
  same call again); a second failure ends the attempt with the best answer it has;
- on WRAP_UP (or when no tools are offered) it answers at once from what it has;
- a problem it cannot read gets an honest reply without `\\boxed{}`.

The policy is deterministic (phrasings vary with the problem text, not with a random state),
so a reply depends only on the messages; `chat` does no I/O and returns immediately.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from typing import Any

import sympy as sp

from pipeline.agents import prompts
from pipeline.synthetic import Answer, Call, SolvingPlan, recognise, tex
from pipeline.teachers.base import Reply, ToolCallRequest, Usage, new_call_id
from toolkit.parse import parse as parse_math

log = logging.getLogger(__name__)

_PLAN_HEAD, _, _PLAN_TAIL = prompts.PLAN_REQUEST.partition("{problem}")
_MAX_ATTEMPTS = 2  # a step's call plus one fix


@dataclass
class _Event:
    name: str
    arguments: str
    payload: dict[str, Any]

    @property
    def error(self) -> dict[str, Any] | None:
        if "error" in self.payload or "result" not in self.payload:
            error = self.payload.get("error")
            return error if isinstance(error, dict) else {"type": "error", "message": str(error or self.payload), "hint": ""}
        return None


@dataclass
class _State:
    results: list[Any]
    failures: int  # consecutive failed attempts at the current step
    last_error: dict[str, Any] | None
    last_call: str | None


class SymbolicTeacher:
    """`Teacher` protocol implementation; see the module docstring. Options are accepted and ignored."""

    name = "symbolic"

    def __init__(self, **options: Any) -> None:
        self.options = options

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply:
        return respond(messages, tools)

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------- the turn


def respond(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Reply:
    """The teacher's reply to a conversation (a pure function of its arguments)."""
    found = _find_problem(messages)
    if found is None:
        return _reply(messages, "I do not see a problem statement in this conversation, so I cannot solve anything yet.")
    problem, at = found
    plan = recognise(problem)
    later = messages[at + 1 :]
    if not any(m.get("role") == "assistant" for m in later):
        return _reply(messages, _plan_text(plan))
    if plan is None:
        return _reply(messages, _unknown_text())
    state = _replay(later)
    last = messages[-1]
    wrap_up = last.get("role") == "user" and (last.get("content") or "").strip() == prompts.WRAP_UP.strip()
    offered = _tool_names(tools)
    if wrap_up or offered is None:
        why = "I have no more turns" if wrap_up else "No tools are offered now"
        return _reply(messages, _best_effort(plan, state, f"{why}, so I answer from the results I have."))
    if state.failures >= _MAX_ATTEMPTS:
        return _reply(messages, _best_effort(plan, state, _error_note(state) + " It failed again, so I stop calling tools."))
    try:
        step = plan.next_step(state.results)
    except Exception as exc:  # a result of an unexpected form: say so instead of guessing
        log.debug("policy of %s failed: %s", plan.family, exc)
        return _reply(messages, f"The last result does not have the form I expected ({exc}), so I cannot finish reliably "
                                f"and will not guess an answer.")
    if isinstance(step, Answer):
        return _reply(messages, _final_text(plan, step))
    say = step.say
    if state.failures:  # fix the failed call once: its alternative if it has one, else the same call
        step = step.fallback or step
        say = f"{_error_note(state)} {_retry_note(plan, state, step)}"
    if step.tool not in offered:
        if step.fallback is not None and step.fallback.tool in offered:
            step = step.fallback
        else:
            return _reply(messages, _best_effort(plan, state, f"The tool I need (`{step.tool}`) is not available here."))
    call = ToolCallRequest(id=new_call_id(), name=step.tool, arguments=json.dumps(step.arguments, ensure_ascii=False))
    return _reply(messages, say.strip(), [call])


# --------------------------------------------------------------------------- reading the conversation


def _find_problem(messages: list[dict[str, Any]]) -> tuple[str, int] | None:
    """The problem text of the plan request, and that message's index."""
    for i, message in enumerate(messages):
        content = message.get("content") or ""
        if message.get("role") == "user" and content.startswith(_PLAN_HEAD) and content.endswith(_PLAN_TAIL):
            return content[len(_PLAN_HEAD) : len(content) - len(_PLAN_TAIL)].strip(), i
    for i, message in enumerate(messages):  # another agent's wording: the first user message is the problem
        if message.get("role") == "user" and message.get("content"):
            return message["content"].strip(), i
    return None


def _load(content: Any) -> dict[str, Any]:
    if isinstance(content, dict):
        return content
    try:
        payload = json.loads(content or "")
    except (TypeError, json.JSONDecodeError):
        return {"error": {"type": "unreadable", "message": f"the tool output is not JSON: {str(content)[:200]}", "hint": ""}}
    return payload if isinstance(payload, dict) else {"result": payload}


def _replay(messages: list[dict[str, Any]]) -> _State:
    """The tool calls made after the plan, in order, with their results."""
    calls: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    payloads: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function", call)
                calls[call.get("id", "")] = (function.get("name", ""), function.get("arguments", ""))
                order.append(call.get("id", ""))
        elif message.get("role") == "tool":
            call_id = message.get("tool_call_id", "")
            if call_id not in calls:  # unmatched id: attach to the oldest call still waiting
                call_id = next((c for c in order if c not in payloads), call_id)
            payloads[call_id] = _load(message.get("content"))
    state = _State(results=[], failures=0, last_error=None, last_call=None)
    for call_id in order:
        name, arguments = calls[call_id]
        event = _Event(name, arguments, payloads.get(call_id, {"error": {"type": "missing", "message": "no result came back", "hint": ""}}))
        state.last_call = name
        if event.error is None:
            state.results.append(event.payload["result"])
            state.failures, state.last_error = 0, None
        else:
            state.failures += 1
            state.last_error = event.error
    return state


def _tool_names(tools: list[dict[str, Any]] | None) -> set[str] | None:
    if not tools:
        return None
    return {t.get("function", t).get("name", "") for t in tools}


# --------------------------------------------------------------------------- writing replies


def _pick(plan: SolvingPlan | None, key: str, options: list[str]) -> str:
    if plan is not None:
        return plan.pick(key, options)
    return options[zlib.crc32(key.encode()) % len(options)]


def _plan_text(plan: SolvingPlan | None) -> str:
    if plan is None:
        return ("I do not recognise this kind of problem, and I have no procedure I can trust for it. "
                "Rather than guess, I will not commit to an answer.")
    intro = plan.pick("plan", ["Plan:", "Here is my plan.", "I will proceed as follows:", "Plan of attack:"])
    lines = [f"{i}. {s}" for i, s in enumerate(plan.steps, 1)]
    lines.append(f"{len(plan.steps) + 1}. Check the result against the question and give it in \\boxed{{}}.")
    return intro + "\n" + "\n".join(lines)


def _unknown_text() -> str:
    return ("I cannot map this problem onto a method I know, so I cannot compute a verified answer. "
            "I will not guess.")


def _final_text(plan: SolvingPlan, answer: Answer) -> str:
    closing = plan.pick("final", [
        "The final answer is",
        "Therefore the answer is",
        "So the answer is",
        "Final answer:",
    ])
    return f"{answer.say}\n\n{closing} \\boxed{{{answer.latex}}}"


def _error_note(state: _State) -> str:
    error = state.last_error or {}
    note = f"The call to `{state.last_call}` failed ({error.get('type', 'error')}: {error.get('message', '')})."
    if error.get("hint"):
        note += f" The hint says: {error['hint']}"
    return note


def _retry_note(plan: SolvingPlan, state: _State, step: Call) -> str:
    if step.tool != state.last_call:
        return f"I will use `{step.tool}` instead."
    return plan.pick("retry", [
        "The arguments follow the tool's grammar, so I send the call once more.",
        "I check the arguments against the rules and retry the same call.",
    ])


def _best_effort(plan: SolvingPlan, state: _State, why: str) -> str:
    """An answer from the results so far (or the last arithmetic done by hand), else an honest stop."""
    try:
        step = plan.next_step(state.results)
    except Exception:
        step = None
    if isinstance(step, Answer):
        return f"{why}\n\n{_final_text(plan, step)}"
    if isinstance(step, Call) and step.by_hand is not None:
        try:
            result = sp.simplify(parse_math(step.by_hand))
            if not result.free_symbols:
                final = plan.next_step([*state.results, sp.sstr(result)])
                if isinstance(final, Answer):
                    return f"{why} {step.say} Doing this last step by hand: ${tex(result)}$.\n\n{_final_text(plan, final)}"
        except Exception as exc:
            log.debug("by-hand step failed: %s", exc)
    return f"{why} I do not have the results I need for a verified answer, so I will not guess."


def _words(value: Any) -> int:
    return len(str(value).split()) if value else 0


def _reply(messages: list[dict[str, Any]], text: str, calls: list[ToolCallRequest] | None = None) -> Reply:
    """A reply with usage counted in whitespace-separated words (prompt: the whole conversation)."""
    prompt = 0
    for message in messages:
        prompt += _words(message.get("content"))
        for call in message.get("tool_calls") or []:
            prompt += _words(call.get("function", call).get("arguments"))
    completion = _words(text) + sum(_words(c.arguments) + 1 for c in calls or [])
    return Reply(
        text=text,
        tool_calls=list(calls or []),
        usage=Usage(prompt_tokens=prompt, completion_tokens=completion),
        finish_reason="tool_calls" if calls else "stop",
    )
