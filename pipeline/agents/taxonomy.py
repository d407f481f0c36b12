"""Error taxonomy of failed solver traces, after the paper's ten categories.

`classify` is a heuristic over a rejected trace (its calls, errors, final answer and the
reference); `classify_llm` asks a teacher to pick one category (optional, for real runs).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pipeline.agents import backtranslate_prompts as prompts
from toolkit.grading import answers_equal, extract_boxed

log = logging.getLogger(__name__)

DID_NOT_USE_TOOL = "Did Not Use Tool"
MISUSE_OF_TOOL = "Misuse of Tool"
TOOL_ERROR_NOT_RECOVERED = "Tool Error Not Recovered"
MISTAKE_IN_REASONING = "Mistake in Reasoning"
WRONG_FINAL_ANSWER_EXTRACTION = "Wrong Final Answer Extraction"
PREMATURE_ANSWER = "Premature Answer"
RAN_OUT_OF_TURNS = "Ran Out Of Turns"
NO_FINAL_ANSWER = "No Final Answer"
TEACHER_ERROR = "Teacher Error"
OTHER = "Other"

CATEGORIES = [DID_NOT_USE_TOOL, MISUSE_OF_TOOL, TOOL_ERROR_NOT_RECOVERED, MISTAKE_IN_REASONING,
              WRONG_FINAL_ANSWER_EXTRACTION, PREMATURE_ANSWER, RAN_OUT_OF_TURNS, NO_FINAL_ANSWER, TEACHER_ERROR, OTHER]
_ARGUMENT_ERRORS = {"parse_error", "invalid_arguments", "type_error", "forbidden", "unknown_tool", "invalid_json"}
_MAX_COMPARED_RESULTS = 20  # answers_equal has no deadline: compare only short, few values


def _results(trace: dict[str, Any]) -> list[str]:
    values = []
    for call in trace.get("tool_calls") or []:
        try:
            result = json.loads(call.get("result") or "null")
        except json.JSONDecodeError:
            continue
        if isinstance(result, dict) and "result" in result and not isinstance(result["result"], dict | list):
            values.append(str(result["result"]))
    return [v for v in values if len(v) < 60][:_MAX_COMPARED_RESULTS]


def _error_type(call: dict[str, Any]) -> str:
    try:
        return str(json.loads(call.get("error") or "{}").get("type", ""))
    except (json.JSONDecodeError, AttributeError):
        return ""


def classify(reason: str, trace: dict[str, Any] | None) -> str:
    """One category for a generation reject (its reason and its trace as a dict)."""
    if reason == "teacher_error" or (trace and trace.get("error")):
        return TEACHER_ERROR
    if trace is None:
        return OTHER
    calls = trace.get("tool_calls") or []
    meta = trace.get("meta") or {}
    if isinstance(meta, str):  # traces stored as rows keep meta as JSON text
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            meta = {}
    if reason == "max_turns" or meta.get("ran_out_of_turns"):
        return RAN_OUT_OF_TURNS
    if not calls:
        return DID_NOT_USE_TOOL
    if calls and calls[-1].get("error"):
        return TOOL_ERROR_NOT_RECOVERED
    if reason in ("no_answer",) or trace.get("final_answer") is None:
        return NO_FINAL_ANSWER
    if any(_error_type(c) in _ARGUMENT_ERRORS for c in calls):
        return MISUSE_OF_TOOL
    gold = str(trace.get("answer") or "")
    if gold and any(answers_equal(value, gold) for value in _results(trace)):
        return WRONG_FINAL_ANSWER_EXTRACTION  # the right value was computed but not reported
    plan_steps = sum(1 for line in (trace.get("plan") or "").splitlines() if line[:2].strip().rstrip(".").isdigit())
    if plan_steps and len(calls) < plan_steps - 1:
        return PREMATURE_ANSWER
    if reason == "wrong_answer":
        return MISTAKE_IN_REASONING
    if reason == "tool_errors_only":
        return MISUSE_OF_TOOL
    return OTHER


def parse_category(text: str | None) -> str | None:
    boxed = (extract_boxed(text or "") or "").strip().lower()
    for category in CATEGORIES:
        if category.lower() == boxed:
            return category
    return None


async def classify_llm(teacher: Any, reason: str, trace: dict[str, Any], max_tokens: int = 32) -> str:
    """An LLM's choice of category; the heuristic one when its reply names none."""
    transcript = "\n".join(f"{m.get('role')}: {(m.get('content') or '')[:300]}" for m in (trace.get("messages") or [])[2:12])
    request = prompts.TAXONOMY_REQUEST.format(problem=trace.get("problem", ""), answer=trace.get("answer", ""),
                                              final=trace.get("final_answer"), transcript=transcript,
                                              categories="; ".join(CATEGORIES))
    try:
        reply = await teacher.chat([{"role": "user", "content": request}], max_tokens=max_tokens)
        return parse_category(reply.text) or classify(reason, trace)
    except Exception as exc:
        log.warning("LLM error classifier failed: %s", exc)
        return classify(reason, trace)


def taxonomy_counts(rejects: list[dict[str, Any]]) -> dict[str, int]:
    """Category counts over generation rejects (rows of REJECT_SCHEMA with a `trace` JSON)."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for row in rejects:
        if row.get("stage") != "generate":
            continue
        try:
            trace = json.loads(row["trace"]) if row.get("trace") else None
        except json.JSONDecodeError:
            trace = None
        counts[classify(str(row.get("reason") or ""), trace)] += 1
    return counts


__all__ = ["CATEGORIES", "classify", "classify_llm", "extract_boxed", "parse_category", "taxonomy_counts"]
