"""The correctness filter: which traces become training data, and why the others do not."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config_rules import StrictModel
from pipeline.records import RejectReason, Trace

ACCEPTED = "accepted"
# relaxed mode: a wrong final answer whose tool calls all succeeded is written to traces/ too,
# flagged with this status, so back-translation can compare the two filters (the paper's ablation)
WRONG_ANSWER_KEPT = "wrong_answer_kept"
KEPT = frozenset({ACCEPTED, WRONG_ANSWER_KEPT})


class FilterConfig(StrictModel):
    """Which traces become training data: the same model in generation and back-translation."""

    require_tool: bool = Field(
        default=True,
        description="keep only traces that used at least one tool successfully (the paper's rule; without it a trace "
        "that never called a tool teaches nothing about tools). Generation only: back-translation ignores it, its "
        "traces already passed generation's filter",
    )
    mode: Literal["strict", "relaxed"] = Field(
        default="strict",
        description="strict: only correct final answers (the paper); relaxed: also wrong-answer traces whose tool calls "
        "all succeeded (generation keeps them with status 'wrong_answer_kept'; back-translation keeps those whose every "
        "tool step verifies, flagged 'relaxed'), for the paper's proposed ablation. More data, some of it wrong",
    )


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
        if config.mode == "relaxed" and trace.tool_calls and all(call.ok for call in trace.tool_calls):
            return WRONG_ANSWER_KEPT
        return RejectReason.WRONG_ANSWER
    return ACCEPTED
