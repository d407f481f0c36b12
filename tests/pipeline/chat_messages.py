"""OpenAI-shaped pieces the teacher and record tests build their conversations from."""

from __future__ import annotations

from typing import Any


def function_tool(name: str, description: str, arguments: list[str], required: list[str]) -> dict[str, Any]:
    """A tool as a teacher is offered it: an OpenAI function schema whose arguments are strings."""
    properties = {argument: {"type": "string"} for argument in arguments}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def calling(*calls: tuple[str, str, str]) -> dict[str, Any]:
    """An assistant message that only calls tools, each given as (id, name, arguments JSON)."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for call_id, name, arguments in calls
        ],
    }
