"""The one teacher protocol: `await teacher.chat(messages, tools=None, **sampling) -> Reply`.

Messages and tools are in the OpenAI chat-completions format. A teacher returns what
the model said (text), the tool calls it asked for (arguments kept as the raw JSON text
the model wrote — malformed JSON is the agent's problem to report back, not a crash),
and token usage. Failures that survive the teacher's own retries raise `TeacherError`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class TeacherError(RuntimeError):
    """The teacher could not produce a reply (after its retries)."""


@dataclass
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # raw JSON text, possibly malformed


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass
class Reply:
    text: str | None
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation (OpenAI format)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return message


@runtime_checkable
class Teacher(Protocol):
    name: str

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **sampling: Any) -> Reply: ...

    async def close(self) -> None: ...


_call_ids = itertools.count(1)


def new_call_id() -> str:
    return f"call_{next(_call_ids):08d}"
