"""Typed records of the pipeline and the one place that maps them to Arrow.

Every record carries its problem id. Nested, heterogeneous values (a problem's `meta`,
a tool call's arguments and result) are stored as JSON text, so a record survives a
round trip through parquet and jsonl unchanged; conversations are typed Arrow lists
of structs, so they stay queryable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import pyarrow as pa


class RejectReason(StrEnum):
    # clean-input stage
    DUPLICATE = "duplicate"
    CONTAMINATED = "contaminated"
    NO_REFERENCE_ANSWER = "no_reference_answer"
    INVALID_ROW = "invalid_row"
    INVALID_JSON = "invalid_json"  # a jsonl line that does not parse (file and line number in the detail)
    UNREADABLE_SHARD = "unreadable_shard"  # an input file that cannot be read at all (its path in the detail)
    # solver stage
    WRONG_ANSWER = "wrong_answer"
    NO_TOOL = "no_tool"
    NO_ANSWER = "no_answer"
    MAX_TURNS = "max_turns"
    TEACHER_ERROR = "teacher_error"
    TOOL_ERRORS_ONLY = "tool_errors_only"
    # back-translation stage
    UNREADABLE_TRACE = "unreadable_trace"
    UNVERIFIED_TRACE = "unverified_trace"  # a wrong-answer trace outside relaxed mode, or one with unverified steps
    TRANSLATION_FAILED = "translation_failed"  # no verified translation of a tool call (fallback not kept)
    REPHRASE_FAILED = "rephrase_failed"  # the rephrase agent produced nothing usable
    REPHRASE_LEAK = "rephrase_leak"  # the solution mentions tools, code or function names
    REPHRASE_WRONG_ANSWER = "rephrase_wrong_answer"  # its boxed answer is not the verified answer
    REPHRASE_NO_ANSWER = "rephrase_no_answer"


@dataclass
class Problem:
    id: str
    problem: str
    answer: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolCall:
    name: str
    arguments: str  # the JSON text the model wrote (kept verbatim, even when malformed)
    result: str | None = None  # JSON text of {"result": ...}
    error: str | None = None  # JSON text of {"type", "message", "hint"}
    latency_s: float = 0.0
    call_id: str = ""
    turn: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Trace:
    id: str
    problem: str
    answer: str
    source: str
    meta: dict[str, Any]
    teacher: str
    plan: str
    messages: list[dict[str, Any]]
    tool_calls: list[ToolCall]
    final_answer: str | None
    correct: bool
    num_turns: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_time_s: float = 0.0
    error: str | None = None
    status: str = "accepted"  # "accepted", or the RejectReason that rejected it

    @property
    def num_tool_calls(self) -> int:
        return len(self.tool_calls)

    @property
    def num_tool_errors(self) -> int:
        return sum(not c.ok for c in self.tool_calls)


@dataclass
class Reject:
    id: str
    stage: str  # "clean", "generate", ...
    reason: str  # a RejectReason
    detail: str = ""
    problem: str = ""
    answer: str = ""
    source: str = ""
    trace: str | None = None  # the whole trace as JSON, where a solver produced one


@dataclass
class Translation:
    """One tool call of a trace turned into natural-language reasoning (or a marked fallback)."""

    trace_id: str
    call_index: int
    tool: str
    arguments: str
    result: str
    text: str
    accepted: bool  # the judge verified the text's boxed answer against the tool result
    method: str  # "symbolic", "llm", "fallback"
    attempts: int = 0
    one_step: bool = False  # an honest single-step explanation, not a derivation
    judge: str = ""  # "symbolic", "llm" or "" (how the verdict was reached)
    reason: str = ""  # the last rejection reason, when not accepted
    cached: bool = False  # reused from an identical call (tool + arguments + result)
    rejections: str = ""  # the judge's rejection kinds of every failed attempt, comma-separated


@dataclass
class SFTExample:
    id: str
    source: str
    messages: list[dict[str, str]]  # [system?], user: problem, assistant: solution ending in \boxed{}
    answer: str
    flags: list[str] = field(default_factory=list)  # "fallback", "relaxed", "one_step"
    teacher: str = ""
    num_tool_calls: int = 0
    translation_methods: list[str] = field(default_factory=list)
    rephrase: str = ""  # "symbolic" or "llm"


# --------------------------------------------------------------------------- Arrow

_TOOL_CALL_REQUEST = pa.struct([("id", pa.string()), ("name", pa.string()), ("arguments", pa.string())])
MESSAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(_TOOL_CALL_REQUEST)),
        ("tool_call_id", pa.string()),
        ("name", pa.string()),
    ]
)
TOOL_CALL_TYPE = pa.struct(
    [
        ("name", pa.string()),
        ("arguments", pa.string()),
        ("result", pa.string()),
        ("error", pa.string()),
        ("latency_s", pa.float64()),
        ("call_id", pa.string()),
        ("turn", pa.int32()),
    ]
)

PROBLEM_SCHEMA = pa.schema(
    [("id", pa.string()), ("problem", pa.string()), ("answer", pa.string()), ("source", pa.string()), ("meta", pa.string())]
)
TRACE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("problem", pa.string()),
        ("answer", pa.string()),
        ("source", pa.string()),
        ("meta", pa.string()),
        ("teacher", pa.string()),
        ("plan", pa.string()),
        ("messages", pa.list_(MESSAGE_TYPE)),
        ("tool_calls", pa.list_(TOOL_CALL_TYPE)),
        ("final_answer", pa.string()),
        ("correct", pa.bool_()),
        ("num_turns", pa.int32()),
        ("num_tool_calls", pa.int32()),
        ("num_tool_errors", pa.int32()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("wall_time_s", pa.float64()),
        ("error", pa.string()),
        ("status", pa.string()),
    ]
)
REJECT_SCHEMA = pa.schema([(f.name, pa.string()) for f in fields(Reject)])
CHAT_MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
SFT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("messages", pa.list_(CHAT_MESSAGE_TYPE)),
        ("answer", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("teacher", pa.string()),
        ("num_tool_calls", pa.int32()),
        ("translation_methods", pa.list_(pa.string())),
        ("rephrase", pa.string()),
    ]
)
# field annotations are strings here (postponed evaluation)
TRANSLATION_SCHEMA = pa.schema([(f.name, {"int": pa.int32(), "bool": pa.bool_()}.get(f.type, pa.string())) for f in fields(Translation)])


def _message_row(message: dict[str, Any]) -> dict[str, Any]:
    calls = message.get("tool_calls") or []
    return {
        "role": message["role"],
        "content": message.get("content"),
        "tool_calls": [
            {"id": c.get("id", ""), "name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in calls
        ],
        "tool_call_id": message.get("tool_call_id"),
        "name": message.get("name"),
    }


def _message_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """Back to the OpenAI chat format, without the keys a message of that role does not have."""
    message: dict[str, Any] = {"role": row["role"], "content": row["content"]}
    if row.get("tool_calls"):
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in row["tool_calls"]
        ]
    if row.get("tool_call_id") is not None:
        message["tool_call_id"] = row["tool_call_id"]
    if row.get("name") is not None:
        message["name"] = row["name"]
    return message


def problem_to_row(p: Problem) -> dict[str, Any]:
    return {"id": p.id, "problem": p.problem, "answer": p.answer, "source": p.source, "meta": json.dumps(p.meta)}


def problem_from_row(row: dict[str, Any]) -> Problem:
    meta = row.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta) if meta else {}
    return Problem(
        id=str(row["id"]),
        problem=row["problem"],
        answer="" if row.get("answer") is None else str(row["answer"]),
        source=row.get("source") or "",
        meta=meta,
    )


def trace_to_row(t: Trace) -> dict[str, Any]:
    row = {f.name: getattr(t, f.name) for f in fields(Trace)}
    row["meta"] = json.dumps(t.meta)
    row["messages"] = [_message_row(m) for m in t.messages]
    row["tool_calls"] = [asdict(c) for c in t.tool_calls]
    row["num_tool_calls"] = t.num_tool_calls
    row["num_tool_errors"] = t.num_tool_errors
    return row


def trace_from_row(row: dict[str, Any]) -> Trace:
    values = {f.name: row.get(f.name) for f in fields(Trace)}
    values["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
    values["messages"] = [_message_from_row(m) for m in row.get("messages") or []]
    values["tool_calls"] = [ToolCall(**c) for c in row.get("tool_calls") or []]
    return Trace(**values)


def reject_to_row(r: Reject) -> dict[str, Any]:
    return asdict(r)


def reject_from_row(row: dict[str, Any]) -> Reject:
    return Reject(**{f.name: row.get(f.name) for f in fields(Reject)})


def trace_to_json(t: Trace) -> str:
    return json.dumps(trace_to_row(t), ensure_ascii=False)


def to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)
