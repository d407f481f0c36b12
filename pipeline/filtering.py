"""The correctness filter: which traces become training data, and why the others do not."""

from __future__ import annotations

from pydantic import BaseModel

from pipeline.records import RejectReason, Trace

ACCEPTED = "accepted"


class FilterConfig(BaseModel):
    require_tool: bool = True  # the paper keeps only traces that used at least one tool


def classify(trace: Trace, correct: bool, config: FilterConfig | None = None) -> str:
    """`accepted`, or the RejectReason that keeps the trace out of the training set."""
    config = config or FilterConfig()
    if trace.error:
        return RejectReason.TEACHER_ERROR
    if trace.final_answer is None:
        return RejectReason.MAX_TURNS if trace.meta.get("ran_out_of_turns") else RejectReason.NO_ANSWER
    if config.require_tool and not trace.tool_calls:
        return RejectReason.NO_TOOL
    if config.require_tool and all(not call.ok for call in trace.tool_calls):
        return RejectReason.TOOL_ERRORS_ONLY
    if not correct:
        return RejectReason.WRONG_ANSWER
    return ACCEPTED
